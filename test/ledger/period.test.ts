import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { periodAt } from "../../src/ledger/core/period";

const DAY = 86_400_000;
const utc = (s: string) => Date.parse(`${s}T00:00:00.000Z`);

/** Brute force: walk back day by day to the latest day that is this month's anchor day. */
function referenceStart(anchor: number, now: number): number {
  let day = Math.floor(now / DAY) * DAY;
  for (;;) {
    const d = new Date(day);
    const dim = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    if (d.getUTCDate() === Math.min(anchor, dim)) return day;
    day -= DAY;
  }
}

describe("billing periods", () => {
  it("puts an anchor of 31 on the last day of February, leap years included", () => {
    expect(periodAt(31, utc("2027-02-15"))).toEqual({
      start: utc("2027-01-31"),
      end: utc("2027-02-28"),
    });
    expect(periodAt(31, utc("2028-02-29"))).toEqual({
      start: utc("2028-02-29"),
      end: utc("2028-03-31"),
    });
    expect(periodAt(31, utc("2028-02-28"))).toEqual({
      start: utc("2028-01-31"),
      end: utc("2028-02-29"),
    });
    expect(periodAt(30, utc("2027-03-01"))).toEqual({
      start: utc("2027-02-28"),
      end: utc("2027-03-30"),
    });
  });

  it("starts at the anchor instant and rolls over the year", () => {
    expect(periodAt(1, utc("2026-12-01"))).toEqual({
      start: utc("2026-12-01"),
      end: utc("2027-01-01"),
    });
    expect(periodAt(15, utc("2027-01-10"))).toEqual({
      start: utc("2026-12-15"),
      end: utc("2027-01-15"),
    });
    expect(periodAt(15, utc("2027-01-15") - 1).end).toBe(utc("2027-01-15"));
  });

  it("refuses an anchor outside 1..31", () => {
    expect(() => periodAt(0, 0)).toThrow(RangeError);
    expect(() => periodAt(32, 0)).toThrow(RangeError);
  });

  it("agrees with a day-by-day reference and periods tile time", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: utc("2000-01-01"), max: utc("2100-01-01") }),
        (anchor, now) => {
          const p = periodAt(anchor, now);
          expect(p.start).toBe(referenceStart(anchor, now));
          expect(p.start <= now && now < p.end).toBe(true);
          expect(periodAt(anchor, p.end).start).toBe(p.end);
          expect(periodAt(anchor, p.start - 1).end).toBe(p.start);
          const days = (p.end - p.start) / DAY;
          expect(days >= 28 && days <= 31).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
