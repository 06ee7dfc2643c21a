/**
 * Pure reshaping of API answers into what the views draw: the spend layers per day, the
 * burn-down of the balance, and the top lists. No fetching here, no DOM.
 */
import { OTHER_COLOUR, PALETTE } from "./charts/palette";
import { DAY_MS, daysBetween } from "./format";
import type { Balance, BurnPoint, GroupBy, StackLayer, SummaryGroup } from "./types";

/** Chart layers beyond this many groups are folded into one "Other" layer. */
const MAX_LAYERS = PALETTE.length - 1;

/** One (day, group) cell of the spend chart, as its data table lists it. */
export interface SpendCell {
  day: string;
  /** The group's id as the API gives it ("" for no team). */
  key: string;
  label: string;
  credits: number;
}

export interface Spend {
  days: string[];
  cells: SpendCell[];
  layers: StackLayer[];
  /** Credits per day over all groups, aligned with `days`. */
  perDay: number[];
}

const FIELD: Record<GroupBy, "teamId" | "action" | "category"> = {
  team: "teamId",
  action: "action",
  category: "category",
};

/** The key of a summary group for a grouping ("" when the group has none, e.g. no team). */
export function keyOf(group: SummaryGroup, by: GroupBy): string {
  return group[FIELD[by]] ?? "";
}

/** Credits per day and group from a `group_by=day,<by>` summary, over every day of the range. */
export function spendOf(
  groups: SummaryGroup[],
  by: GroupBy,
  range: { from: number; to: number },
  labelOf: (key: string) => string,
): Spend {
  const days = daysBetween(range.from, range.to);
  const index = new Map(days.map((d, i) => [d, i]));
  const byKey = new Map<string, number[]>();
  const cells: SpendCell[] = [];
  for (const g of groups) {
    if (!g.day || g.credits === 0) continue;
    const i = index.get(g.day);
    if (i === undefined) continue;
    const key = keyOf(g, by);
    const row = byKey.get(key) ?? days.map(() => 0);
    row[i] = (row[i] ?? 0) + g.credits;
    byKey.set(key, row);
    cells.push({ day: g.day, key, label: labelOf(key), credits: g.credits });
  }
  const perDay = days.map((_, i) =>
    [...byKey.values()].reduce((sum, row) => sum + (row[i] ?? 0), 0),
  );
  const ranked = [...byKey.entries()]
    .map(([key, values]) => ({ key, values, total: values.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
  const shown = ranked.length > MAX_LAYERS + 1 ? ranked.slice(0, MAX_LAYERS) : ranked;
  const rest = ranked.slice(shown.length);
  // Biggest at the bottom of the stack.
  const layers: StackLayer[] = shown.map((r, i) => ({
    label: labelOf(r.key),
    colour: PALETTE[i % PALETTE.length] as string,
    values: r.values,
  }));
  if (rest.length > 0) {
    layers.push({
      label: `Other (${rest.length})`,
      colour: OTHER_COLOUR,
      values: days.map((_, i) => rest.reduce((sum, r) => sum + (r.values[i] ?? 0), 0)),
    });
  }
  cells.sort((a, b) => a.day.localeCompare(b.day) || b.credits - a.credits);
  return { days, cells, layers, perDay };
}

/** The source of the overage allowance's grant: spent last, never part of the balance. */
const OVERAGE = "overage";

/**
 * The overage credits captured per day (aligned with `captured`): the overage grant's
 * `captured` total is attributed to the latest captures, since overage is spent last. Walks
 * the days from today backwards, taking each day's captured credits until the total is used up.
 */
export function overageByDay(captured: number[], overageCaptured: number): number[] {
  const taken = captured.map(() => 0);
  let left = overageCaptured;
  for (let i = captured.length - 1; i >= 0 && left > 0; i--) {
    const take = Math.min(left, captured[i] ?? 0);
    taken[i] = take;
    left -= take;
  }
  return taken;
}

/**
 * The burn-down of the balance over the period. The ledger keeps no balance history, so past
 * balances are derived from the balance now, this period's grants (`periodGrants` of
 * `GET /v1/balance`, spent and expired ones included) and the captured credits per day of the
 * summary (`GET /v1/usage/summary?group_by=day` over the period, without filters):
 *
 *   balance at the end of day d (time t, t < now) = available now + held now
 *     + captured after t − granted after t + expired after t − overage captured after t
 *
 * - held now: credits held on grants other than the overage allowance (which `available`
 *   leaves out too);
 * - captured after t: the summary's captured credits of the days after d;
 * - granted after t: Σ amount of the non-overage period grants with effectiveAt > t;
 * - expired after t: Σ expired of the non-overage period grants with expiresAt in (t, now];
 * - overage captured after t: the overage grant's `captured` is attributed to the latest
 *   captures (overage is spent last): walking the days from today backwards, each day's
 *   captured credits are taken against the overage total until it is used up (`overageByDay`);
 *   those credits are not balance spend.
 *
 * The "now" point is available now. Events not yet flushed to D1 are not counted, so the past
 * is an estimate. The forecast runs from (now, available) to (projectedDepletionAt, 0), cut at
 * the period end.
 */
export function burndownOf(
  balance: Balance,
  capturedByDay: Map<string, number>,
  now = Date.now(),
): BurnPoint[] {
  const start = Date.parse(balance.period.start);
  const end = Date.parse(balance.period.end);
  const days = daysBetween(start, Math.min(end, now));
  const captured = days.map((d) => capturedByDay.get(d) ?? 0);
  const overageCaptured = balance.periodGrants
    .filter((g) => g.source === OVERAGE && Date.parse(g.effectiveAt) >= start)
    .reduce((sum, g) => sum + g.captured, 0);
  const overage = overageByDay(captured, overageCaptured);
  const grants = balance.periodGrants.filter((g) => g.source !== OVERAGE);
  const overageHeld = balance.periodGrants
    .filter((g) => g.source === OVERAGE)
    .reduce((sum, g) => sum + g.held, 0);
  const at = (t: number, dayIndex: number) => {
    let value = balance.available + balance.held - overageHeld;
    for (let i = dayIndex + 1; i < days.length; i++) {
      value += (captured[i] ?? 0) - (overage[i] ?? 0);
    }
    for (const g of grants) {
      if (Date.parse(g.effectiveAt) > t) value -= g.amount;
      const expires = g.expiresAt === null ? null : Date.parse(g.expiresAt);
      if (expires !== null && expires > t && expires <= now) value += g.expired;
    }
    return value;
  };
  const points: BurnPoint[] = [{ at: start, balance: at(start, -1), forecast: null }];
  days.forEach((d, i) => {
    const endOfDay = Date.parse(`${d}T00:00:00Z`) + DAY_MS;
    if (endOfDay < now) points.push({ at: endOfDay, balance: at(endOfDay, i), forecast: null });
  });
  const depletion = balance.forecast.projectedDepletionAt;
  const nowPoint: BurnPoint = {
    at: now,
    balance: balance.available,
    forecast: depletion === null ? null : balance.available,
  };
  points.push(nowPoint);
  if (depletion !== null) {
    const runsOut = Math.max(now, Date.parse(depletion));
    if (runsOut <= end) {
      if (runsOut > now) points.push({ at: runsOut, balance: null, forecast: 0 });
    } else {
      // Linear from (now, available) to (runsOut, 0), read at the period's end.
      const left = balance.available * (1 - (end - now) / (runsOut - now));
      points.push({ at: end, balance: null, forecast: Math.max(0, left) });
    }
  }
  return points;
}

export interface Ranked {
  key: string;
  credits: number;
  calls: number;
  denials: number;
}

/** Groups by credits, most first, at most `limit`. */
export function topOf(groups: SummaryGroup[], field: "memberId" | "action", limit = 10): Ranked[] {
  return groups
    .map((g) => ({
      key: g[field] ?? "",
      credits: g.credits,
      calls: g.calls,
      denials: g.denials,
    }))
    .filter((r) => r.credits > 0 || r.calls > 0 || r.denials > 0)
    .sort((a, b) => b.credits - a.credits || b.calls - a.calls || a.key.localeCompare(b.key))
    .slice(0, limit);
}

/**
 * The earliest day to read denials from so that the newest `want` are included, from the
 * denials per day of a summary (the events API lists oldest first), with how many denials the
 * summary counts from that day on (what bounds the pages to read).
 */
export function denialsFrom(
  groups: SummaryGroup[],
  want: number,
): { day: string; count: number } | null {
  const perDay = new Map<string, number>();
  for (const g of groups) {
    if (g.day && g.denials > 0) perDay.set(g.day, (perDay.get(g.day) ?? 0) + g.denials);
  }
  const days = [...perDay.keys()].sort().reverse();
  let seen = 0;
  for (const d of days) {
    seen += perDay.get(d) ?? 0;
    if (seen >= want) return { day: d, count: seen };
  }
  const last = days.at(-1);
  return last === undefined ? null : { day: last, count: seen };
}
