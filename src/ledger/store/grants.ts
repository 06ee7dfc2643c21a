/**
 * Grants and the ledger entries that move their credits. Every function here runs inside the
 * caller's transaction and writes an entry for each change to a grant (append-only record), so
 * each bucket of a grant is the sum of its entries (I2 per grant). Three functions change
 * buckets, each with its entry: `issueGrant` (a new grant's amount, all remaining),
 * `resizeGrant` (amount and remaining together, an adjust entry) and `move` (credits from one
 * bucket to another: hold, capture, void, expire).
 */
import { newId } from "../../lib/ids";
import { iso, isoOrNull } from "../../lib/time";
import type { GrantSource, GrantView } from "../contract";
import type { Allocation, SpendableGrant } from "../core/allocate";

export type EntryKind = "issue" | "hold" | "capture" | "void" | "expire" | "adjust";

interface GrantRow {
  id: string;
  source: GrantSource;
  priority: number;
  amount: number;
  remaining: number;
  held: number;
  captured: number;
  expired: number;
  effective_at: number;
  expires_at: number | null;
  note: string | null;
  [key: string]: SqlStorageValue;
}

export interface NewGrant {
  amount: number;
  source: GrantSource;
  priority: number;
  effectiveAt: number;
  expiresAt: number | null;
  periodStart: number | null;
  note: string | null;
  /** For `add_on` grants: the add-on they are the credits of. */
  addOn?: string | null;
}

export interface EntryContext {
  at: number;
  holdId?: string | null;
  reason?: string | null;
  requestId?: string | null;
}

function writeEntry(
  sql: SqlStorage,
  kind: EntryKind,
  grantId: string,
  amount: number,
  ctx: EntryContext,
) {
  sql.exec(
    "INSERT INTO entries (at, kind, grant_id, hold_id, amount, reason, request_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ctx.at,
    kind,
    grantId,
    ctx.holdId ?? null,
    amount,
    ctx.reason ?? null,
    ctx.requestId ?? null,
  );
}

/** Issues a grant and records the issue entry. */
export function issueGrant(sql: SqlStorage, grant: NewGrant, at: number): GrantView {
  const id = newId("grant");
  const seq = sql.exec<{ n: number }>("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM grants").one().n;
  sql.exec(
    `INSERT INTO grants (id, seq, source, priority, amount, remaining, effective_at, expires_at, period_start, note, add_on, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id,
    seq,
    grant.source,
    grant.priority,
    grant.amount,
    grant.amount,
    grant.effectiveAt,
    grant.expiresAt,
    grant.periodStart,
    grant.note,
    grant.addOn ?? null,
    at,
  );
  writeEntry(sql, "issue", id, grant.amount, { at, reason: grant.source });
  return toView(sql.exec<GrantRow>("SELECT * FROM grants WHERE id = ?", id).one());
}

/** Grants that can pay for something right now. */
export function spendableGrants(sql: SqlStorage, now: number): SpendableGrant[] {
  return sql
    .exec<{
      id: string;
      remaining: number;
      priority: number;
      expires_at: number | null;
      seq: number;
    }>(
      `SELECT id, remaining, priority, expires_at, seq FROM grants
       WHERE remaining > 0 AND effective_at <= ? AND (expires_at IS NULL OR expires_at > ?)`,
      now,
      now,
    )
    .toArray()
    .map((g) => ({
      id: g.id,
      remaining: g.remaining,
      priority: g.priority,
      expiresAt: g.expires_at,
      seq: g.seq,
    }));
}

/** Credits spendable now: the spendable grants' remaining, overage allowance included. */
export function availableCredits(sql: SqlStorage, now: number): number {
  return sql
    .exec<{ n: number }>(
      `SELECT COALESCE(SUM(remaining), 0) AS n FROM grants
       WHERE remaining > 0 AND effective_at <= ? AND (expires_at IS NULL OR expires_at > ?)`,
      now,
      now,
    )
    .one().n;
}

/** The overage allowance of a period: its limit as issued, and what is used and left. */
export function overageOf(sql: SqlStorage, periodStart: number) {
  const row = sql
    .exec<{
      id: string;
      amount: number;
      remaining: number;
      held: number;
      captured: number;
      expired: number;
    }>(
      "SELECT id, amount, remaining, held, captured, expired FROM grants WHERE source = 'overage' AND period_start = ?",
      periodStart,
    )
    .toArray()[0];
  return row ?? null;
}

/**
 * Changes a grant's size by `delta` (its amount and unspent part grow or shrink together), with
 * an adjust entry whose reason gives the direction. Used for the overage allowance when its
 * limit changes mid-period; guarded so the unspent part never goes below zero.
 */
export function resizeGrant(sql: SqlStorage, grantId: string, delta: number, at: number) {
  if (delta === 0) return;
  const written = sql.exec(
    "UPDATE grants SET amount = amount + ?, remaining = remaining + ? WHERE id = ? AND remaining + ? >= 0",
    delta,
    delta,
    grantId,
    delta,
  ).rowsWritten;
  if (written === 0) throw new Error(`grant ${grantId} cannot shrink by ${-delta}`);
  writeEntry(sql, "adjust", grantId, Math.abs(delta), {
    at,
    reason: delta > 0 ? "limit_raised" : "limit_lowered",
  });
}

type Bucket = "remaining" | "held" | "captured" | "expired";

/**
 * Moves one allocation's credits between two buckets of its grant, guarded so the source can
 * never go below zero, and records the entry. The only way credits move between buckets.
 */
function move(
  sql: SqlStorage,
  a: Allocation,
  from: Bucket,
  to: Bucket,
  kind: EntryKind,
  ctx: EntryContext,
) {
  const written = sql.exec(
    `UPDATE grants SET ${from} = ${from} - ?, ${to} = ${to} + ? WHERE id = ? AND ${from} >= ?`,
    a.amount,
    a.amount,
    a.grantId,
    a.amount,
  ).rowsWritten;
  if (written === 0) throw new Error(`grant ${a.grantId} has less than ${a.amount} ${from}`);
  writeEntry(sql, kind, a.grantId, a.amount, ctx);
}

/** Moves credits from remaining to held, per allocation. */
export function holdFromGrants(
  sql: SqlStorage,
  allocations: readonly Allocation[],
  ctx: EntryContext,
) {
  for (const a of allocations) move(sql, a, "remaining", "held", "hold", ctx);
}

/** Moves held credits to captured, per allocation. */
export function captureFromHeld(
  sql: SqlStorage,
  allocations: readonly Allocation[],
  ctx: EntryContext,
) {
  for (const a of allocations) move(sql, a, "held", "captured", "capture", ctx);
}

/**
 * Returns held credits to their grants. A grant that expired while the credits were held takes
 * them straight to expired (void, then expire entry), so they cannot be spent after expiry.
 */
export function releaseHeld(
  sql: SqlStorage,
  allocations: readonly Allocation[],
  ctx: EntryContext,
) {
  for (const a of allocations) {
    const grant = sql
      .exec<{ expires_at: number | null }>("SELECT expires_at FROM grants WHERE id = ?", a.grantId)
      .one();
    move(sql, a, "held", "remaining", "void", ctx);
    if (grant.expires_at !== null && grant.expires_at <= ctx.at) {
      move(sql, a, "remaining", "expired", "expire", { ...ctx, reason: "grant_expired" });
    }
  }
}

/**
 * When the next grant with credits left (spendable or held) expires, or null. A held credit
 * counts because a void returns it to its grant, which must then expire like the rest.
 */
export function nextGrantExpiry(sql: SqlStorage): number | null {
  return sql
    .exec<{ at: number | null }>(
      "SELECT MIN(expires_at) AS at FROM grants WHERE (remaining > 0 OR held > 0) AND expires_at IS NOT NULL",
    )
    .one().at;
}

/** Expires the unspent credits of every grant whose expiry has passed. Returns how many moved. */
export function expireGrants(sql: SqlStorage, now: number): number {
  const due = sql
    .exec<{ id: string; remaining: number }>(
      "SELECT id, remaining FROM grants WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ?",
      now,
    )
    .toArray();
  let total = 0;
  for (const g of due) {
    const ctx = { at: now, reason: "grant_expired" };
    move(sql, { grantId: g.id, amount: g.remaining }, "remaining", "expired", "expire", ctx);
    total += g.remaining;
  }
  return total;
}

function toView(row: GrantRow): GrantView {
  return {
    id: row.id,
    amount: row.amount,
    remaining: row.remaining,
    held: row.held,
    captured: row.captured,
    expired: row.expired,
    source: row.source,
    priority: row.priority,
    effectiveAt: iso(row.effective_at),
    expiresAt: isoOrNull(row.expires_at),
    note: row.note,
  };
}

/** Grants that could be spent at some time in the period: effective before its end, not expired before its start. */
export function periodGrants(sql: SqlStorage, period: { start: number; end: number }): GrantView[] {
  return sql
    .exec<GrantRow>(
      `SELECT * FROM grants WHERE effective_at < ? AND (expires_at IS NULL OR expires_at > ?)
       ORDER BY effective_at, seq`,
      period.end,
      period.start,
    )
    .toArray()
    .map(toView);
}

/** Grants in spending order; with `current`, only those not yet expired or spent. */
export function listGrants(sql: SqlStorage, now: number, current: boolean): GrantView[] {
  const where = current
    ? "WHERE (expires_at IS NULL OR expires_at > ?) AND (remaining > 0 OR held > 0)"
    : "WHERE ? IS NOT NULL";
  return sql
    .exec<GrantRow>(
      `SELECT * FROM grants ${where} ORDER BY priority, expires_at IS NULL, expires_at, seq`,
      now,
    )
    .toArray()
    .map(toView);
}
