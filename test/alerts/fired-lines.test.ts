/**
 * The alert lines an object knows it has fired live in its read cache, with the cache's
 * lifecycle: kept between request-path transactions, dropped by any other transaction (and by
 * a failed one). Nothing of one account's alerts lives in the isolate beyond its object.
 */
import { describe, expect, it } from "vitest";
import { withLedger } from "../rules/ledger-harness";

describe("fired alert lines", () => {
  it("are remembered by the request path and forgotten with the object's read cache", async () => {
    await withLedger({ anchor: 1, start: "2026-03-02T09:00:00.000Z" }, async (h) => {
      // Starter: 500 included credits; a 250-credit hold reaches the account's 50 % line.
      const thresholdRows = () =>
        h.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM alerts WHERE kind = 'threshold'").one()
          .n;
      const reach50 = async () => {
        const r = await h.admit(250);
        if (r.kind !== "admitted") throw new Error(`refused: ${r.kind}`);
        await h.settle(r.holdId, "void");
      };
      await reach50();
      expect(thresholdRows()).toBe(1);

      // The row goes (as if this object had never written it); the request path still knows
      // the line fired, so it does not even try again.
      h.sql.exec("DELETE FROM alerts");
      await reach50();
      expect(thresholdRows()).toBe(0);

      // A management transaction drops the read cache, and the fired lines with it: the next
      // debit asks the table, which no longer has the line, and it fires again.
      await h.instance.getTeam(h.teamId);
      await reach50();
      expect(thresholdRows()).toBe(1);
    });
  });
});
