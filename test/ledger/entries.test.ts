/**
 * I2 per grant, from the append-only entries alone: every bucket of every grant (amount,
 * remaining, held, captured, expired) equals what its entries add up to. A change to a grant
 * that skips its entry, or writes the wrong one, fails here. The scenario touches every kind of
 * change: issue, hold, capture (partial and past the estimate), void, hold expiry, grant expiry
 * at a period roll, and the overage allowance resized both ways.
 */
import { describe, expect, it } from "vitest";
import { type Harness, withLedger } from "../rules/ledger-harness";
import { expectGrantsMatchEntries, readEntries } from "../support/entries";

async function expectBooksAgree(h: Harness) {
  const grants = await h.grants();
  expect(grants.length).toBeGreaterThan(0);
  expectGrantsMatchEntries(grants, readEntries(h.sql));
}

describe("ledger entries", () => {
  it("add up to every bucket of every grant, through every kind of change", async () => {
    await withLedger({ anchor: 1, start: "2026-03-30T12:00:00.000Z" }, async (h) => {
      const t0 = h.now();
      // A promo that lapses before the period ends, and overage that is raised and lowered.
      await h.instance.issueGrant({ amount: 300, source: "promo", expiresAt: t0 + 3_600_000 });
      await h.instance.updateAccount({ policy: { overage: { policy: "allow", limit: 200 } } });
      await expectBooksAgree(h);

      const captured = await h.admit(120);
      const voided = await h.admit(50);
      const metered = await h.admit(40, { settlement: "metered" });
      const lapsing = await h.admit(30);
      for (const r of [captured, voided, metered, lapsing]) expect(r.kind).toBe("admitted");
      if (captured.kind === "admitted") await h.settle(captured.holdId, "capture", 70);
      if (voided.kind === "admitted") await h.settle(voided.holdId, "void");
      if (metered.kind === "admitted") await h.settle(metered.holdId, "capture", 95);
      await expectBooksAgree(h);

      // The lapsing hold expires, then the promo; the overage limit goes down, then up.
      h.setNow(t0 + 120_000);
      await h.instance.tick();
      await h.instance.updateAccount({ policy: { overage: { policy: "allow", limit: 20 } } });
      h.setNow(t0 + 2 * 3_600_000);
      await h.instance.tick();
      await h.instance.updateAccount({ policy: { overage: { policy: "allow", limit: 500 } } });
      await expectBooksAgree(h);

      // Into April: March's included grant and overage expire, April's are issued.
      h.setNow(Date.parse("2026-04-01T00:00:01.000Z"));
      const april = await h.admit(10);
      expect(april.kind).toBe("admitted");
      await expectBooksAgree(h);
      const expired = (await h.grants()).filter((g) => g.expired > 0);
      expect(expired.length).toBeGreaterThanOrEqual(2);
    });
  });
});
