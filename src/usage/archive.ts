/**
 * Moves one account's UTC day of raw usage events from D1 to the archive bucket (issue 19), so
 * that every event is in exactly one place, readable, whatever fails. A run first takes the
 * account day's lease in D1 (so the cron and an operator's run never write one day at once), then:
 *
 *   1. read the day's next events from D1 (at most a part's), in the export's order;
 *   2. write the part's object, then its manifest (archive-format.ts);
 *   3. read both back and check them: the hash, the count and the credits, and every row equal
 *      to the one read from D1;
 *   4. one D1 batch (a transaction): list the part in `usage_archive_days`, roll the events up
 *      for summaries, raise the account's archived seq, and delete the events and their record
 *      rows. The listing row is only written if the run still holds the lease and D1 still holds
 *      exactly the events checked (same count and captured credits); otherwise the batch fails
 *      whole.
 *
 * Until step 4 commits the events are in D1 and the object is not listed, so readers ignore it.
 * After it commits they are in R2 only. A failure between, at any step, leaves them in D1; the
 * next run finishes the work and, once the day is done, deletes the objects no part lists (left
 * by runs that stopped). An object's name holds its hash, so none is overwritten with other
 * content.
 */
import { dayPrefix, decodeDay, type EncodedDay, encodeDay, partKeys } from "./archive-format";
import { EVENT_COLUMNS } from "./event";
import type { RawEvent } from "./events";
import { archivedSeqSql, ROLLUP_SQL } from "./retention-sql";

/**
 * The most events one part holds: a part is built in the Worker's memory (a Worker has 128 MB),
 * and this keeps it to a few tens of megabytes. A bigger day is archived as several parts, each
 * the next events in the export's order, so they follow each other in time.
 */
export const MAX_PART_EVENTS = 20_000;

/** How long a run holds an account day: longer than any run lasts (a Worker's limits). */
const LEASE_MS = 15 * 60_000;

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

/** Another run holds the account day: this one leaves it alone. */
export class ArchiveBusy extends ArchiveError {}

const SELECT = EVENT_COLUMNS.map(([, column]) => column).join(", ");
const AT = EVENT_COLUMNS.findIndex(([f]) => f === "occurredAt");
const ID = EVENT_COLUMNS.findIndex(([f]) => f === "id");

/**
 * The next part's events of one account's day in D1: the first `limit` in the export's order,
 * a range of the (account, occurred_at, id) index.
 */
async function dayRows(
  db: D1Database,
  accountId: string,
  day: string,
  limit: number,
): Promise<RawEvent[]> {
  const [start, end] = dayRange(day);
  return db
    .prepare(
      `SELECT ${SELECT} FROM usage_events WHERE account_id = ? AND occurred_at >= ? AND occurred_at < ?
       ORDER BY occurred_at, id LIMIT ?`,
    )
    .bind(accountId, start, end, limit)
    .raw<(string | number | null)[]>();
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

/** Takes the account day's lease for `holder`, unless another run holds it. */
async function takeLease(
  db: D1Database,
  accountId: string,
  day: string,
  holder: string,
  now: Date,
) {
  const taken = await db
    .prepare(
      `INSERT INTO usage_archive_leases (account_id, day, holder, expires_at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT(account_id, day) DO UPDATE SET holder = ?3, expires_at = ?4
         WHERE usage_archive_leases.expires_at <= ?5`,
    )
    .bind(
      accountId,
      day,
      holder,
      new Date(now.getTime() + LEASE_MS).toISOString(),
      now.toISOString(),
    )
    .run();
  if ((taken.meta.changes ?? 0) === 0) {
    throw new ArchiveBusy(`${accountId} ${day}: another archive run holds this day`);
  }
}

async function releaseLease(db: D1Database, accountId: string, day: string, holder: string) {
  await db
    .prepare("DELETE FROM usage_archive_leases WHERE account_id = ? AND day = ? AND holder = ?")
    .bind(accountId, day, holder)
    .run();
}

/**
 * Deletes the day's objects that no listed part names: left by a run that stopped before its
 * commit. Only the lease holder does this, so no other run is writing the day meanwhile.
 */
async function sweepDay(db: D1Database, bucket: R2Bucket, accountId: string, day: string) {
  const listed = new Set<string>();
  for (const part of await listParts(db, accountId, day, day)) {
    const keys = partKeys(accountId, day, part);
    listed.add(keys.events);
    listed.add(keys.manifest);
  }
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: dayPrefix(accountId, day), cursor });
    const stale = page.objects.map((o) => o.key).filter((key) => !listed.has(key));
    if (stale.length > 0) await bucket.delete(stale);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}

/**
 * Archives the next events of `accountId`'s `day` still in D1 as one part (at most
 * MAX_PART_EVENTS: call again while a part comes back full). Returns null when the day has none.
 * Throws (and leaves every event of the part in D1) when a step fails; ArchiveBusy when another
 * run holds the day.
 */
export async function archiveDay(
  db: D1Database,
  bucket: R2Bucket,
  accountId: string,
  day: string,
  now: Date,
  hooks: ArchiveHooks = {},
): Promise<ArchivedPart | null> {
  const holder = crypto.randomUUID();
  await takeLease(db, accountId, day, holder, now);
  try {
    return await archiveHeld(db, bucket, accountId, day, now, holder, hooks);
  } finally {
    await releaseLease(db, accountId, day, holder);
  }
}

async function archiveHeld(
  db: D1Database,
  bucket: R2Bucket,
  accountId: string,
  day: string,
  now: Date,
  holder: string,
  hooks: ArchiveHooks,
): Promise<ArchivedPart | null> {
  const rows = await dayRows(db, accountId, day, hooks.maxPartEvents ?? MAX_PART_EVENTS);
  if (rows.length === 0) {
    await sweepDay(db, bucket, accountId, day);
    return null;
  }
  await hooks.after?.("read");
  const encoded = await encodeDay(accountId, day, rows);
  const { manifest } = encoded;
  const keys = partKeys(accountId, day, manifest);
  await bucket.put(keys.events, encoded.body, {
    httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" },
  });
  await bucket.put(keys.manifest, JSON.stringify(manifest), {
    httpMetadata: { contentType: "application/json" },
  });
  await hooks.after?.("written");
  await checkPart(bucket, keys, encoded, rows);
  await hooks.after?.("checked");

  // Exactly the part's events: the day's up to its last in the export's order, none newer than
  // its last seq (an event flushed in since has a larger seq than any D1 held when it was read).
  const last = rows.at(-1) as RawEvent;
  const [start, end] = dayRange(day);
  const where = `account_id = ? AND occurred_at >= ? AND occurred_at < ?
    AND (occurred_at < ? OR (occurred_at = ? AND id <= ?)) AND seq <= ?`;
  const lastAt = String(last[AT]);
  const params = [accountId, start, end, lastAt, lastAt, String(last[ID]), manifest.lastSeq];
  const at = now.toISOString();
  const statements = [
    // Listed only if this run still holds the day and D1 holds exactly what was checked: else
    // NULL fails the NOT NULL column and the whole batch with it.
    db
      .prepare(
        `INSERT INTO usage_archive_days (account_id, day, first_seq, last_seq, first_at, last_at,
           events, captured_credits, sha256, bytes, compressed_bytes, archived_at)
         VALUES (?, ?, ?, ?, ?, ?, CASE WHEN (SELECT COUNT(*) FROM usage_events WHERE ${where}) = ?
           AND (SELECT COALESCE(SUM(CASE WHEN outcome = 'captured' THEN credits END), 0)
             FROM usage_events WHERE ${where}) = ?
           AND EXISTS (SELECT 1 FROM usage_archive_leases WHERE account_id = ? AND day = ?
             AND holder = ? AND expires_at > ?) THEN ? END, ?, ?, ?, ?, ?)`,
      )
      .bind(
        accountId,
        day,
        manifest.firstSeq,
        manifest.lastSeq,
        manifest.firstAt,
        manifest.lastAt,
        ...params,
        manifest.events,
        ...params,
        manifest.credits.captured,
        accountId,
        day,
        holder,
        at,
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
  if (rows.length < (hooks.maxPartEvents ?? MAX_PART_EVENTS)) {
    await sweepDay(db, bucket, accountId, day);
  }
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
  firstAt: string;
  lastAt: string;
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
      `SELECT day, first_seq, first_at, last_at, events, sha256 FROM usage_archive_days
       WHERE account_id = ? AND day >= ? AND day <= ? ORDER BY day, first_at, first_seq`,
    )
    .bind(accountId, fromDay ?? "", toDay ?? "9999-99-99")
    .all<{
      day: string;
      first_seq: number;
      first_at: string;
      last_at: string;
      events: number;
      sha256: string;
    }>();
  return rows.results.map((r) => ({
    day: r.day,
    firstSeq: r.first_seq,
    firstAt: r.first_at,
    lastAt: r.last_at,
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
  const keys = partKeys(accountId, part.day, part);
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
