/**
 * `/dashboard` (SPEC §8, issue 7): the page, and its script and styles, bundled by
 * scripts/build-dashboard.mjs into the worker's static assets. The worker runs first for every
 * request (`run_worker_first`), so only these two files are ever served from the assets, with
 * the same headers as the page. The page is public; the data behind it needs an admin or
 * finance key, which the browser sends to the APIs itself and keeps in session storage.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../api/context";
import { noInputProblems, Problem as ProblemSchema } from "../api/schemas";
import { Problem } from "../lib/problem";
import { dashboardPage } from "./page";

/** Same origin only: no inline code, no outside hosts, no framing, no forms posted anywhere. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const HEADERS = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const FILES: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

const pageRoute = createRoute({
  method: "get",
  path: "/dashboard",
  operationId: "getDashboardPage",
  tags: ["dashboard"],
  summary: "The dashboard (HTML): sign in with an admin or finance key",
  security: [],
  responses: {
    200: { description: "The page", content: { "text/html": { schema: z.string() } } },
    ...noInputProblems,
  },
});

const fileRoute = createRoute({
  method: "get",
  path: "/dashboard/{file}",
  operationId: "getDashboardFile",
  tags: ["dashboard"],
  summary: "The dashboard's script (app.js) and styles (app.css)",
  security: [],
  request: { params: z.object({ file: z.enum(["app.js", "app.css"]) }) },
  responses: {
    200: {
      description: "The file",
      content: { "text/javascript": { schema: z.string() }, "text/css": { schema: z.string() } },
    },
    404: {
      description: "No such file",
      content: { "application/problem+json": { schema: ProblemSchema } },
    },
  },
});

/** Mounts the dashboard; call before the proxy's catch-all. */
export function mountDashboard(app: OpenAPIHono<AppEnv>): void {
  app.openapi(pageRoute, (c) =>
    c.html(dashboardPage(), 200, { ...HEADERS, "cache-control": "no-store" }),
  );
  // Not validated by the route's schema: any other name is a plain problem+json 404.
  app.get("/dashboard/:file", async (c) => {
    const file = c.req.param("file");
    const type = FILES[file];
    if (!type) throw new Problem("not_found", "No such dashboard file.");
    const asset = await c.env.ASSETS.fetch(new URL(`/dashboard/${file}`, c.req.url));
    if (!asset.ok) {
      throw new Problem(
        "internal_error",
        "The dashboard was not built (scripts/build-dashboard.mjs).",
      );
    }
    return new Response(asset.body, {
      status: 200,
      headers: { ...HEADERS, "content-type": type, "cache-control": "no-cache" },
    });
  });
  app.openAPIRegistry.registerPath(fileRoute);
}
