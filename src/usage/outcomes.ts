/**
 * Outcomes an account reports (issue 16): a meeting booked, a deal won, tied to the call that
 * produced it by its request id or to the record it concerns by the record's key. The key is
 * normalized and hashed as dedupe hashes it (lib/records.ts), so it meets the hashes the usage
 * events carry and the raw key is never stored. The caller's `id` makes a report idempotent:
 * the same body again changes nothing; a different body under the same id is refused.
 */
import { sha256Hex } from "../lib/hash";
import { normalizeRecordKey, recordKeyHash } from "../lib/records";

/** A report as the API validated it. */
export interface OutcomeReport {
  id: string;
  kind: string;
  recordKey?: string;
  requestId?: string;
  value?: number;
  occurredAt?: string;
}

/** An outcome as D1 stores it and the API answers it. */
export interface StoredOutcome {
  id: string;
  kind: string;
  /** The hash of the normalized record key (never the key itself), or null. */
  recordKeyHash: string | null;
  requestId: string | null;
  value: number | null;
  occurredAt: string;
  receivedAt: string;
}

export type RecordResult =
  | { kind: "created"; outcome: StoredOutcome }
  | { kind: "repeated"; outcome: StoredOutcome }
  | { kind: "mismatch"; outcome: StoredOutcome };

interface OutcomeRow {
  id: string;
  kind: string;
  record_key: string | null;
  request_id: string | null;
  value: number | null;
  occurred_at: string;
  received_at: string;
  fingerprint: string;
}

function stored(row: OutcomeRow): StoredOutcome {
  return {
    id: row.id,
    kind: row.kind,
    recordKeyHash: row.record_key,
    requestId: row.request_id,
    value: row.value,
    occurredAt: row.occurred_at,
    receivedAt: row.received_at,
  };
}

/**
 * Stores the report unless its id is taken. A report without `occurredAt` happened when it was
 * first received; its fingerprint leaves the time out, so repeating it later is the same report.
 */
export async function recordOutcome(
  db: D1Database,
  accountId: string,
  report: OutcomeReport,
  now: number,
): Promise<RecordResult> {
  const normalized = report.recordKey === undefined ? null : normalizeRecordKey(report.recordKey);
  const keyHash = normalized === null ? null : await recordKeyHash(accountId, normalized);
  const occurredAt =
    report.occurredAt === undefined ? null : new Date(report.occurredAt).toISOString();
  // The canonical body: field order fixed, the record by its hash, the time in one format.
  const fingerprint = await sha256Hex(
    JSON.stringify([
      report.id,
      report.kind,
      keyHash,
      report.requestId ?? null,
      report.value ?? null,
      occurredAt,
    ]),
  );
  const receivedAt = new Date(now).toISOString();
  const inserted = await db
    .prepare(
      `INSERT INTO outcomes (account_id, id, kind, record_key, request_id, value, occurred_at,
         received_at, fingerprint)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (account_id, id) DO NOTHING
       RETURNING id, kind, record_key, request_id, value, occurred_at, received_at, fingerprint`,
    )
    .bind(
      accountId,
      report.id,
      report.kind,
      keyHash,
      report.requestId ?? null,
      report.value ?? null,
      occurredAt ?? receivedAt,
      receivedAt,
      fingerprint,
    )
    .first<OutcomeRow>();
  if (inserted) return { kind: "created", outcome: stored(inserted) };
  const existing = await db
    .prepare(
      `SELECT id, kind, record_key, request_id, value, occurred_at, received_at, fingerprint
       FROM outcomes WHERE account_id = ? AND id = ?`,
    )
    .bind(accountId, report.id)
    .first<OutcomeRow>();
  // The row was there a moment ago and outcomes are never deleted.
  if (!existing) throw new Error(`outcome ${report.id} vanished`);
  return {
    kind: existing.fingerprint === fingerprint ? "repeated" : "mismatch",
    outcome: stored(existing),
  };
}
