/** The account API under /v1, for account keys by role. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/env";
import { validationHook } from "../../lib/validation";
import { managementBodyLimit } from "../auth";
import { balanceRoutes } from "./balance";
import { keyRoutes } from "./keys";
import { memberRoutes } from "./members";
import { teamRoutes } from "./teams";

/** Paths of the account API; anything else under /v1 belongs to the proxy. */
export const ACCOUNT_API_PATHS = ["/teams", "/members", "/keys", "/balance"] as const;

export function accountRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  for (const path of ACCOUNT_API_PATHS) {
    app.use(path, managementBodyLimit);
    app.use(`${path}/*`, managementBodyLimit);
  }
  app.route("/", teamRoutes());
  app.route("/", memberRoutes());
  app.route("/", keyRoutes());
  app.route("/", balanceRoutes());
  return app;
}
