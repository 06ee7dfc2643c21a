/**
 * Issue 3, periods: the billing period rolls at month ends from the anchor (31st in February,
 * leap years, 30th and 29th), counters reset at the boundary, the included grant is issued once
 * per period, unused included credits roll over up to the cap, and holds in flight across the
 * boundary settle against the period and the grants they were made in.
 */
import { describe, expect, it } from "vitest";
import type { AdmitResult, GrantView } from "../../src/ledger/contract";
import { conservationHolds, type Harness, withLedger } from "./ledger-harness";

const at = (day: string) => Date.parse(`${day}T00:00:00.000Z`);
const iso = (day: string) => `${day}T00:00:00.000Z`;

function admitted(result: AdmitResult): Extract<AdmitResult, { kind: "admitted" }> {
  if (result.kind !== "admitted") throw new Error(`not admitted: ${JSON.stringify(result)}`);
  return result;
}

const included = (grants: GrantView[]) => grants.filter((g) => g.source === "included");

async function periodOf(h: Harness) {
  const b = await h.instance.balance();
  if (!b) throw new Error("no balance");
  return b.period;
}

describe("period roll at month ends", () => {
  const cases: { anchor: number; inside: string; start: string; end: string; nextEnd: string }[] = [
    {
      anchor: 31,
      inside: "2027-02-10",
      start: "2027-01-31",
      end: "2027-02-28",
      nextEnd: "2027-03-31",
    },
    {
      anchor: 31,
      inside: "2028-02-10",
      start: "2028-01-31",
      end: "2028-02-29",
      nextEnd: "2028-03-31",
    },
    {
      anchor: 30,
      inside: "2027-02-10",
      start: "2027-01-30",
      end: "2027-02-28",
      nextEnd: "2027-03-30",
    },
    {
      anchor: 30,
      inside: "2028-02-10",
      start: "2028-01-30",
      end: "2028-02-29",
      nextEnd: "2028-03-30",
    },
    {
      anchor: 29,
      inside: "2027-02-10",
      start: "2027-01-29",
      end: "2027-02-28",
      nextEnd: "2027-03-29",
    },
    {
      anchor: 29,
      inside: "2028-02-10",
      start: "2028-01-29",
      end: "2028-02-29",
      nextEnd: "2028-03-29",
    },
    {
      anchor: 31,
      inside: "2027-04-15",
      start: "2027-03-31",
      end: "2027-04-30",
      nextEnd: "2027-05-31",
    },
  ];

  for (const c of cases) {
    it(`anchor ${c.anchor} around ${c.inside}: ${c.start} to ${c.end}, then to ${c.nextEnd}, one included grant each`, async () => {
      await withLedger({ anchor: c.anchor, start: `${c.inside}T12:00:00Z` }, async (h) => {
        expect(await periodOf(h)).toEqual({ start: iso(c.start), end: iso(c.end) });
        admitted(await h.admit(10, { settlement: "on_request" }));

        // The last millisecond of the period is still in it.
        h.setNow(at(c.end) - 1);
        admitted(await h.admit(10, { settlement: "on_request" }));
        expect(await periodOf(h)).toEqual({ start: iso(c.start), end: iso(c.end) });
        expect(included(await h.grants())).toHaveLength(1);

        // The boundary instant starts the next period, lazily on the first request.
        h.setNow(at(c.end));
        const first = admitted(await h.admit(10, { settlement: "on_request" }));
        expect(first.available).toBe(490);
        expect(await periodOf(h)).toEqual({ start: iso(c.end), end: iso(c.nextEnd) });
        for (let i = 0; i < 3; i++) {
          await h.instance.tick();
          admitted(await h.admit(1, { settlement: "on_request" }));
        }
        const grants = included(await h.grants());
        expect(grants.map((g) => [g.effectiveAt, g.expiresAt, g.amount])).toEqual([
          [iso(c.start), iso(c.end), 500],
          [iso(c.end), iso(c.nextEnd), 500],
        ]);
        expect(grants.map((g) => [g.remaining, g.captured, g.expired])).toEqual([
          [0, 20, 480],
          [487, 13, 0],
        ]);
        expect(conservationHolds(await h.grants())).toBe(true);
      });
    });
  }

  it("the alarm's tick rolls the period without any request, and re-issues the included grant once", async () => {
    await withLedger({ anchor: 31, start: "2028-02-20T08:00:00Z" }, async (h) => {
      h.setNow(at("2028-02-29") + 1000);
      await h.instance.tick();
      expect(h.period()).toEqual({ start: at("2028-02-29"), end: at("2028-03-31") });
      await h.instance.tick();
      await h.instance.tick();
      const grants = included(await h.grants());
      expect(grants).toHaveLength(2);
      expect(grants[0]).toMatchObject({ remaining: 0, expired: 500 });
      expect(grants[1]).toMatchObject({ remaining: 500, effectiveAt: iso("2028-02-29") });
      // A jump over several periods issues only the current one's grant.
      h.setNow(at("2028-06-15"));
      await h.instance.tick();
      const later = included(await h.grants());
      expect(later.map((g) => g.effectiveAt)).toEqual([
        iso("2028-01-31"),
        iso("2028-02-29"),
        iso("2028-05-31"),
      ]);
      expect(conservationHolds(await h.grants())).toBe(true);
    });
  });
});

describe("counters reset at the boundary", () => {
  it("a team budget exhausted in one period admits again in the next", async () => {
    await withLedger({ anchor: 31, start: "2027-02-10T12:00:00Z" }, async (h) => {
      await h.setRules(h.teamId, { teamBudget: 5, memberBudget: 5 });
      for (let i = 0; i < 5; i++) admitted(await h.admit(1, { settlement: "on_request" }));
      const denied = await h.admit(1, { settlement: "on_request" });
      expect(denied).toMatchObject({
        kind: "denied",
        problem: { code: "budget_exhausted", extras: { rule: "team_budget" } },
      });

      h.setNow(at("2027-02-28"));
      for (let i = 0; i < 5; i++) admitted(await h.admit(1, { settlement: "on_request" }));
      expect(await h.admit(1, { settlement: "on_request" })).toMatchObject({
        kind: "denied",
        problem: { code: "budget_exhausted", extras: { rule: "team_budget" } },
      });
      expect(h.counter(at("2027-01-31"), "team", h.teamId)).toEqual({ captured: 5, held: 0 });
      expect(h.counter(at("2027-02-28"), "team", h.teamId)).toEqual({ captured: 5, held: 0 });
      expect(await h.instance.getTeam(h.teamId)).toMatchObject({
        spend: { captured: 5, held: 0 },
      });
    });
  });

  it("per-action caps, member budgets and the spend cap reset too", async () => {
    await withLedger({ anchor: 1, start: "2027-03-20T12:00:00Z" }, async (h) => {
      await h.setRules(h.teamId, { memberBudget: 3 });
      await h.instance.updateAccount({
        policy: { actionCaps: { "test.one": 2 }, monthlySpendCap: 4 },
      });
      admitted(await h.admit(2, { settlement: "on_request" }));
      expect(await h.admit(1, { settlement: "on_request" })).toMatchObject({
        problem: { extras: { rule: "action_cap" } },
      });
      admitted(await h.admit(1, { id: "test.two", settlement: "on_request" }));
      expect(await h.admit(1, { id: "test.two", settlement: "on_request" })).toMatchObject({
        problem: { extras: { rule: "member_budget" } },
      });
      h.setNow(at("2027-04-01"));
      admitted(await h.admit(2, { settlement: "on_request" }));
      admitted(await h.admit(1, { id: "test.two", settlement: "on_request" }));
      expect(h.counter(at("2027-04-01"), "account", "*")).toEqual({ captured: 3, held: 0 });
    });
  });
});

describe("rollover of unused included credits", () => {
  // Was a defect (the last period's included grant was expired before its unused part was read,
  // so no rollover was ever issued), fixed in src.
  it("carries min(cap, unused included) into a rollover grant that expires at the new period's end", async () => {
    await withLedger({ anchor: 31, start: "2027-02-10T12:00:00Z" }, async (h) => {
      const account = await h.instance.updateAccount({ policy: { rolloverCap: 100 } });
      expect(account?.policy.rolloverCap).toBe(100);
      admitted(await h.admit(450, { settlement: "on_request" }));

      h.setNow(at("2027-02-28") + 5000);
      await h.instance.tick();
      const rollover = (await h.grants()).filter((g) => g.source === "rollover");
      expect(rollover.map((g) => [g.amount, g.remaining, g.effectiveAt, g.expiresAt])).toEqual([
        [50, 50, iso("2027-02-28"), iso("2027-03-31")],
      ]);
      const b = await h.instance.balance();
      expect(b?.available).toBe(550);
      expect(conservationHolds(await h.grants())).toBe(true);
    });
  });

  it("caps the rollover at rolloverCap on the first request of the new period, and never rolls a rollover grant again", async () => {
    await withLedger({ anchor: 31, start: "2028-01-10T12:00:00Z" }, async (h) => {
      await h.instance.updateAccount({ policy: { rolloverCap: 100 } });
      admitted(await h.admit(50, { settlement: "on_request" }));
      // Next period: 450 unused, the cap lets 100 through.
      h.setNow(at("2028-01-31"));
      const first = admitted(await h.admit(1, { settlement: "on_request" }));
      expect(first.available).toBe(599);
      const second = (await h.grants()).filter((g) => g.source === "rollover");
      expect(second.map((g) => [g.amount, g.expiresAt])).toEqual([[100, iso("2028-02-29")]]);
      // Spend 499 more: what rolls next is the included grant's unused part (capped), never
      // the rollover grant's.
      admitted(await h.admit(499, { settlement: "on_request" }));
      const includedLeft = included(await h.grants()).at(-1)?.remaining ?? -1;
      h.setNow(at("2028-02-29"));
      await h.instance.tick();
      const third = (await h.grants()).filter(
        (g) => g.source === "rollover" && g.effectiveAt === iso("2028-02-29"),
      );
      const expected = Math.min(100, includedLeft);
      expect(third.map((g) => [g.amount, g.expiresAt])).toEqual(
        expected > 0 ? [[expected, iso("2028-03-31")]] : [],
      );
      expect(conservationHolds(await h.grants())).toBe(true);
    });
  });

  it("carries nothing after a skipped period", async () => {
    await withLedger({ anchor: 31, start: "2027-02-10T12:00:00Z" }, async (h) => {
      await h.instance.updateAccount({ policy: { rolloverCap: 100 } });
      admitted(await h.admit(10, { settlement: "on_request" }));
      // Skip the whole period from Feb 28 to Mar 31: nothing of January's grant reaches April.
      h.setNow(at("2027-04-05"));
      await h.instance.tick();
      expect((await h.grants()).filter((g) => g.source === "rollover")).toEqual([]);
      expect((await h.instance.balance())?.available).toBe(500);
      expect(conservationHolds(await h.grants())).toBe(true);
    });
  });

  it("with the default cap of 0 nothing rolls over", async () => {
    await withLedger({ anchor: 1, start: "2027-05-10T12:00:00Z" }, async (h) => {
      h.setNow(at("2027-06-01"));
      await h.instance.tick();
      expect((await h.grants()).filter((g) => g.source === "rollover")).toEqual([]);
      expect((await h.instance.balance())?.available).toBe(500);
    });
  });
});

describe("holds in flight across the boundary", () => {
  it("a hold made before the boundary and captured after counts in the old period and charges the old grant", async () => {
    await withLedger({ anchor: 31, start: "2028-02-28T23:59:30Z" }, async (h) => {
      await h.setRules(h.teamId, { teamBudget: 20 });
      const hold = admitted(await h.admit(15));
      const oldStart = at("2028-01-31");
      expect(h.counter(oldStart, "team", h.teamId)).toEqual({ captured: 0, held: 15 });

      h.setNow(at("2028-02-29") + 10_000);
      // The new period's budget does not see the old period's hold.
      admitted(await h.admit(20, { settlement: "on_request" }));
      const settled = await h.settle(hold.holdId, "capture", 15);
      expect(settled).toMatchObject({ settled: true, charged: 15 });

      expect(h.counter(oldStart, "team", h.teamId)).toEqual({ captured: 15, held: 0 });
      expect(h.counter(oldStart, "account", "*")).toEqual({ captured: 15, held: 0 });
      expect(h.counter(at("2028-02-29"), "team", h.teamId)).toEqual({ captured: 20, held: 0 });
      const [old, current] = included(await h.grants());
      expect(old).toMatchObject({ remaining: 0, held: 0, captured: 15, expired: 485 });
      expect(current).toMatchObject({ remaining: 480, held: 0, captured: 20, expired: 0 });
      expect((await h.instance.balance())?.capturedThisPeriod).toBe(20);
      expect(conservationHolds(await h.grants())).toBe(true);

      const events = h.sql
        .exec<{ payload: string }>("SELECT payload FROM outbox ORDER BY seq")
        .toArray()
        .map(
          (r) => JSON.parse(r.payload) as { outcome: string; credits: number; periodStart: string },
        );
      const captured = events.filter((e) => e.outcome === "captured");
      expect(captured.map((e) => [e.credits, e.periodStart])).toEqual([
        [20, iso("2028-02-29")],
        [15, iso("2028-01-31")],
      ]);
    });
  });

  it("a partial capture after the boundary returns the rest to the expired grant as expired", async () => {
    await withLedger({ anchor: 31, start: "2027-02-27T23:59:50Z" }, async (h) => {
      const hold = admitted(await h.admit(50, { settlement: "metered" }));
      h.setNow(at("2027-02-28") + 1000);
      expect(await h.settle(hold.holdId, "capture", 20)).toMatchObject({ charged: 20 });
      const [old, current] = included(await h.grants());
      expect(old).toMatchObject({ remaining: 0, held: 0, captured: 20, expired: 480 });
      expect(current).toMatchObject({ remaining: 500 });
      expect((await h.instance.balance())?.available).toBe(500);
      expect(conservationHolds(await h.grants())).toBe(true);
    });
  });

  it("a hold voided after the boundary returns its credits to the expired grant as expired, not spendable", async () => {
    await withLedger({ anchor: 30, start: "2027-02-27T23:59:50Z" }, async (h) => {
      await h.setRules(h.teamId, { teamBudget: 100 });
      const hold = admitted(await h.admit(40));
      h.setNow(at("2027-02-28") + 1000);
      expect(await h.settle(hold.holdId, "void")).toMatchObject({ settled: true, charged: 0 });
      const [old, current] = included(await h.grants());
      expect(old).toMatchObject({ remaining: 0, held: 0, captured: 0, expired: 500 });
      expect(current).toMatchObject({ remaining: 500, held: 0 });
      const b = await h.instance.balance();
      expect([b?.available, b?.held]).toEqual([500, 0]);
      expect(h.counter(at("2027-01-30"), "team", h.teamId)).toEqual({ captured: 0, held: 0 });
      expect(conservationHolds(await h.grants())).toBe(true);
      // The new period offers exactly the new grant: 501 is refused, 500 admitted.
      expect(await h.admit(501)).toMatchObject({ problem: { code: "budget_exhausted" } });
      await h.setRules(h.teamId, {});
      expect(await h.admit(501)).toMatchObject({ problem: { code: "insufficient_credits" } });
      admitted(await h.admit(500));
    });
  });

  it("a hold that lapses after the boundary is voided by the alarm into the expired grant", async () => {
    await withLedger({ anchor: 1, start: "2027-04-30T23:59:30Z" }, async (h) => {
      admitted(await h.admit(25));
      h.setNow(at("2027-05-01") + 120_000);
      await h.instance.tick();
      const [old, current] = included(await h.grants());
      expect(old).toMatchObject({ remaining: 0, held: 0, expired: 500 });
      expect(current).toMatchObject({ remaining: 500, held: 0 });
      expect(h.counter(at("2027-04-01"), "account", "*")).toEqual({ captured: 0, held: 0 });
      expect(conservationHolds(await h.grants())).toBe(true);
    });
  });
});
