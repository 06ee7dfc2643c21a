/**
 * Usage totals from D1, grouped by any of day, team, member, action and category. Archived
 * days (usage_rollups) count alongside the raw events, so retention does not change a total.
 *
 * The measures: `credits` and `units` are what was charged (captured events); `calls` are the
 * calls admitted (captured or voided); `denials` the calls refused.
 */
import { type UsageFilter, whereOf } from "./filter";

export const GROUP_KEYS = ["day", "team", "member", "action", "category"] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

/** The output field of each group key. */
const FIELD: Record<GroupKey, string> = {
  day: "day",
  team: "teamId",
  member: "memberId",
  action: "action",
  category: "category",
};

const EVENT_DIM: Record<GroupKey, string> = {
  day: "substr(occurred_at, 1, 10)",
  team: "team_id",
  member: "member_id",
  action: "action",
  category: "category",
};

const ROLLUP_DIM: Record<GroupKey, string> = {
  day: "day",
  team: "NULLIF(team_id, '')",
  member: "NULLIF(member_id, '')",
  action: "action",
  category: "category",
};

/** More groups than this and the caller is asked to narrow the query. */
export const MAX_GROUPS = 10_000;

export interface Totals {
  credits: number;
  units: number;
  calls: number;
  denials: number;
}

/** One group: its keys (day, teamId, ...) and its totals. */
export type Group = Record<string, string | number | null>;

export interface Summary {
  groups: Group[];
  totals: Totals;
  /** More than MAX_GROUPS groups: then `groups` is empty and `totals` incomplete. */
  tooMany: boolean;
}

export async function summarize(
  db: D1Database,
  filter: UsageFilter,
  groupBy: readonly GroupKey[],
): Promise<Summary> {
  const events = whereOf(filter, "events");
  const rollups = whereOf(filter, "rollups");
  const dims = (map: Record<GroupKey, string>) =>
    groupBy.map((k, i) => `${map[k]} AS g${i}`).join(", ");
  const cols = groupBy.map((_, i) => `g${i}`);
  const eventSelect = `SELECT ${groupBy.length ? `${dims(EVENT_DIM)}, ` : ""}
      CASE WHEN outcome = 'captured' THEN credits ELSE 0 END AS credits,
      CASE WHEN outcome = 'captured' THEN units ELSE 0 END AS units,
      CASE WHEN outcome = 'denied' THEN 0 ELSE 1 END AS calls,
      CASE WHEN outcome = 'denied' THEN 1 ELSE 0 END AS denials
    FROM usage_events WHERE ${events.sql}`;
  const rollupSelect = `SELECT ${groupBy.length ? `${dims(ROLLUP_DIM)}, ` : ""}
      CASE WHEN outcome = 'captured' THEN credits ELSE 0 END AS credits,
      CASE WHEN outcome = 'captured' THEN units ELSE 0 END AS units,
      CASE WHEN outcome = 'denied' THEN 0 ELSE events END AS calls,
      CASE WHEN outcome = 'denied' THEN events ELSE 0 END AS denials
    FROM usage_rollups WHERE ${rollups.sql}`;
  const grouped = cols.length ? ` GROUP BY ${cols.join(", ")} ORDER BY ${cols.join(", ")}` : "";
  const sql = `SELECT ${cols.length ? `${cols.join(", ")}, ` : ""}
      COALESCE(SUM(credits), 0) AS credits, COALESCE(SUM(units), 0) AS units,
      COALESCE(SUM(calls), 0) AS calls, COALESCE(SUM(denials), 0) AS denials
    FROM (${eventSelect} UNION ALL ${rollupSelect})${grouped} LIMIT ${MAX_GROUPS + 1}`;
  const { results } = await db
    .prepare(sql)
    .bind(...events.params, ...rollups.params)
    .all<Record<string, string | number | null>>();

  const totals: Totals = { credits: 0, units: 0, calls: 0, denials: 0 };
  const groups: Group[] = [];
  for (const row of results) {
    const measures: Totals = {
      credits: Number(row.credits),
      units: Number(row.units),
      calls: Number(row.calls),
      denials: Number(row.denials),
    };
    const group: Group = {};
    groupBy.forEach((k, i) => {
      group[FIELD[k]] = (row[`g${i}`] as string | null) ?? null;
    });
    totals.credits += measures.credits;
    totals.units += measures.units;
    totals.calls += measures.calls;
    totals.denials += measures.denials;
    groups.push({ ...group, ...measures });
  }
  if (groups.length > MAX_GROUPS) return { groups: [], totals, tooMany: true };
  // With no group key the one row is the totals (all zero over an empty range).
  return { groups: groupBy.length ? groups : [], totals, tooMany: false };
}
