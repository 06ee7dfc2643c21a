/** Operator: usage retention (archive or delete events older than an age; ledgers untouched). */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { DAY_MS } from "../../lib/time";
import { applyRetention } from "../../usage/retention";
import type { AppEnv } from "../context";
import { json, jsonBody, problemResponses } from "../schemas";
import { RetentionRequest, RetentionResult } from "../usage/schemas";
import { validationHook } from "../validation";
import { requireAccount } from "./accounts";

const retention = createRoute({
  method: "post",
  path: "/usage/retention",
  operationId: "applyUsageRetention",
  tags: ["operator"],
  summary: "Archive (roll up by day) or delete usage events older than an age",
  description:
    "Events that occurred before UTC midnight `olderThanDays` days ago leave `usage_events`, a " +
    "day per D1 transaction. `archive` keeps daily rollups, so summaries and reconciliation keep " +
    "their totals; `delete` keeps only per-period totals for reconciliation. Ledger balances " +
    "and counters are never touched. At most 400 days per call: repeat while `more` is true.",
  request: { body: jsonBody(RetentionRequest) },
  responses: { 200: json(RetentionResult, "What was archived or deleted"), ...problemResponses },
});

export function usageAdminRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(retention, async (c) => {
    const input = c.req.valid("json");
    if (input.accountId !== undefined) await requireAccount(c.env, input.accountId);
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const cutoff = new Date(today - input.olderThanDays * DAY_MS).toISOString();
    const result = await applyRetention(c.env.DB, {
      cutoff,
      mode: input.mode,
      accountId: input.accountId ?? null,
      dryRun: input.dryRun,
    });
    Object.assign(c.get("log"), { retention: input.mode, events: result.events });
    return c.json(result, 200);
  });
  return app;
}
