/** Account API: the account itself and its policy, as the operator set it. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/env";
import { ledgerOf } from "../../lib/env";
import { Problem } from "../../lib/problem";
import { validationHook } from "../../lib/validation";
import { accountAuth } from "../auth";
import { Account, json, problemResponses } from "../schemas";

const read = createRoute({
  method: "get",
  path: "/account",
  tags: ["account"],
  summary: "The account: tier, billing anchor, overage policy, spend cap, rollover, action caps",
  middleware: [accountAuth("admin", "finance")] as const,
  responses: { 200: json(Account, "The account"), ...problemResponses },
});

export function accountInfoRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(read, async (c) => {
    const account = await ledgerOf(c.env, c.get("accountId")).getAccount();
    if (!account) throw new Problem("not_found", "Account not found.");
    return c.json(account, 200);
  });
  return app;
}
