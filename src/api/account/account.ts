/** Account API: the account itself and its policy, as the operator set it. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { Problem } from "../../lib/problem";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { Account, json, problemResponses } from "../schemas";
import { validationHook } from "../validation";

/** The account as its own keys read it: with who is asking, so a client can show what it may do. */
const CurrentAccount = Account.extend({
  caller: z
    .object({
      role: z.enum(["admin", "finance"]),
      keyId: z.string().openapi({ description: "The id of the key that made the request" }),
    })
    .openapi({ description: "The key making the request: admins manage, finance reads." }),
}).openapi("CurrentAccount");

const read = createRoute({
  method: "get",
  path: "/account",
  operationId: "getCurrentAccount",
  tags: ["account"],
  summary: "The account: plan, billing anchor, overage policy, spend cap, rollover, action caps",
  middleware: [accountAuth("admin", "finance")] as const,
  responses: { 200: json(CurrentAccount, "The account and the caller"), ...problemResponses },
});

export function accountInfoRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(read, async (c) => {
    const account = await c.var.ledger.getAccount();
    if (!account) throw new Problem("not_found", "Account not found.");
    const { role, keyId } = c.get("principal");
    // accountAuth admits admin and finance keys only.
    if (role === "member") throw new Problem("forbidden", "Member keys cannot read the account.");
    return c.json({ ...account, caller: { role, keyId } }, 200);
  });
  return app;
}
