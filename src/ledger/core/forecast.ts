/**
 * The balance forecast: how fast the account burns credits and when, at that pace, what is
 * available runs out. Pure; `/v1/balance` shows it and the depletion alert reuses it.
 *
 * Rules:
 * - Burn is what was captured: a hold may still be voided (I4), so it is not burn yet; voids,
 *   expiries and adjustments never are.
 * - Held credits count as spent for the starting point: `available` already excludes them.
 *   Almost every hold is captured within seconds, so the conservative reading is the likely one.
 * - A window only counts time that has passed since the account existed: the last 7 days of an
 *   account created 2 days ago are 2 days, and this period starts at the later of its start and
 *   the account's creation. A window is never shorter than an hour, so one call a minute after
 *   creation is not read as a rate of thousands a day.
 * - The basis is the last 7 days when anything was captured in them, else this period.
 *   No capture in either: rates 0, no projection.
 * - Nothing available: it ran out now, whatever the rate.
 * - Depletion is worked out from the exact sums (integer credits and milliseconds), never from
 *   the rounded rates, and rounded up to the millisecond. A projection past the year 9999
 *   (which no ISO string with a four-digit year names) is no projection.
 * - Grants that start or lapse later, and the overage allowance, are not modelled: the forecast
 *   says when today's available credits run out at the recent pace.
 */
import { DAY_MS, HOUR_MS } from "../../lib/time";
import type { Period } from "./period";

/** The recent window of the burn rate. */
export const RECENT_WINDOW_MS = 7 * DAY_MS;
/** The shortest time a rate is measured over. */
export const MIN_WINDOW_MS = HOUR_MS;
const LAST_DATE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export type ForecastBasis = "last7Days" | "thisPeriod";

export interface ForecastInput {
  now: number;
  period: Period;
  /** Credits available now, held credits already taken out. */
  available: number;
  /** Credits captured from the clock hour that holds now - 7 days up to now (`spend_hours`). */
  capturedLast7Days: number;
  /** Credits captured this period: the account's counter, the `capturedThisPeriod` shown. */
  capturedThisPeriod: number;
  accountCreatedAt: number;
}

export interface Forecast {
  /** Credits per day, rounded to 2 decimals (display only). */
  burnRate: { last7Days: number; thisPeriod: number };
  basis: ForecastBasis | null;
  projectedDepletionAt: string | null;
  depletesBeforePeriodEnd: boolean;
}

/** How long each window has really run at `now`, in milliseconds (see the rules above). */
function windowLengths(
  now: number,
  period: Period,
  accountCreatedAt: number,
): Record<ForecastBasis, number> {
  const lived = (from: number) => Math.max(MIN_WINDOW_MS, now - Math.max(from, accountCreatedAt));
  return {
    last7Days: Math.min(RECENT_WINDOW_MS, lived(now - RECENT_WINDOW_MS)),
    thisPeriod: lived(period.start),
  };
}

/** The forecast of an account at `input.now`. */
export function forecast(input: ForecastInput): Forecast {
  const { now, period, available } = input;
  const lengths = windowLengths(now, period, input.accountCreatedAt);
  const captured: Record<ForecastBasis, number> = {
    last7Days: input.capturedLast7Days,
    thisPeriod: input.capturedThisPeriod,
  };
  const burnRate = {
    last7Days: perDay(captured.last7Days, lengths.last7Days),
    thisPeriod: perDay(captured.thisPeriod, lengths.thisPeriod),
  };
  const basis: ForecastBasis | null =
    captured.last7Days > 0 ? "last7Days" : captured.thisPeriod > 0 ? "thisPeriod" : null;

  let depletesAt: number | null = null;
  if (available <= 0) depletesAt = now;
  else if (basis !== null) {
    const ms = ceilDiv(BigInt(available) * BigInt(lengths[basis]), BigInt(captured[basis]));
    if (ms <= BigInt(LAST_DATE_MS - now)) depletesAt = now + Number(ms);
  }
  return {
    burnRate,
    basis,
    projectedDepletionAt: depletesAt === null ? null : new Date(depletesAt).toISOString(),
    depletesBeforePeriodEnd: depletesAt !== null && depletesAt < period.end,
  };
}

function perDay(credits: number, windowMs: number): number {
  return Math.round((credits * DAY_MS * 100) / windowMs) / 100;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}
