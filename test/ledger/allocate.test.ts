import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocate, splitCapture, sumAllocations } from "../../src/ledger/core/allocate";

const g = (
  id: string,
  remaining: number,
  priority: number,
  expiresAt: number | null,
  seq: number,
) => ({
  id,
  remaining,
  priority,
  expiresAt,
  seq,
});

describe("spending order", () => {
  it("spends lower priority first, then soonest expiry, then oldest", () => {
    const grants = [
      g("pack", 100, 10, null, 1),
      g("promo-late", 100, 0, 2000, 2),
      g("promo-soon", 100, 0, 1000, 3),
      g("included", 100, 0, 2000, 1),
    ];
    expect(allocate(grants, 250)).toEqual([
      { grantId: "promo-soon", amount: 100 },
      { grantId: "included", amount: 100 },
      { grantId: "promo-late", amount: 50 },
    ]);
  });

  it("puts never-expiring grants after expiring ones of the same priority", () => {
    expect(allocate([g("forever", 10, 0, null, 1), g("expiring", 10, 0, 5, 2)], 5)).toEqual([
      { grantId: "expiring", amount: 5 },
    ]);
  });

  it("is all or nothing", () => {
    expect(allocate([g("a", 10, 0, null, 1)], 11)).toBeNull();
    expect(allocate([], 0)).toEqual([]);
  });

  it("splits a capture in allocation order and releases the rest to the same grants", () => {
    const allocations = [
      { grantId: "a", amount: 30 },
      { grantId: "b", amount: 20 },
    ];
    expect(splitCapture(allocations, 35)).toEqual({
      captured: [
        { grantId: "a", amount: 30 },
        { grantId: "b", amount: 5 },
      ],
      released: [{ grantId: "b", amount: 15 }],
    });
    expect(() => splitCapture(allocations, 51)).toThrow(RangeError);
  });

  it("never takes more than a grant has, and splits conserve the hold", () => {
    const grant = fc.record({
      remaining: fc.integer({ min: 0, max: 1000 }),
      priority: fc.integer({ min: 0, max: 3 }),
      expiresAt: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }),
    });
    fc.assert(
      fc.property(
        fc.array(grant, { maxLength: 8 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (raw, amount, share) => {
          const grants = raw.map((r, i) => ({ ...r, id: `g${i}`, seq: i }));
          const total = grants.reduce((s, x) => s + x.remaining, 0);
          const allocations = allocate(grants, amount);
          if (amount > total) {
            expect(allocations).toBeNull();
            return;
          }
          expect(allocations).not.toBeNull();
          if (!allocations) return;
          expect(sumAllocations(allocations)).toBe(amount);
          for (const a of allocations) {
            const source = grants.find((x) => x.id === a.grantId);
            expect(a.amount).toBeGreaterThan(0);
            expect(a.amount).toBeLessThanOrEqual(source?.remaining ?? -1);
          }
          const capture = Math.floor(amount * share);
          const { captured, released } = splitCapture(allocations, capture);
          expect(sumAllocations(captured)).toBe(capture);
          expect(sumAllocations(captured) + sumAllocations(released)).toBe(amount);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
