/**
 * What a usage event costs D1, and what reconciliation reads (issue 18). Each index on
 * `usage_events` is one more D1 row written per call; the period index that only
 * reconciliation used is gone (migration 0007), and reconciliation finds the account's raw
 * events through its seq index (never a scan of the table).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { D1_CAPTURED_SQL } from "../../src/usage/reconcile";

const PERIOD = "2026-11-01T00:00:00.000Z";

describe("usage events in D1", () => {
  it("cost 6 rows written each: the row, its id, and the four indexes that readers use", async () => {
    const { meta } = await env.DB.prepare(
      `INSERT INTO usage_events (id, account_id, seq, occurred_at, period_start, request_id, action,
         category, outcome, units, credits, held_credits, grants)
       VALUES ('evt_plan_1', 'acct-plan', 1, ?1, ?1, 'req_plan_1', 'enrichment.company',
         'enrichment', 'captured', 1, 10, 10, '[]')`,
    )
      .bind(PERIOD)
      .run();
    expect(meta.rows_written).toBe(6);
    const indexes = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_events' AND sql IS NOT NULL ORDER BY name",
    ).all<{ name: string }>();
    expect(indexes.results.map((r) => r.name)).toEqual([
      "usage_events_account_request",
      "usage_events_account_seq",
      "usage_events_account_time",
      "usage_events_time",
    ]);
  });

  it("are reconciled through the account's seq index, not a scan of the table", async () => {
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${D1_CAPTURED_SQL}`)
      .bind("acct-plan", PERIOD, 10)
      .all<{ detail: string }>();
    const events = plan.results.map((r) => r.detail).filter((d) => d.includes("usage_events"));
    expect(events).toEqual([
      expect.stringContaining("USING INDEX usage_events_account_seq (account_id=? AND seq<?)"),
    ]);
  });
});
