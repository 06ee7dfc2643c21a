/** The account API under /v1, for account keys by role. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Catalog } from "../../catalog";
import { managementBodyLimit } from "../auth";
import type { AppEnv } from "../context";
import { usageRoutes } from "../usage";
import { usageValueRoutes } from "../usage/value";
import { validationHook } from "../validation";
import { accountInfoRoutes } from "./account";
import { alertRoutes } from "./alerts";
import { balanceRoutes } from "./balance";
import { catalogRoutes } from "./catalog";
import { keyRoutes } from "./keys";
import { memberRoutes } from "./members";
import { outcomeRoutes } from "./outcomes";
import { quoteRoutes } from "./quote";
import { teamRoutes } from "./teams";
import { valueSettingsRoutes } from "./value";
import { webhookRoutes } from "./webhook";

/** Paths of the account API; anything else under /v1 belongs to the proxy. */
export const ACCOUNT_API_PATHS = [
  "/account",
  "/teams",
  "/members",
  "/keys",
  "/balance",
  "/quote",
  "/usage",
  "/alerts",
  "/webhook",
  "/catalog",
  "/outcomes",
  "/value",
] as const;

export function accountRoutes(catalog: Catalog) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  for (const path of ACCOUNT_API_PATHS) {
    app.use(path, managementBodyLimit);
    app.use(`${path}/*`, managementBodyLimit);
  }
  app.route("/", teamRoutes());
  app.route("/", memberRoutes());
  app.route("/", keyRoutes());
  app.route("/", balanceRoutes());
  app.route("/", quoteRoutes(catalog));
  app.route("/", accountInfoRoutes());
  app.route("/", usageRoutes());
  app.route("/", outcomeRoutes());
  app.route("/", usageValueRoutes(catalog));
  app.route("/", valueSettingsRoutes());
  app.route("/", alertRoutes());
  app.route("/", webhookRoutes());
  app.route("/", catalogRoutes(catalog));
  return app;
}
