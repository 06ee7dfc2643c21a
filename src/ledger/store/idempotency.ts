/** Idempotency records (I3): 24 hours per key, scoped to the account. */
import type { AdmitResult, Caller, SettleRequest, StoredOutcome } from "../contract";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export type IdempotencyRecord =
  | { state: "in_flight"; fingerprint: string; holdId: string | null }
  | { state: "settled"; fingerprint: string; outcome: StoredOutcome };

interface Row {
  fingerprint: string;
  state: "in_flight" | "settled";
  hold_id: string | null;
  outcome: string | null;
  [key: string]: SqlStorageValue;
}

function findRecord(sql: SqlStorage, key: string, now: number): IdempotencyRecord | null {
  const row = sql
    .exec<Row>(
      "SELECT fingerprint, state, hold_id, outcome FROM idempotency WHERE key = ? AND expires_at > ?",
      key,
      now,
    )
    .toArray()[0];
  if (!row) return null;
  if (row.state === "settled" && row.outcome !== null) {
    return {
      state: "settled",
      fingerprint: row.fingerprint,
      outcome: JSON.parse(row.outcome) as StoredOutcome,
    };
  }
  return { state: "in_flight", fingerprint: row.fingerprint, holdId: row.hold_id };
}

export function recordInFlight(
  sql: SqlStorage,
  key: string,
  fingerprint: string,
  holdId: string,
  now: number,
) {
  sql.exec(
    `INSERT INTO idempotency (key, fingerprint, state, hold_id, outcome, created_at, expires_at)
     VALUES (?, ?, 'in_flight', ?, NULL, ?, ?)
     ON CONFLICT(key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'in_flight',
       hold_id = excluded.hold_id, outcome = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at`,
    key,
    fingerprint,
    holdId,
    now,
    now + IDEMPOTENCY_TTL_MS,
  );
}

/**
 * Stores a key's outcome. A capture passes `settledAt`: the key's 24 h restart then, so a call
 * settled late (its hold past its TTL, no alarm having voided it yet) still answers retries as
 * a replay for 24 h instead of being charged again (I3).
 */
export function recordSettled(
  sql: SqlStorage,
  key: string,
  outcome: StoredOutcome,
  settledAt: number | null = null,
) {
  sql.exec(
    `UPDATE idempotency SET state = 'settled', outcome = ?, hold_id = NULL,
       expires_at = COALESCE(?, expires_at) WHERE key = ?`,
    JSON.stringify(outcome),
    settledAt === null ? null : settledAt + IDEMPOTENCY_TTL_MS,
    key,
  );
}

/** Forgets a key whose request charged nothing, so that a retry is treated as new. */
export function forget(sql: SqlStorage, key: string) {
  sql.exec("DELETE FROM idempotency WHERE key = ?", key);
}

export function purgeExpired(sql: SqlStorage, now: number) {
  sql.exec("DELETE FROM idempotency WHERE expires_at <= ?", now);
}

export function nextExpiry(sql: SqlStorage): number | null {
  return sql.exec<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM idempotency").one().t;
}

/**
 * The answer for a key seen before: 422 if it came with another request, 409 while the first
 * is in flight, the stored outcome once settled; null for a new key.
 */
export function answerKnown(
  sql: SqlStorage,
  idempotency: { key: string; fingerprint: string },
  actionId: string,
  caller: Caller,
  now: number,
): AdmitResult | null {
  const record = findRecord(sql, idempotency.key, now);
  if (!record) return null;
  const extras = { action: actionId, rule: "idempotency" };
  if (record.fingerprint !== idempotency.fingerprint) {
    const detail = "This Idempotency-Key was used with a different action or body.";
    return { kind: "denied", caller, problem: { code: "idempotency_mismatch", detail, extras } };
  }
  if (record.state === "in_flight") {
    const detail = "A request with this Idempotency-Key is still in flight; retry when it ends.";
    return {
      kind: "denied",
      caller,
      problem: { code: "idempotency_in_progress", detail, extras },
      retryAfterSeconds: 1,
    };
  }
  return { kind: "replay", outcome: record.outcome };
}

/** An on_request call was captured at admission; its settle call only records the status. */
export function recordOnRequestStatus(sql: SqlStorage, req: SettleRequest, now: number) {
  if (!req.idempotencyKey || req.upstreamStatus === null) return;
  const record = findRecord(sql, req.idempotencyKey, now);
  if (record?.state !== "settled" || record.outcome.holdId !== req.holdId) return;
  recordSettled(sql, req.idempotencyKey, { ...record.outcome, status: req.upstreamStatus });
}
