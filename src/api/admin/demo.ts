/**
 * Operator, demo only: lays weeks of usage history into an account through its ledger's own
 * admit and settle decisions, so a fresh demo (npm start) has something to show on the
 * dashboard. Off unless the worker's `DEMO_HISTORY` var is "true": a production gateway answers
 * 404 and its ledgers refuse the replay as well.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { Catalog } from "../../catalog";
import { ledgerClient } from "../../ledger/client";
import { sha256Hex } from "../../lib/hash";
import { parseAccountKey } from "../../lib/keys";
import { Problem } from "../../lib/problem";
import { DAY_MS } from "../../lib/time";
import type { AppEnv } from "../context";
import { IdParam, json, jsonBody, problemResponses } from "../schemas";
import { validationHook } from "../validation";
import { requireAccount } from "./accounts";
import { planHistory } from "./demo-plan";

const HistoryRequest = z
  .strictObject({
    memberKeys: z
      .array(z.string().min(1).max(200))
      .min(1)
      .max(10)
      .openapi({ description: "Member keys of the account, one per profile (sales, marketing)." }),
    days: z.number().int().min(1).max(60).default(21),
    seed: z.number().int().min(0).max(2_147_483_647).default(1),
  })
  .openapi("DemoHistoryRequest");

const HistoryResult = z
  .object({
    from: z.string(),
    to: z.string(),
    calls: z.number().int(),
    admitted: z.number().int(),
    denied: z.number().int(),
  })
  .openapi("DemoHistoryResult");

/** Before validation, so a gateway without the demo answers every request here with 404. */
const demoOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.var.settings.demoHistory) throw new Problem("not_found", "No such route.");
  await next();
});

const history = createRoute({
  method: "post",
  path: "/accounts/{id}/demo-history",
  operationId: "seedDemoHistory",
  tags: ["operator"],
  summary: "Demo only: lay weeks of usage history into an account",
  description:
    "Only when the worker runs with `DEMO_HISTORY=true` (npm start); otherwise 404. Replays " +
    "synthetic calls at past times through the ledger's own decisions, from the later of " +
    "`days` ago and the period's start up to now, so balances, counters, alerts and usage " +
    "events agree as after real traffic. Meant for a fresh account: it changes real balances.",
  middleware: [demoOnly] as const,
  request: { params: IdParam, body: jsonBody(HistoryRequest) },
  responses: { 200: json(HistoryResult, "What was replayed"), ...problemResponses },
});

export function demoAdminRoutes(catalog: Catalog) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(history, async (c) => {
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    await requireAccount(c.env, id);
    for (const key of input.memberKeys) {
      if (parseAccountKey(key)?.accountId !== id) {
        throw new Problem("validation_failed", "Every key must be a key of this account.", {
          field: "memberKeys",
        });
      }
    }
    const ledger = ledgerClient(c.env, id);
    const balance = await ledger.balance();
    if (!balance) throw new Problem("not_found", `Account ${id} does not exist.`);
    const to = Date.now();
    const from = Math.max(Date.parse(balance.period.start), to - input.days * DAY_MS);
    const calls = planHistory({
      catalog,
      keyHashes: await Promise.all(input.memberKeys.map((k) => sha256Hex(k))),
      from,
      to,
      seed: input.seed,
    });
    const result = await ledger.replayHistory(calls);
    Object.assign(c.get("log"), { demoHistory: calls.length });
    return c.json(
      {
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        calls: calls.length,
        ...result,
      },
      200,
    );
  });
  return app;
}
