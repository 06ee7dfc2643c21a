/**
 * The dashboard's burn-down derives past balances from the balance now, the period's grants and
 * the captured credits per day (src/dashboard/client/derive.ts). Checked here against a ledger
 * written out by hand as dated credit movements: grants, captures, an expiry, a pack bought
 * mid-period, a hold in flight, and overage spent last.
 */
import { describe, expect, it } from "vitest";
import { burndownOf } from "../../src/dashboard/client/derive";
import type { Balance, Grant } from "../../src/dashboard/client/types";

const at = (s: string) => Date.parse(s);
const NOW = at("2031-03-10T12:00:00Z");
const PERIOD = { start: "2031-03-01T00:00:00.000Z", end: "2031-04-01T00:00:00.000Z" };

/** A movement of the spendable balance (overage excluded) at a time. */
interface Move {
  at: number;
  credits: number;
}

const truthAt = (moves: Move[], t: number) =>
  moves.filter((m) => m.at <= t).reduce((n, m) => n + m.credits, 0);

function grant(source: string, g: Partial<Grant> & { amount: number; effectiveAt: string }): Grant {
  return {
    id: `grant_${source}`,
    remaining: 0,
    held: 0,
    captured: 0,
    expired: 0,
    source,
    priority: 0,
    expiresAt: null,
    note: null,
    ...g,
  };
}

function balanceOf(available: number, held: number, periodGrants: Grant[]): Balance {
  return {
    available,
    overage: { policy: "block", limit: 0, used: 0, available: 0 },
    held,
    capturedThisPeriod: 0,
    period: PERIOD,
    forecast: {
      burnRate: { last7Days: 0, thisPeriod: 0 },
      basis: null,
      projectedDepletionAt: null,
      depletesBeforePeriodEnd: false,
    },
    grants: [],
    periodGrants,
    holds: { count: 0, oldestExpiresAt: null },
  };
}

/** Captured credits per UTC day, from the capture movements. */
function perDay(captures: Move[]): Map<string, number> {
  const days = new Map<string, number>();
  for (const c of captures) {
    const day = new Date(c.at).toISOString().slice(0, 10);
    days.set(day, (days.get(day) ?? 0) - c.credits);
  }
  return days;
}

function pastPoints(balance: Balance, byDay: Map<string, number>) {
  return burndownOf(balance, byDay, NOW).filter((p) => p.at < NOW && p.balance !== null);
}

describe("the dashboard's burn-down", () => {
  it("gives every past day's balance: captures, an expiry, a pack bought since, a hold", () => {
    const captures: Move[] = [];
    for (let d = 1; d <= 9; d++) {
      captures.push({ at: at(`2031-03-0${d}T12:00:00Z`), credits: -100 });
    }
    captures.push({ at: at("2031-03-10T06:00:00Z"), credits: -50 });
    const moves: Move[] = [
      { at: at(PERIOD.start), credits: 3000 }, // included
      { at: at(PERIOD.start), credits: 500 }, // promo, 100 of it spent on the 1st
      { at: at("2031-03-05T00:00:00Z"), credits: -400 }, // the promo's rest expires
      { at: at("2031-03-08T12:00:00Z"), credits: 2000 }, // a pack bought
      { at: NOW - 60_000, credits: -30 }, // a hold in flight
      ...captures,
    ];
    const balance = balanceOf(truthAt(moves, NOW), 30, [
      grant("included", { amount: 3000, effectiveAt: PERIOD.start, captured: 850, held: 30 }),
      grant("promo", {
        amount: 500,
        effectiveAt: PERIOD.start,
        expiresAt: "2031-03-05T00:00:00.000Z",
        captured: 100,
        expired: 400,
      }),
      grant("pack", { amount: 2000, effectiveAt: "2031-03-08T12:00:00.000Z" }),
    ]);
    const points = pastPoints(balance, perDay(captures));
    expect(points.length).toBe(10); // the period's start and the end of each day before today
    for (const p of points) {
      // The hold in flight (a minute ago) is in no past day's balance.
      expect(p.balance, new Date(p.at).toISOString()).toBe(truthAt(moves, p.at));
    }
    expect(points[0]?.balance).toBe(3500);
  });

  it("leaves overage out: it is spent last, so it is the latest captures", () => {
    const captures: Move[] = [];
    for (let d = 1; d <= 9; d++) {
      captures.push({ at: at(`2031-03-0${d}T12:00:00Z`), credits: -100 });
    }
    // Today: the last 100 included credits, then 150 of overage.
    captures.push({ at: at("2031-03-10T06:00:00Z"), credits: -250 });
    // And 20 more held on the overage grant by a call in flight: no past balance has it.
    const balance = balanceOf(0, 20, [
      grant("included", { amount: 1000, effectiveAt: PERIOD.start, captured: 1000 }),
      grant("overage", {
        amount: 500,
        effectiveAt: PERIOD.start,
        captured: 150,
        held: 20,
        remaining: 330,
      }),
    ]);
    const points = pastPoints(balance, perDay(captures));
    expect(points[0]?.balance).toBe(1000);
    expect(points.at(-1)?.balance).toBe(100); // the end of the 9th
    expect(points.map((p) => p.balance)).toEqual([
      1000, 900, 800, 700, 600, 500, 400, 300, 200, 100,
    ]);
  });
});
