/**
 * The app factory: one request id, one log line (sampled for routine priced calls) and one error
 * path for every route, then the operator API, the account API and, for everything else, the
 * priced proxy.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { ACCOUNT_API_PATHS, accountRoutes } from "./api/account";
import { adminRoutes } from "./api/admin";
import type { AppEnv } from "./api/context";
import { mountDocs } from "./api/docs";
import { validationHook } from "./api/validation";
import { type Catalog, isPlainPath } from "./catalog";
import { mountDashboard } from "./dashboard/routes";
import { Problem, problemResponse } from "./lib/problem";
import { closeScope, errorResponse, openScope, scopeOf } from "./lib/request-scope";
import { settingsOf } from "./lib/settings";
import { serveCall } from "./proxy/handler";

export interface AppOptions {
  catalog: Catalog;
}

/** First path segments that Hono's management routes (or their middleware) may match. */
const MANAGEMENT_ROOTS = ["admin", "docs", "openapi.json", "dashboard"];
const ACCOUNT_API_SEGMENTS = new Set<string>(ACCOUNT_API_PATHS.map((p) => p.slice(1)));

/**
 * Whether Hono could route this path only to the proxy, so the proxy may take it directly. It
 * says no to anything that a management route or middleware could match (compared without
 * case, so it errs towards Hono), to escapes, dot segments and empty segments, and to `/`.
 */
export function isProxyOnlyPath(pathname: string): boolean {
  // Plain segments only: Hono decodes percent-escapes before it matches, the proxy after.
  if (!isPlainPath(pathname)) return false;
  const [first = "", second = ""] = pathname.slice(1).toLowerCase().split("/", 2);
  if (MANAGEMENT_ROOTS.some((root) => first.startsWith(root))) return false;
  return first !== "v1" || (second !== "" && !ACCOUNT_API_SEGMENTS.has(second));
}

export function createApp(options: AppOptions) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", async (c, next) => {
    const settings = settingsOf(c.env);
    const scope = openScope(settings.requestLogSample);
    c.set("requestId", scope.requestId);
    c.set("startedAt", scope.startedAt);
    c.set("log", scope.log);
    c.set("settings", settings);
    await next();
    closeScope(scope, c.req.method, new URL(c.req.url).pathname, c.res);
  });

  app.onError((error, c) => errorResponse(error, scopeOf(c)));

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
  // The proxy as Hono's catch-all route, for the paths `isProxyOnlyPath` leaves to Hono.
  app.all("*", (c) => serveCall(options.catalog, c.req.raw, new URL(c.req.url), c.env, scopeOf(c)));

  // The request path skips Hono's routing and middleware chain: a priced call is most of the
  // traffic, and Hono would send it to the proxy anyway. Same scope, same log line, same errors.
  const dispatch = app.fetch;
  app.fetch = (request, env, executionCtx) => {
    if (request.method === "HEAD") return dispatch(request, env, executionCtx);
    const url = new URL(request.url);
    if (!isProxyOnlyPath(url.pathname)) return dispatch(request, env, executionCtx);
    return direct(options.catalog, request, url, env as Env);
  };
  return app;
}

async function direct(catalog: Catalog, request: Request, url: URL, env: Env) {
  const scope = openScope(settingsOf(env).requestLogSample);
  let res: Response;
  try {
    res = await serveCall(catalog, request, url, env, scope);
  } catch (error) {
    res = errorResponse(error, scope);
  }
  closeScope(scope, request.method, url.pathname, res);
  return res;
}
