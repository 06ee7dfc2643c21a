/**
 * The app factory: one request id, one log line and one error path for every route, then the
 * operator API, the account API and, for everything else, the priced proxy.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { accountRoutes } from "./api/account";
import { adminRoutes } from "./api/admin";
import { mountDocs } from "./api/docs";
import type { Catalog } from "./catalog";
import { mountDashboard } from "./dashboard/routes";
import type { AppEnv } from "./lib/env";
import { Problem, problemResponse } from "./lib/problem";
import { validationHook } from "./lib/validation";
import { proxyHandler } from "./proxy/handler";

export interface AppOptions {
  catalog: Catalog;
}

export function createApp(options: AppOptions) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", async (c, next) => {
    const requestId = crypto.randomUUID();
    const startedAt = Date.now();
    c.set("requestId", requestId);
    c.set("startedAt", startedAt);
    c.set("log", {});
    await next();
    c.res.headers.set("x-request-id", requestId);
    const ms = Date.now() - startedAt;
    if (!c.res.headers.has("server-timing"))
      c.res.headers.set("server-timing", `gateway;dur=${ms}`);
    const url = new URL(c.req.url);
    console.log(
      JSON.stringify({
        requestId,
        method: c.req.method,
        path: url.pathname,
        status: c.res.status,
        ...c.get("log"),
        gatewayMs: typeof c.get("log").gatewayMs === "number" ? c.get("log").gatewayMs : ms,
      }),
    );
  });

  app.onError((error, c) => {
    const requestId = c.get("requestId") ?? crypto.randomUUID();
    if (error instanceof Problem) return problemResponse(error, requestId);
    if (error instanceof HTTPException && error.status < 500) {
      const code =
        error.status === 413
          ? "payload_too_large"
          : error.status === 415
            ? "unsupported_media_type"
            : "bad_request";
      return problemResponse(new Problem(code, error.message || "Bad request."), requestId);
    }
    // Never echo internals: the message goes to the log, the client gets a request id.
    c.get("log").error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return problemResponse(
      new Problem("internal_error", "Something went wrong; quote the request id."),
      requestId,
    );
  });

  app.notFound((c) =>
    problemResponse(
      new Problem("not_found", "No such route."),
      c.get("requestId") ?? crypto.randomUUID(),
    ),
  );

  app.route("/admin/v1", adminRoutes(options.catalog));
  app.route("/v1", accountRoutes(options.catalog));
  mountDocs(app, options.catalog);
  mountDashboard(app);
  app.all("*", proxyHandler(options.catalog));
  return app;
}
