/**
 * Which usage events a query means: one account, a time range and who/what/outcome filters,
 * turned into one SQL WHERE clause for D1. Times are ISO 8601 strings as the ledger writes them
 * (`toISOString`, fixed width), so they compare correctly as text.
 */
import type { EventOutcome } from "./event";

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
}

export interface Clause {
  sql: string;
  params: (string | number)[];
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
  ]);
  // FNV-1a, 32 bit: this guards against mistakes, not forgery (the account comes from the key).
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}
