/**
 * Which usage events a query means: one account, a time range and who/what/outcome/tag filters,
 * turned into one SQL WHERE clause for D1. Times are ISO 8601 strings as the ledger writes them
 * (`toISOString`, fixed width), so they compare correctly as text.
 */
import { TAG_KEY, TAG_VALUE } from "../lib/formats";
import type { EventOutcome } from "./event";

/** One `key:value` of a tag filter: the event's `X-Credit-Tags` held `key=value`. */
export interface TagFilter {
  key: string;
  value: string;
}

export interface UsageFilter {
  accountId: string;
  /** Inclusive lower bound on `occurredAt`, or none. */
  from: string | null;
  /** Exclusive upper bound on `occurredAt`, or none. */
  to: string | null;
  team: string | null;
  member: string | null;
  action: string | null;
  category: string | null;
  outcome: EventOutcome | null;
  /** Every one must match (AND); empty: no tag filter. */
  tags: readonly TagFilter[];
}

export interface Clause {
  sql: string;
  params: (string | number)[];
}

/**
 * The SQL expression of a tag's value on `usage_events`. The key is interpolated into the JSON
 * path (a group key is a column, not a parameter), so it must be a tag key: anything else throws.
 */
export function tagValueSql(key: string): string {
  if (!TAG_KEY.test(key)) throw new Error(`not a tag key: ${JSON.stringify(key)}`);
  return `json_extract(tags, '$.${key}')`;
}

/**
 * Parses a tag filter, `key:value[,key:value...]` (the value as X-Credit-Tags takes it), or
 * explains what is wrong. A key given twice is refused.
 */
export function parseTagFilter(
  text: string,
  max: number,
): { ok: true; tags: TagFilter[] } | { ok: false; detail: string } {
  const items = text.split(",");
  if (items.length > max) return { ok: false, detail: `at most ${max} key:value pairs` };
  const tags: TagFilter[] = [];
  for (const item of items) {
    const colon = item.indexOf(":");
    const key = colon < 0 ? item : item.slice(0, colon);
    const value = colon < 0 ? "" : item.slice(colon + 1);
    if (!TAG_KEY.test(key) || !TAG_VALUE.test(value)) {
      return {
        ok: false,
        detail:
          "`key:value` pairs separated by commas; a key is [a-z][a-z0-9_]* (at most 32), a value 1-64 letters, digits or ._:/@+-",
      };
    }
    if (tags.some((t) => t.key === key)) return { ok: false, detail: `"${key}" is given twice` };
    tags.push({ key, value });
  }
  return { ok: true, tags };
}

/**
 * The WHERE clause of a filter on `usage_events` (or `usage_rollups`, whose time column is
 * `day`, a UTC date).
 */
export function whereOf(f: UsageFilter, table: "events" | "rollups" = "events"): Clause {
  const parts = ["account_id = ?"];
  const params: (string | number)[] = [f.accountId];
  const add = (condition: string, value: string | null) => {
    if (value === null) return;
    parts.push(condition);
    params.push(value);
  };
  // Rollups keep whole UTC days: a day belongs to a range when the day starts inside it. The
  // retention cut is at a day boundary, so a range at day boundaries sees archived days whole.
  const time = table === "events" ? "occurred_at" : "day || 'T00:00:00.000Z'";
  add(`${time} >= ?`, f.from);
  add(`${time} < ?`, f.to);
  const eq = (column: string, value: string | null) => add(`${column} = ?`, value);
  eq("team_id", f.team);
  eq("member_id", f.member);
  eq("action", f.action);
  eq("category", f.category);
  eq("outcome", f.outcome);
  if (table === "rollups") {
    // Rolled-up days keep no tags: no archived day matches a tag filter.
    if (f.tags.length > 0) parts.push("0");
  } else {
    for (const t of f.tags) add(`${tagValueSql(t.key)} = ?`, t.value);
  }
  return { sql: parts.join(" AND "), params };
}

/** A short, stable digest of a filter, so a cursor cannot be replayed against another query. */
export function filterDigest(f: UsageFilter): string {
  const text = JSON.stringify([
    f.accountId,
    f.from,
    f.to,
    f.team,
    f.member,
    f.action,
    f.category,
    f.outcome,
    ...(f.tags.length > 0 ? [f.tags.map((t) => `${t.key}:${t.value}`).sort()] : []),
  ]);
  // FNV-1a, 32 bit: this guards against mistakes, not forgery (the account comes from the key).
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}
