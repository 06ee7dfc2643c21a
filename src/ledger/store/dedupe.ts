/**
 * Enriched records (issue 16): per dedupe group, the hash of each record key the account was
 * charged for, when, and while a call is in flight, the hold that took it. A key is taken at
 * admission, becomes enriched when its hold is captured and is given back when the hold is
 * voided or expires; all three happen in the transaction of that decision, so however many calls
 * race with one new record, exactly one is charged for it. Rows are forgotten once their window
 * has passed (`pruneDedupe`).
 */
import type { DedupeRequest, KeySkip } from "../contract";

/** What a hold took: its group, window and the keys it charges, stored on the hold as JSON. */
export interface HoldDedupe {
  group: string;
  windowMs: number;
  /** Hashes of the keys this hold took (the records it charges that have a key). */
  keys: string[];
  /** Records charged and skipped, and the credits the skipped ones would have cost. */
  charged: number;
  skipped: number;
  saved: number;
}

/**
 * Which of the request's keys are not to be charged: enriched within the window, or taken by a
 * call in flight. Reads only.
 */
export function skippedKeys(sql: SqlStorage, req: DedupeRequest, now: number): KeySkip[] {
  if (req.keys.length === 0) return [];
  const rows = sql
    .exec<{ key: string; enriched_at: number | null; hold_id: string | null }>(
      `SELECT record AS key, enriched_at, hold_id FROM dedupe_keys
       WHERE grp = ? AND record IN (SELECT value FROM json_each(?))`,
      req.group,
      JSON.stringify(req.keys),
    )
    .toArray();
  const found = new Map(rows.map((r) => [r.key, r]));
  const skips: KeySkip[] = [];
  req.keys.forEach((key, index) => {
    const row = found.get(key);
    if (!row) return;
    if (row.hold_id !== null) skips.push({ key: index, enrichedAt: null });
    else if (row.enriched_at !== null && row.enriched_at > now - req.windowMs) {
      skips.push({ key: index, enrichedAt: row.enriched_at });
    }
  });
  return skips;
}

/** Takes keys for a hold: a concurrent call now skips them until the hold is settled. */
export function takeKeys(
  sql: SqlStorage,
  group: string,
  keys: readonly string[],
  holdId: string,
  expiresAt: number,
) {
  if (keys.length === 0) return;
  sql.exec(
    `INSERT INTO dedupe_keys (grp, record, enriched_at, hold_id, expires_at)
     SELECT ?, value, NULL, ?, ? FROM json_each(?) WHERE true
     ON CONFLICT (grp, record) DO UPDATE SET hold_id = excluded.hold_id, expires_at = excluded.expires_at`,
    group,
    holdId,
    expiresAt,
    JSON.stringify(keys),
  );
}

/** The hold was captured: its keys are enriched now, for the window. */
export function enrichKeys(sql: SqlStorage, holdId: string, d: HoldDedupe, now: number) {
  if (d.keys.length === 0) return;
  sql.exec(
    `UPDATE dedupe_keys SET enriched_at = ?, hold_id = NULL, expires_at = ?
     WHERE grp = ? AND hold_id = ? AND record IN (SELECT value FROM json_each(?))`,
    now,
    now + d.windowMs,
    d.group,
    holdId,
    JSON.stringify(d.keys),
  );
}

/**
 * The hold was voided or expired: its keys go back as they were. A key never enriched is
 * forgotten; one enriched before its window passed keeps that older time.
 */
export function releaseKeys(sql: SqlStorage, holdId: string, d: HoldDedupe) {
  if (d.keys.length === 0) return;
  const keys = JSON.stringify(d.keys);
  sql.exec(
    `DELETE FROM dedupe_keys WHERE grp = ? AND hold_id = ? AND enriched_at IS NULL
       AND record IN (SELECT value FROM json_each(?))`,
    d.group,
    holdId,
    keys,
  );
  sql.exec(
    `UPDATE dedupe_keys SET hold_id = NULL
     WHERE grp = ? AND hold_id = ? AND record IN (SELECT value FROM json_each(?))`,
    d.group,
    holdId,
    keys,
  );
}

/** Forgets every key whose window has passed and that no call holds. Returns how many. */
export function pruneDedupe(sql: SqlStorage, now: number): number {
  return sql.exec("DELETE FROM dedupe_keys WHERE hold_id IS NULL AND expires_at <= ?", now)
    .rowsWritten;
}

/** How many keys are stored (tests and the bench watch the bound). */
export function dedupeKeyCount(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM dedupe_keys").one().n;
}

export function holdDedupe(raw: string | null): HoldDedupe | null {
  return raw === null ? null : (JSON.parse(raw) as HoldDedupe);
}
