/**
 * The value report (issue 16): what the credits of a range cost, against what the same work
 * would have cost by hand. D1 sums the captured events per group and action (archived days of
 * usage_rollups included); each action's `manualMinutes` comes from the configuration, applied
 * here: per unit charged (`manualPer: "unit"`) or per call (`"call"`). A call whose records were
 * all skipped by dedupe (reason `deduplicated`) charged nothing and did no work: it counts 0.
 * An action the configuration no longer declares, or declares without minutes, counts 0.
 *
 * Rounding: money to cents, hours and the ratio to 2 decimals, each from the unrounded sums (so
 * the totals are not always the sum of the rounded groups); `manualMinutes` to 6 decimals.
 * Archived days keep no `credits_saved` and count every captured call, deduplicated ones too.
 */
import type { Action, Value } from "../config/schema";
import { type UsageFilter, whereOf } from "./filter";

export const VALUE_GROUP_KEYS = ["action", "team", "member"] as const;
export type ValueGroupKey = (typeof VALUE_GROUP_KEYS)[number];

/** The output field of each group key, as the usage summary names it. */
export const VALUE_GROUP_FIELD = { action: "action", team: "teamId", member: "memberId" } as const;

const EVENT_DIM: Record<ValueGroupKey, string> = {
  action: "action",
  team: "team_id",
  member: "member_id",
};
const ROLLUP_DIM: Record<ValueGroupKey, string> = {
  action: "action",
  team: "NULLIF(team_id, '')",
  member: "NULLIF(member_id, '')",
};

/** More (group, action) rows than this and the caller is asked to narrow the query. */
export const MAX_VALUE_ROWS = 10_000;

export interface ValueMeasures {
  /** Credits captured. */
  credits: number;
  /** Units charged and calls that did work (captured, not deduplicated). */
  units: number;
  calls: number;
  /** What the records skipped by dedupe would have cost, in credits. */
  creditsSaved: number;
  /** credits x creditPrice. */
  creditCost: number;
  /** Minutes of manual work the same calls stand for (exact). */
  manualMinutes: number;
  manualHours: number;
  /** manualHours x hourlyCost. */
  manualCost: number;
  /** manualCost / creditCost; null when the credits cost nothing. */
  ratio: number | null;
}

export interface ValueGroup extends ValueMeasures {
  /** The group's key: `action`, `teamId` or `memberId` (null: none recorded). */
  key: string | null;
}

export interface ValueReport {
  groups: ValueGroup[];
  totals: ValueMeasures;
  /** Actions of the range with no `manualMinutes` in the configuration: they count 0 minutes. */
  withoutManualMinutes: string[];
  /** More rows than MAX_VALUE_ROWS: then `groups` is empty and `totals` incomplete. */
  tooMany: boolean;
}

interface Sums {
  credits: number;
  units: number;
  calls: number;
  saved: number;
  minutes: number;
}

/** `x` rounded to `digits` decimals, half away from zero, ignoring binary noise (0.1 + 0.2). */
export function roundTo(x: number, digits: number): number {
  const scale = 10 ** digits;
  const scaled = Number((Math.abs(x) * scale).toPrecision(12));
  return (Math.sign(x) * Math.round(scaled)) / scale || 0;
}

function measures(sums: Sums, value: Value): ValueMeasures {
  const creditCost = sums.credits * value.creditPrice;
  const manualCost = (sums.minutes / 60) * value.hourlyCost;
  return {
    credits: sums.credits,
    units: sums.units,
    calls: sums.calls,
    creditsSaved: sums.saved,
    creditCost: roundTo(creditCost, 2),
    manualMinutes: roundTo(sums.minutes, 6),
    manualHours: roundTo(sums.minutes / 60, 2),
    manualCost: roundTo(manualCost, 2),
    ratio: creditCost > 0 ? roundTo(manualCost / creditCost, 2) : null,
  };
}

/** Minutes of manual work of one action's calls and units. */
function minutesOf(action: Action | undefined, units: number, calls: number): number {
  const minutes = action?.manualMinutes;
  if (action === undefined || minutes === undefined) return 0;
  return (action.manualPer === "call" ? calls : units) * minutes;
}

/** The report over `filter` (its outcome is ignored: only captured events count). */
export async function valueReport(
  db: D1Database,
  filter: UsageFilter,
  groupBy: ValueGroupKey,
  actions: readonly Action[],
  value: Value,
): Promise<ValueReport> {
  const captured: UsageFilter = { ...filter, outcome: "captured" };
  const events = whereOf(captured, "events");
  const rollups = whereOf(captured, "rollups");
  const sql = `SELECT g, action, SUM(credits) AS credits, SUM(units) AS units,
      SUM(calls) AS calls, SUM(saved) AS saved
    FROM (
      SELECT ${EVENT_DIM[groupBy]} AS g, action, credits,
        CASE WHEN reason = 'deduplicated' THEN 0 ELSE units END AS units,
        CASE WHEN reason = 'deduplicated' THEN 0 ELSE 1 END AS calls,
        COALESCE(credits_saved, 0) AS saved
      FROM usage_events WHERE ${events.sql}
      UNION ALL
      SELECT ${ROLLUP_DIM[groupBy]} AS g, action, credits, units, events AS calls, 0 AS saved
      FROM usage_rollups WHERE ${rollups.sql}
    ) GROUP BY g, action ORDER BY g, action LIMIT ${MAX_VALUE_ROWS + 1}`;
  const { results } = await db
    .prepare(sql)
    .bind(...events.params, ...rollups.params)
    .all<
      { g: string | null; action: string } & Record<"credits" | "units" | "calls" | "saved", number>
    >();

  const byId = new Map(actions.map((a) => [a.id, a]));
  const empty = (): Sums => ({ credits: 0, units: 0, calls: 0, saved: 0, minutes: 0 });
  const totals = empty();
  const groups = new Map<string | null, Sums>();
  const unpriced = new Set<string>();
  for (const row of results) {
    const action = byId.get(row.action);
    if (action?.manualMinutes === undefined) unpriced.add(row.action);
    const add: Sums = {
      credits: Number(row.credits),
      units: Number(row.units),
      calls: Number(row.calls),
      saved: Number(row.saved),
      minutes: minutesOf(action, Number(row.units), Number(row.calls)),
    };
    const group = groups.get(row.g) ?? empty();
    for (const sums of [group, totals]) {
      sums.credits += add.credits;
      sums.units += add.units;
      sums.calls += add.calls;
      sums.saved += add.saved;
      sums.minutes += add.minutes;
    }
    groups.set(row.g, group);
  }
  const withoutManualMinutes = [...unpriced].sort();
  if (results.length > MAX_VALUE_ROWS) {
    return { groups: [], totals: measures(totals, value), withoutManualMinutes, tooMany: true };
  }
  return {
    groups: [...groups].map(([key, sums]) => ({ key, ...measures(sums, value) })),
    totals: measures(totals, value),
    withoutManualMinutes,
    tooMany: false,
  };
}
