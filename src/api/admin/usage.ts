/** Operator: usage retention (archive or delete events older than an age; ledgers untouched). */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { DAY_MS } from "../../lib/time";
import { archiveStatus } from "../../usage/archive-runs";
import { applyRetention } from "../../usage/retention";
import type { AppEnv } from "../context";
import { json, jsonBody, problemResponses } from "../schemas";
import { ArchiveStatusSchema, RetentionRequest, RetentionResult } from "../usage/schemas";
import { validationHook } from "../validation";
import { requireAccount } from "./accounts";

const retention = createRoute({
  method: "post",
  path: "/usage/retention",
  operationId: "applyUsageRetention",
  tags: ["operator"],
  summary: "Archive (to R2, or roll up by day) or delete usage events older than an age",
  description:
    "Events that occurred before UTC midnight `olderThanDays` days ago leave `usage_events`. " +
    "`archive` with an archive bucket (`USAGE_ARCHIVE`) moves each account day's raw events to " +
    "it, written, read back and checked before D1's rows go, and keeps daily rollups so " +
    "summaries and reconciliation keep their totals; exports still return the events " +
    "(`target: r2`). Without a bucket, `archive` keeps only the rollups (`target: d1`). " +
    "`delete` keeps only per-period totals for reconciliation. Ledger balances and counters are " +
    "never touched. At most 400 (account) days per call: repeat while `more` is true.",
  request: { body: jsonBody(RetentionRequest) },
  responses: { 200: json(RetentionResult, "What was archived or deleted"), ...problemResponses },
});

const archive = createRoute({
  method: "get",
  path: "/usage/archive",
  operationId: "getUsageArchive",
  tags: ["operator"],
  summary: "The usage archive: its bucket, the scheduled runs' progress and last error, backlog",
  description:
    "Whether this Worker has an archive bucket (without one, raw events stay in D1), the hot " +
    "window, what the scheduled runs have moved and when, their last error, what D1 still holds " +
    "before the cutoff, and what the archive holds.",
  responses: { 200: json(ArchiveStatusSchema, "The archive's state"), ...problemResponses },
});

export function usageAdminRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(retention, async (c) => {
    const input = c.req.valid("json");
    if (input.accountId !== undefined) await requireAccount(c.env, input.accountId);
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const cutoff = new Date(today - input.olderThanDays * DAY_MS).toISOString();
    const result = await applyRetention(
      c.env.DB,
      { cutoff, mode: input.mode, accountId: input.accountId ?? null, dryRun: input.dryRun },
      c.env.USAGE_ARCHIVE ?? null,
    );
    Object.assign(c.get("log"), { retention: input.mode, events: result.events });
    return c.json(result, 200);
  });
  app.openapi(archive, async (c) => {
    const status = await archiveStatus(
      c.env.DB,
      (c.env.USAGE_ARCHIVE ?? null) !== null,
      c.get("settings"),
      new Date(),
    );
    return c.json(status, 200);
  });
  return app;
}
