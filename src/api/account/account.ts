/** Account API: the account itself and its policy, as the operator set it. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { Problem } from "../../lib/problem";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { Account, json, problemResponses } from "../schemas";
import { validationHook } from "../validation";

const read = createRoute({
  method: "get",
  path: "/account",
  operationId: "getCurrentAccount",
  tags: ["account"],
  summary: "The account: plan, billing anchor, overage policy, spend cap, rollover, action caps",
  middleware: [accountAuth("admin", "finance")] as const,
  responses: { 200: json(Account, "The account"), ...problemResponses },
});

export function accountInfoRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(read, async (c) => {
    const account = await c.var.ledger.getAccount();
    if (!account) throw new Problem("not_found", "Account not found.");
    return c.json(account, 200);
  });
  return app;
}
