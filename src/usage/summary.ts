/**
 * Usage totals from D1, grouped by any of day, team, member, action, category and the callers'
 * tags (`tag:<key>`). Archived days (usage_rollups) count alongside the raw events, so retention
 * does not change a total; rollups keep no tags, so a query that filters or groups by a tag
 * counts raw events only.
 *
 * The measures: `credits` and `units` are what was charged (captured events); `calls` are the
 * calls admitted (captured or voided); `denials` the calls refused; `creditsSaved` what the
 * records skipped by dedupe would have cost (captured events; archived days count 0).
 */
import { TAG_KEY } from "../lib/formats";
import { tagValueSql, type UsageFilter, whereOf } from "./filter";

export const GROUP_KEYS = ["day", "team", "member", "action", "category"] as const;
type FixedKey = (typeof GROUP_KEYS)[number];
/** A group key: one of GROUP_KEYS, or `tag:<key>` for the value of one of the caller's tags. */
export type GroupKey = FixedKey | `tag:${string}`;

/** The tag key of a `tag:<key>` group key, or null for any other string. */
export function tagOfGroupKey(key: string): string | null {
  if (!key.startsWith("tag:")) return null;
  const tag = key.slice(4);
  return TAG_KEY.test(tag) ? tag : null;
}

/** Whether `key` is a group key the summary accepts. */
export function isGroupKey(key: string): key is GroupKey {
  return (GROUP_KEYS as readonly string[]).includes(key) || tagOfGroupKey(key) !== null;
}

/** The output field of each fixed group key (a tag's value goes in `tags`). */
export const GROUP_FIELD: Record<FixedKey, string> = {
  day: "day",
  team: "teamId",
  member: "memberId",
  action: "action",
  category: "category",
};

const EVENT_DIM: Record<FixedKey, string> = {
  day: "substr(occurred_at, 1, 10)",
  team: "team_id",
  member: "member_id",
  action: "action",
  category: "category",
};

const ROLLUP_DIM: Record<FixedKey, string> = {
  day: "day",
  team: "NULLIF(team_id, '')",
  member: "NULLIF(member_id, '')",
  action: "action",
  category: "category",
};

/** The SQL expression of a group key on usage_events. */
export function eventDimension(key: GroupKey): string {
  const tag = tagOfGroupKey(key);
  return tag === null ? EVENT_DIM[key as FixedKey] : tagValueSql(tag);
}

/** More groups than this and the caller is asked to narrow the query. */
export const MAX_GROUPS = 10_000;

export interface Totals {
  credits: number;
  units: number;
  calls: number;
  denials: number;
  creditsSaved: number;
}

/** One group: its keys (day, teamId, ..., `tags` for tag keys) and its totals. */
export type Group = Record<string, string | number | null | Record<string, string | null>>;

export interface Summary {
  groups: Group[];
  totals: Totals;
  /** More than MAX_GROUPS groups: then `groups` is empty and `totals` incomplete. */
  tooMany: boolean;
}

/** Sets a group's key fields from a row's values, in `groupBy` order. */
export function groupKeys(groupBy: readonly GroupKey[], values: (string | null)[]): Group {
  const group: Group = {};
  const tags: Record<string, string | null> = {};
  groupBy.forEach((k, i) => {
    const value = values[i] ?? null;
    const tag = tagOfGroupKey(k);
    if (tag === null) group[GROUP_FIELD[k as FixedKey]] = value;
    else tags[tag] = value;
  });
  if (Object.keys(tags).length > 0) group.tags = tags;
  return group;
}

export async function summarize(
  db: D1Database,
  filter: UsageFilter,
  groupBy: readonly GroupKey[],
): Promise<Summary> {
  const events = whereOf(filter, "events");
  const rollups = whereOf(filter, "rollups");
  // Rolled-up days keep no tags: a query about tags reads raw events only.
  const rawOnly = filter.tags.length > 0 || groupBy.some((k) => tagOfGroupKey(k) !== null);
  const cols = groupBy.map((_, i) => `g${i}`);
  const eventDims = groupBy.map((k, i) => `${eventDimension(k)} AS g${i}, `).join("");
  const eventSelect = `SELECT ${eventDims}
      CASE WHEN outcome = 'captured' THEN credits ELSE 0 END AS credits,
      CASE WHEN outcome = 'captured' THEN units ELSE 0 END AS units,
      CASE WHEN outcome = 'denied' THEN 0 ELSE 1 END AS calls,
      CASE WHEN outcome = 'denied' THEN 1 ELSE 0 END AS denials,
      CASE WHEN outcome = 'captured' THEN COALESCE(credits_saved, 0) ELSE 0 END AS saved
    FROM usage_events WHERE ${events.sql}`;
  const rollupDims = groupBy.map((k, i) => `${ROLLUP_DIM[k as FixedKey]} AS g${i}, `).join("");
  const rollupSelect = `SELECT ${rollupDims}
      CASE WHEN outcome = 'captured' THEN credits ELSE 0 END AS credits,
      CASE WHEN outcome = 'captured' THEN units ELSE 0 END AS units,
      CASE WHEN outcome = 'denied' THEN 0 ELSE events END AS calls,
      CASE WHEN outcome = 'denied' THEN events ELSE 0 END AS denials,
      0 AS saved
    FROM usage_rollups WHERE ${rollups.sql}`;
  const source = rawOnly ? eventSelect : `${eventSelect} UNION ALL ${rollupSelect}`;
  const grouped = cols.length ? ` GROUP BY ${cols.join(", ")} ORDER BY ${cols.join(", ")}` : "";
  const sql = `SELECT ${cols.length ? `${cols.join(", ")}, ` : ""}
      COALESCE(SUM(credits), 0) AS credits, COALESCE(SUM(units), 0) AS units,
      COALESCE(SUM(calls), 0) AS calls, COALESCE(SUM(denials), 0) AS denials,
      COALESCE(SUM(saved), 0) AS saved
    FROM (${source})${grouped} LIMIT ${MAX_GROUPS + 1}`;
  const { results } = await db
    .prepare(sql)
    .bind(...events.params, ...(rawOnly ? [] : rollups.params))
    .all<Record<string, string | number | null>>();

  const totals: Totals = { credits: 0, units: 0, calls: 0, denials: 0, creditsSaved: 0 };
  const groups: Group[] = [];
  for (const row of results) {
    const measures: Totals = {
      credits: Number(row.credits),
      units: Number(row.units),
      calls: Number(row.calls),
      denials: Number(row.denials),
      creditsSaved: Number(row.saved),
    };
    totals.credits += measures.credits;
    totals.units += measures.units;
    totals.calls += measures.calls;
    totals.denials += measures.denials;
    totals.creditsSaved += measures.creditsSaved;
    const keys = groupKeys(
      groupBy,
      cols.map((c) => (row[c] ?? null) as string | null),
    );
    groups.push({ ...keys, ...measures });
  }
  if (groups.length > MAX_GROUPS) return { groups: [], totals, tooMany: true };
  // With no group key the one row is the totals (all zero over an empty range).
  return { groups: groupBy.length ? groups : [], totals, tooMany: false };
}
