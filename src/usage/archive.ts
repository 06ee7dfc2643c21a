/**
 * Moves one account's UTC day of raw usage events from D1 to the archive bucket (issue 19), so
 * that every event is in exactly one place, readable, whatever fails:
 *
 *   1. read the day's events from D1, in the export's order;
 *   2. write the part's object, then its manifest (archive-format.ts);
 *   3. read both back and check them: the hash, the count and the credits, and every row equal
 *      to the one read from D1;
 *   4. one D1 batch (a transaction): list the part in `usage_archive_days`, roll the events up
 *      for summaries, raise the account's archived seq, and delete the events and their record
 *      rows. The listing row is only written if D1 still holds exactly the events checked (same
 *      count and captured credits up to the part's last seq); otherwise the batch fails whole.
 *
 * Until step 4 commits the events are in D1 and the object is not listed, so readers ignore it
 * (a later run writes it again). After it commits they are in R2 only. A failure between, at any
 * step, leaves them in D1; the next run finishes the work.
 */
import { decodeDay, type EncodedDay, encodeDay, partKeys } from "./archive-format";
import { EVENT_COLUMNS } from "./event";
import type { RawEvent } from "./events";
import { archivedSeqSql, ROLLUP_SQL } from "./retention-sql";

/**
 * The most events one part holds: a part is built in the Worker's memory (a Worker has 128 MB),
 * and this keeps it to a few tens of megabytes. A bigger day is archived as several parts, its
 * events taken in seq order (which is the order they happened, bar clock skew).
 */
export const MAX_PART_EVENTS = 20_000;

/** Where a test may stop a run: after each step, and the batch that commits it. */
export type ArchiveStep = "read" | "written" | "checked" | "committed";
export interface ArchiveHooks {
  /** Events per part (default MAX_PART_EVENTS; tests make it small). */
  maxPartEvents?: number;
  after?(step: ArchiveStep): void | Promise<void>;
  /** Sees (and may change) the commit's statements before they run. */
  commit?(statements: D1PreparedStatement[]): D1PreparedStatement[];
}

export interface ArchivedPart {
  accountId: string;
  day: string;
  firstSeq: number;
  events: number;
  capturedCredits: number;
  compressedBytes: number;
}

export class ArchiveError extends Error {}

const SELECT = EVENT_COLUMNS.map(([, column]) => column).join(", ");
const AT = EVENT_COLUMNS.findIndex(([f]) => f === "occurredAt");
const ID = EVENT_COLUMNS.findIndex(([f]) => f === "id");

/**
 * The next part's events of one account's day in D1: the `limit` with the lowest seqs (so that
 * "this day, seq <= the part's last" names exactly them), in the export's order.
 */
async function dayRows(
  db: D1Database,
  accountId: string,
  day: string,
  limit: number,
): Promise<RawEvent[]> {
  const [start, end] = dayRange(day);
  const rows = await db
    .prepare(
      `SELECT ${SELECT} FROM usage_events WHERE account_id = ? AND occurred_at >= ? AND occurred_at < ?
       ORDER BY seq LIMIT ?`,
    )
    .bind(accountId, start, end, limit)
    .raw<(string | number | null)[]>();
  return rows.sort((a, b) => {
    const [atA, atB] = [String(a[AT]), String(b[AT])];
    if (atA !== atB) return atA < atB ? -1 : 1;
    return String(a[ID]) < String(b[ID]) ? -1 : 1;
  });
}

/** A UTC day's bounds as ISO times: [start, end). */
export function dayRange(day: string): [string, string] {
  const start = `${day}T00:00:00.000Z`;
  return [start, new Date(Date.parse(start) + 86_400_000).toISOString()];
}

/** Reads a part back from the bucket and checks it against what was written. */
async function checkPart(
  bucket: R2Bucket,
  keys: { events: string; manifest: string },
  written: EncodedDay,
  rows: readonly RawEvent[],
) {
  const [object, manifestObject] = await Promise.all([
    bucket.get(keys.events),
    bucket.get(keys.manifest),
  ]);
  if (!object || !manifestObject)
    throw new ArchiveError(`${keys.events}: not found on reading back`);
  const manifest = JSON.parse(await manifestObject.text()) as EncodedDay["manifest"];
  if (JSON.stringify(manifest) !== JSON.stringify(written.manifest)) {
    throw new ArchiveError(`${keys.manifest}: the manifest read back differs`);
  }
  const back = await decodeDay(await object.arrayBuffer(), manifest);
  const same =
    back.length === rows.length &&
    back.every((row, i) => row.every((cell, j) => cell === rows[i]?.[j]));
  if (!same) throw new ArchiveError(`${keys.events}: the events read back differ from D1's`);
}

/**
 * Archives the events of `accountId`'s `day` still in D1 as one part (at most MAX_PART_EVENTS:
 * call again while a part comes back full). Returns null when the day has none. Throws (and
 * leaves every event of the part in D1) when a step fails.
 */
export async function archiveDay(
  db: D1Database,
  bucket: R2Bucket,
  accountId: string,
  day: string,
  now: Date,
  hooks: ArchiveHooks = {},
): Promise<ArchivedPart | null> {
  const rows = await dayRows(db, accountId, day, hooks.maxPartEvents ?? MAX_PART_EVENTS);
  if (rows.length === 0) return null;
  await hooks.after?.("read");
  const encoded = await encodeDay(accountId, day, rows);
  const { manifest } = encoded;
  const keys = partKeys(accountId, day, manifest.firstSeq);
  await bucket.put(keys.events, encoded.body, {
    httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" },
  });
  await bucket.put(keys.manifest, JSON.stringify(manifest), {
    httpMetadata: { contentType: "application/json" },
  });
  await hooks.after?.("written");
  await checkPart(bucket, keys, encoded, rows);
  await hooks.after?.("checked");

  const [start, end] = dayRange(day);
  const where = "account_id = ? AND occurred_at >= ? AND occurred_at < ? AND seq <= ?";
  const params = [accountId, start, end, manifest.lastSeq];
  const at = now.toISOString();
  const statements = [
    // Listed only if D1 holds exactly what was checked: else NULL fails the NOT NULL column.
    db
      .prepare(
        `INSERT INTO usage_archive_days (account_id, day, first_seq, last_seq, events,
           captured_credits, sha256, bytes, compressed_bytes, archived_at)
         VALUES (?, ?, ?, ?, CASE WHEN (SELECT COUNT(*) FROM usage_events WHERE ${where}) = ?
           AND (SELECT COALESCE(SUM(CASE WHEN outcome = 'captured' THEN credits END), 0)
             FROM usage_events WHERE ${where}) = ? THEN ? END, ?, ?, ?, ?, ?)`,
      )
      .bind(
        accountId,
        day,
        manifest.firstSeq,
        manifest.lastSeq,
        ...params,
        manifest.events,
        ...params,
        manifest.credits.captured,
        manifest.events,
        manifest.credits.captured,
        manifest.sha256,
        manifest.bytes,
        manifest.compressedBytes,
        at,
      ),
    db.prepare(ROLLUP_SQL.replace("{where}", where)).bind(...params),
    db.prepare(archivedSeqSql(where)).bind(at, ...params),
    db
      .prepare(
        `DELETE FROM usage_records WHERE event_id IN (SELECT id FROM usage_events WHERE ${where})`,
      )
      .bind(...params),
    db.prepare(`DELETE FROM usage_events WHERE ${where}`).bind(...params),
  ];
  await db.batch(hooks.commit ? hooks.commit(statements) : statements);
  await hooks.after?.("committed");
  return {
    accountId,
    day,
    firstSeq: manifest.firstSeq,
    events: manifest.events,
    capturedCredits: manifest.credits.captured,
    compressedBytes: manifest.compressedBytes,
  };
}

/** A committed part of an account's archived day, as `usage_archive_days` lists it. */
export interface ListedPart {
  day: string;
  firstSeq: number;
  lastSeq: number;
  events: number;
  sha256: string;
}

/**
 * The committed parts of an account's days from `fromDay` (inclusive, or from the first) to
 * `toDay` (inclusive, or to the last), oldest first.
 */
export async function listParts(
  db: D1Database,
  accountId: string,
  fromDay: string | null,
  toDay: string | null,
): Promise<ListedPart[]> {
  const rows = await db
    .prepare(
      `SELECT day, first_seq, last_seq, events, sha256 FROM usage_archive_days
       WHERE account_id = ? AND day >= ? AND day <= ? ORDER BY day, first_seq`,
    )
    .bind(accountId, fromDay ?? "", toDay ?? "9999-99-99")
    .all<{ day: string; first_seq: number; last_seq: number; events: number; sha256: string }>();
  return rows.results.map((r) => ({
    day: r.day,
    firstSeq: r.first_seq,
    lastSeq: r.last_seq,
    events: r.events,
    sha256: r.sha256,
  }));
}

/**
 * A committed part's events, read from the bucket and checked against its manifest and against
 * D1's listing (hash and count). Throws if the object is missing or differs: an export must fail
 * loudly rather than leave events out.
 */
export async function readPart(
  bucket: R2Bucket,
  accountId: string,
  part: ListedPart,
): Promise<RawEvent[]> {
  const keys = partKeys(accountId, part.day, part.firstSeq);
  const [object, manifestObject] = await Promise.all([
    bucket.get(keys.events),
    bucket.get(keys.manifest),
  ]);
  if (!object || !manifestObject)
    throw new ArchiveError(`${keys.events}: missing from the archive`);
  const manifest = JSON.parse(await manifestObject.text()) as EncodedDay["manifest"];
  if (manifest.sha256 !== part.sha256 || manifest.events !== part.events) {
    throw new ArchiveError(`${keys.manifest}: differs from the archive's listing in D1`);
  }
  return decodeDay(await object.arrayBuffer(), manifest);
}
