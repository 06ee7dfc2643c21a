/** Account API: the balance now (grants, holds, period). */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/env";
import { ledgerOf } from "../../lib/env";
import { Problem } from "../../lib/problem";
import { validationHook } from "../../lib/validation";
import { accountAuth } from "../auth";
import { Balance, json, problemResponses } from "../schemas";

const read = createRoute({
  method: "get",
  path: "/balance",
  tags: ["balance"],
  summary: "The account's balance: available, held, captured this period, grants, forecast",
  middleware: [accountAuth("admin", "finance", "member")] as const,
  responses: { 200: json(Balance, "The balance"), ...problemResponses },
});

export function balanceRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(read, async (c) => {
    const balance = await ledgerOf(c.env, c.get("accountId")).balance();
    if (!balance) throw new Problem("not_found", "Account not found.");
    return c.json(balance, 200);
  });
  return app;
}
