import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ForecastInput, forecast, MIN_WINDOW_MS } from "../../src/ledger/core/forecast";
import { DAY_MS } from "../../src/lib/time";

const HOUR = 3_600_000;
const at = (s: string) => Date.parse(s);
/** A January period, the account created long before it. */
const JANUARY = { start: at("2031-01-01T00:00:00Z"), end: at("2031-02-01T00:00:00Z") };

function input(over: Partial<ForecastInput>): ForecastInput {
  return {
    now: at("2031-01-21T00:00:00Z"),
    period: JANUARY,
    available: 1000,
    capturedLast7Days: 0,
    capturedThisPeriod: 0,
    accountCreatedAt: at("2030-06-01T00:00:00Z"),
    ...over,
  };
}

describe("forecast rules", () => {
  const cases: {
    name: string;
    in: Partial<ForecastInput>;
    rates: [number, number];
    basis: "last7Days" | "thisPeriod" | null;
    depletion: string | null;
    before: boolean;
  }[] = [
    {
      name: "projects the last 7 days' rate from the exact sums",
      in: { capturedLast7Days: 700, capturedThisPeriod: 2000 },
      rates: [100, 100],
      basis: "last7Days",
      depletion: "2031-01-31T00:00:00.000Z",
      before: true,
    },
    {
      name: "says no when the balance outlasts the period",
      in: { available: 1200, capturedLast7Days: 700, capturedThisPeriod: 700 },
      rates: [100, 35],
      basis: "last7Days",
      depletion: "2031-02-02T00:00:00.000Z",
      before: false,
    },
    {
      name: "falls back to this period's rate when the last 7 days spent nothing",
      in: { capturedThisPeriod: 400 },
      rates: [0, 20],
      basis: "thisPeriod",
      depletion: "2031-03-12T00:00:00.000Z",
      before: false,
    },
    {
      name: "shortens both windows to an account created 2 days ago",
      in: {
        accountCreatedAt: at("2031-01-19T00:00:00Z"),
        capturedLast7Days: 300,
        capturedThisPeriod: 300,
        available: 200,
      },
      rates: [150, 150],
      basis: "last7Days",
      depletion: "2031-01-22T08:00:00.000Z",
      before: true,
    },
    {
      name: "shortens this period's window to a period that started 2 hours ago",
      in: {
        now: at("2031-01-01T02:00:00Z"),
        capturedLast7Days: 700,
        capturedThisPeriod: 10,
      },
      rates: [100, 120],
      basis: "last7Days",
      depletion: "2031-01-11T02:00:00.000Z",
      before: true,
    },
    {
      name: "measures a rate over at least an hour, however young the account",
      in: {
        accountCreatedAt: at("2031-01-21T00:00:00Z"),
        now: at("2031-01-21T00:01:00Z"),
        capturedLast7Days: 10,
        capturedThisPeriod: 10,
        available: 240,
      },
      rates: [240, 240],
      basis: "last7Days",
      depletion: "2031-01-22T00:01:00.000Z",
      before: true,
    },
    {
      name: "has no projection without spend",
      in: {},
      rates: [0, 0],
      basis: null,
      depletion: null,
      before: false,
    },
    {
      name: "has run out now when nothing is available, even without spend",
      in: { available: 0 },
      rates: [0, 0],
      basis: null,
      depletion: "2031-01-21T00:00:00.000Z",
      before: true,
    },
    {
      name: "has run out now when the balance is negative",
      in: { available: -5, capturedLast7Days: 7 },
      rates: [1, 0],
      basis: "last7Days",
      depletion: "2031-01-21T00:00:00.000Z",
      before: true,
    },
    {
      name: "rounds rates to 2 decimals but projects from the exact sums",
      in: { available: 1, capturedLast7Days: 1, capturedThisPeriod: 1 },
      rates: [0.14, 0.05],
      basis: "last7Days",
      depletion: "2031-01-28T00:00:00.000Z",
      before: true,
    },
    {
      name: "rounds the projection up to the millisecond",
      in: { available: 1, capturedLast7Days: 13 },
      rates: [1.86, 0],
      basis: "last7Days",
      // 7 days / 13 = 46,523,076.9 ms: 12 h 55 min 23.077 s.
      depletion: "2031-01-21T12:55:23.077Z",
      before: true,
    },
    {
      name: "has no projection past the year 9999",
      in: { available: 1_000_000_000_000, capturedLast7Days: 1 },
      rates: [0.14, 0],
      basis: "last7Days",
      depletion: null,
      before: false,
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      expect(forecast(input(c.in))).toEqual({
        burnRate: { last7Days: c.rates[0], thisPeriod: c.rates[1] },
        basis: c.basis,
        projectedDepletionAt: c.depletion,
        depletesBeforePeriodEnd: c.before,
      });
    });
  }

  it("counts a projection at the period's end as not before it", () => {
    // 10 credits a day, 11 days left of January from the 21st: exactly the end.
    const f = forecast(input({ available: 110, capturedLast7Days: 70 }));
    expect(f.projectedDepletionAt).toBe("2031-02-01T00:00:00.000Z");
    expect(f.depletesBeforePeriodEnd).toBe(false);
    const g = forecast(input({ available: 109, capturedLast7Days: 70 }));
    expect(g.depletesBeforePeriodEnd).toBe(true);
  });
});

describe("forecast properties", () => {
  const now = at("2031-01-21T00:00:00Z");
  const arbInput = fc.record({
    available: fc.integer({ min: -1000, max: 1_000_000_000_000 }),
    capturedLast7Days: fc.integer({ min: 1, max: 1_000_000_000_000 }),
    capturedThisPeriod: fc.integer({ min: 0, max: 1_000_000_000_000 }),
    age: fc.integer({ min: 0, max: 400 * DAY_MS }),
    periodAge: fc.integer({ min: 0, max: 31 * DAY_MS - 1 }),
  });
  const build = (r: {
    available: number;
    capturedLast7Days: number;
    capturedThisPeriod: number;
    age: number;
    periodAge: number;
  }): ForecastInput => ({
    now,
    period: { start: now - r.periodAge, end: now - r.periodAge + 31 * DAY_MS },
    available: r.available,
    capturedLast7Days: r.capturedLast7Days,
    capturedThisPeriod: r.capturedThisPeriod,
    accountCreatedAt: now - r.age,
  });
  /** A projection as a time; none is later than any. */
  const when = (f: ReturnType<typeof forecast>) =>
    f.projectedDepletionAt === null ? Number.POSITIVE_INFINITY : Date.parse(f.projectedDepletionAt);

  it("never projects before now, and says before-the-end exactly when it is", () => {
    fc.assert(
      fc.property(arbInput, (r) => {
        const i = build(r);
        const f = forecast(i);
        expect(when(f)).toBeGreaterThanOrEqual(now);
        expect(f.depletesBeforePeriodEnd).toBe(when(f) < i.period.end);
        expect(f.burnRate.last7Days).toBeGreaterThan(0);
        expect(f.basis).toBe("last7Days");
      }),
    );
  });

  it("projects no later with a faster burn, and no earlier with more available", () => {
    fc.assert(
      fc.property(
        arbInput,
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (r, moreBurn, moreCredits) => {
          const base = when(forecast(build(r)));
          const faster = build({ ...r, capturedLast7Days: r.capturedLast7Days + moreBurn });
          const richer = build({ ...r, available: r.available + moreCredits });
          expect(when(forecast(faster))).toBeLessThanOrEqual(base);
          expect(when(forecast(richer))).toBeGreaterThanOrEqual(base);
        },
      ),
    );
  });

  it("is the available credits over the rate, to the millisecond", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: MIN_WINDOW_MS, max: 7 * DAY_MS }),
        (available, spent, age) => {
          const f = forecast(
            input({ now, available, capturedLast7Days: spent, accountCreatedAt: now - age }),
          );
          const ms = Date.parse(f.projectedDepletionAt ?? "") - now;
          // ms is the least whole number with ms * spent >= available * age.
          expect(ms * spent).toBeGreaterThanOrEqual(available * age);
          expect((ms - 1) * spent).toBeLessThan(available * age);
        },
      ),
    );
  });

  it("gives rates of at most 2 decimals that never exceed the window's credits per day", () => {
    fc.assert(
      fc.property(arbInput, (r) => {
        const f = forecast(build(r));
        for (const rate of [f.burnRate.last7Days, f.burnRate.thisPeriod]) {
          expect(Math.round(rate * 100) / 100).toBe(rate);
        }
        // A window is at least an hour: the rate is at most 24 times the credits.
        expect(f.burnRate.last7Days).toBeLessThanOrEqual(r.capturedLast7Days * 24 + 0.01);
        expect(f.burnRate.thisPeriod).toBeLessThanOrEqual(r.capturedThisPeriod * 24 + 0.01);
      }),
    );
  });

  it("uses a window of at least an hour even for an account created in the future", () => {
    const f = forecast(
      input({ accountCreatedAt: now + HOUR, capturedLast7Days: 1, capturedThisPeriod: 1 }),
    );
    expect(f.burnRate).toEqual({ last7Days: 24, thisPeriod: 24 });
  });
});
