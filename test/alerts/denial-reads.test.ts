/**
 * The denial-burst alert's reads stay bounded (issue 18): a denial counts the window's denials
 * only up to the alert's threshold, and not at all once this window's alert is known to have
 * fired, so a storm of denials does not read the whole window on each one.
 */
import { runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { DEFAULT_ALERT_SETTINGS } from "../../src/ledger/core/alerts";
import { LedgerMeter } from "../../src/ledger/meter";
import type { AccountLedger } from "../../src/ledger/object";
import { fireDenialAlerts } from "../../src/ledger/store/alerts";
import { ledger, uniqueAccountId } from "../support/api";

const COUNT = 20;

it("reads at most the threshold's rows per denial, and about none once the alert fired", async () => {
  await runInDurableObject(ledger(uniqueAccountId("denial-reads")), (_: AccountLedger, state) => {
    const meter = new LedgerMeter();
    const sql = meter.wrap(state.storage.sql);
    const ctx = {
      accountId: "acct",
      periodStart: 0,
      settings: {
        ...DEFAULT_ALERT_SETTINGS,
        deniedBurst: { enabled: true, count: COUNT, windowMinutes: 60 },
      },
      fired: new Set<string>(),
    };
    const now = Date.UTC(2026, 0, 1, 0, 30);
    const readsOf = (i: number) => {
      const before = meter.reading().rowsRead;
      const fired = fireDenialAlerts(sql, ctx, `req_${i}`, now + i);
      return { fired, rowsRead: meter.reading().rowsRead - before };
    };
    const before = Array.from({ length: COUNT - 1 }, (_, i) => readsOf(i));
    expect(before.every((d) => d.fired === 0)).toBe(true);
    const reaching = readsOf(COUNT - 1);
    expect(reaching.fired).toBe(1);
    const storm = Array.from({ length: 500 }, (_, i) => readsOf(COUNT + i));
    expect(storm.every((d) => d.fired === 0)).toBe(true);
    // Counting reads one index entry per denial up to the threshold, plus the scan's edges.
    expect(Math.max(...before.map((d) => d.rowsRead), reaching.rowsRead)).toBeLessThanOrEqual(
      COUNT + 4,
    );
    // After the alert: the prune and the insert only, however many denials the window holds.
    expect(Math.max(...storm.map((d) => d.rowsRead))).toBeLessThanOrEqual(4);
    const alerts = sql
      .exec<{ detail: string }>("SELECT detail FROM alerts WHERE kind = 'denied_burst'")
      .toArray();
    expect(alerts.map((a) => JSON.parse(a.detail))).toEqual([
      { denials: COUNT, windowMinutes: 60 },
    ]);
  });
});
