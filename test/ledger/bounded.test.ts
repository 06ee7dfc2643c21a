/**
 * Every table the ledger writes on the request path has a bound. These tests drive one ledger
 * through many minutes of calls on a moved clock and count the rows left behind.
 */
import { describe, expect, it } from "vitest";
import { withLedger } from "../rules/ledger-harness";

const MINUTE = 60_000;
const START = "2026-03-02T09:00:00.000Z";

describe("rate_events (members' admissions for per-minute rate limits)", () => {
  it("holds at most the last minute's admissions while a member keeps calling", async () => {
    await withLedger({ anchor: 1, start: START }, async (h) => {
      await h.instance.issueGrant({ amount: 1_000_000, source: "pack" });
      await h.setRules(h.teamId, { memberRateLimitPerMinute: 5 });
      const rows = () => h.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM rate_events").one().n;
      const t0 = Date.parse(START);
      let most = 0;
      // 40 minutes at the limit: 5 calls a minute, 200 admissions in all.
      for (let minute = 0; minute < 40; minute++) {
        for (let call = 0; call < 5; call++) {
          h.setNow(t0 + minute * MINUTE + call * 5_000);
          const admitted = await h.admit(1);
          if (admitted.kind !== "admitted") throw new Error(`call refused: ${admitted.kind}`);
          await h.settle(admitted.holdId, "capture", 1);
          most = Math.max(most, rows());
        }
      }
      expect(most).toBeLessThanOrEqual(5);
      // Once nobody calls, the alarm's housekeeping leaves nothing behind.
      h.setNow(t0 + 41 * MINUTE);
      await h.instance.tick();
      expect(rows()).toBe(0);
    });
  });

  it("forgets a member who stopped calling, and one whose team dropped its limit", async () => {
    await withLedger({ anchor: 1, start: START }, async (h) => {
      await h.instance.issueGrant({ amount: 1_000_000, source: "pack" });
      await h.setRules(h.teamId, { memberRateLimitPerMinute: 3 });
      const t0 = Date.parse(START);
      for (let call = 0; call < 3; call++) {
        h.setNow(t0 + call * 1_000);
        const admitted = await h.admit(1);
        if (admitted.kind !== "admitted") throw new Error(`call refused: ${admitted.kind}`);
        await h.settle(admitted.holdId, "capture", 1);
      }
      await h.setRules(h.teamId, { memberRateLimitPerMinute: null });
      h.setNow(t0 + 5 * MINUTE);
      const admitted = await h.admit(1);
      expect(admitted.kind).toBe("admitted");
      await h.instance.tick();
      const left = h.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM rate_events").one().n;
      expect(left).toBe(0);
    });
  });
});

describe("spend_hours (spend per clock hour, for the spike and forecast alerts)", () => {
  it("keeps about eight days of hours, and the first hour of all, however long spend goes on", async () => {
    await withLedger({ anchor: 1, start: START }, async (h) => {
      await h.instance.issueGrant({ amount: 1_000_000, source: "pack" });
      const hours = () =>
        h.sql.exec<{ hour: number }>("SELECT hour FROM spend_hours ORDER BY hour").toArray();
      const t0 = Date.parse(START);
      const HOUR = 60 * MINUTE;
      // A capture every three hours for sixty days, the alarm's housekeeping once a day.
      for (let hour = 0; hour < 60 * 24; hour += 3) {
        h.setNow(t0 + hour * HOUR);
        const admitted = await h.admit(1);
        if (admitted.kind !== "admitted") throw new Error(`call refused: ${admitted.kind}`);
        await h.settle(admitted.holdId, "capture", 1);
        if (hour % 24 === 0) await h.instance.tick();
      }
      await h.instance.tick();
      const kept = hours();
      // 8 days of hours with spend (one in three) and the earliest hour: far fewer than 480.
      expect(kept.length).toBeLessThanOrEqual((8 * 24 + 2) / 3 + 2);
      expect(kept[0]?.hour).toBe(Math.floor(t0 / HOUR));
      // What the alerts read is all still there: every hour of the last 7 days with spend.
      const lastHour = Math.floor(h.now() / HOUR);
      const week = kept.filter((k) => k.hour > lastHour - 7 * 24);
      expect(week.length).toBe((7 * 24) / 3);
    });
  });
});
