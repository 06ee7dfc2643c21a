/** Account API: the balance now (grants, holds, period). */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { Problem } from "../../lib/problem";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { Balance, json, problemResponses } from "../schemas";
import { validationHook } from "../validation";

const read = createRoute({
  method: "get",
  path: "/balance",
  operationId: "getBalance",
  tags: ["balance"],
  summary: "The account's balance: available, held, captured this period, grants, forecast",
  middleware: [accountAuth("admin", "finance", "member")] as const,
  responses: { 200: json(Balance, "The balance"), ...problemResponses },
});

export function balanceRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(read, async (c) => {
    const balance = await c.var.ledger.balance();
    if (!balance) throw new Problem("not_found", "Account not found.");
    return c.json(balance, 200);
  });
  return app;
}
