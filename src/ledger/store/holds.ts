/** Holds: credits set aside for calls in flight, with the grants they came from. */

import type { Settlement } from "../contract";
import type { Allocation } from "../core/allocate";

export interface HoldRow {
  id: string;
  request_id: string;
  action: string;
  category: string;
  settlement: Settlement;
  units: number;
  amount: number;
  allocations: string;
  key_id: string;
  member_id: string;
  team_id: string;
  purpose: string | null;
  idempotency_key: string | null;
  /** The price in force at admission, as JSON (null for holds of the release before prices). */
  price: string | null;
  /** What dedupe decided of the call (store/dedupe.ts `HoldDedupe`, JSON), or null. */
  dedupe: string | null;
  /** The caller's tags as a JSON object, or null. */
  tags: string | null;
  period_start: number;
  created_at: number;
  expires_at: number;
  [key: string]: SqlStorageValue;
}

export function insertHold(sql: SqlStorage, hold: HoldRow) {
  sql.exec(
    `INSERT INTO holds (id, request_id, action, category, settlement, units, amount, allocations, key_id,
       member_id, team_id, purpose, idempotency_key, price, dedupe, tags, period_start, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    hold.id,
    hold.request_id,
    hold.action,
    hold.category,
    hold.settlement,
    hold.units,
    hold.amount,
    hold.allocations,
    hold.key_id,
    hold.member_id,
    hold.team_id,
    hold.purpose,
    hold.idempotency_key,
    hold.price,
    hold.dedupe,
    hold.tags,
    hold.period_start,
    hold.created_at,
    hold.expires_at,
  );
}

/** Removes a hold and returns it (null if it was settled or voided already): one statement. */
export function takeHold(sql: SqlStorage, id: string): HoldRow | null {
  return sql.exec<HoldRow>("DELETE FROM holds WHERE id = ? RETURNING *", id).toArray()[0] ?? null;
}

export function holdAllocations(hold: HoldRow): Allocation[] {
  return JSON.parse(hold.allocations) as Allocation[];
}

/** The budget scopes a hold counts against. */
export function holdScope(hold: HoldRow) {
  return { team: hold.team_id, member: hold.member_id, action: hold.action };
}

export function deleteHold(sql: SqlStorage, id: string) {
  sql.exec("DELETE FROM holds WHERE id = ?", id);
}

/** When the next hold lapses, or null when none is in flight. */
export function nextHoldExpiry(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM holds").one().at;
}

/** Removes every hold that has lapsed by `now` and returns them, oldest first. */
export function takeDueHolds(sql: SqlStorage, now: number): HoldRow[] {
  return sql
    .exec<HoldRow>("DELETE FROM holds WHERE expires_at <= ? RETURNING *", now)
    .toArray()
    .sort((a, b) => a.expires_at - b.expires_at);
}

export function heldTotal(sql: SqlStorage): {
  amount: number;
  count: number;
  oldestExpiresAt: number | null;
} {
  const r = sql
    .exec<{ amount: number; count: number; oldest: number | null }>(
      "SELECT COALESCE(SUM(amount), 0) AS amount, COUNT(*) AS count, MIN(expires_at) AS oldest FROM holds",
    )
    .one();
  return { amount: r.amount, count: r.count, oldestExpiresAt: r.oldest };
}
