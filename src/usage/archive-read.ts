/**
 * Usage events in export order wherever they live (issue 19): D1 holds the recent ones, the
 * archive bucket the parts of older days that `archiveDay` moved. An export must give the same
 * events in the same order, byte for byte, whether they are in D1, archived, or split between the
 * two, so the reader here walks both as one timeline, ordered by (occurredAt, id):
 *
 * - D1 is read as before, in keyset pages of the filter and the snapshot (`eventRows`);
 * - an archived day is read (one part at a time; the parts of a day merged) only when the walk
 *   reaches its start, filtered in JS exactly as `whereOf` filters in SQL, and merged with D1's
 *   rows (a day can still have events in D1 that reached it after the day was archived).
 *
 * The two sets never overlap: a part is listed in the same D1 transaction that deletes its events.
 * Archived events are held to the listing's snapshot like D1's: the snapshot counts the account's
 * archived seq too (`snapshotOf`), so a late event archived after the listing began stays out.
 *
 * An archive run may commit while a listing is being read. Parts are only ever added, so after
 * each D1 page the reader counts the parts of its range again: if there are more than it listed,
 * events it expected in D1 may have moved, and it lists again and goes on from the last event it
 * gave. Memory stays flat: one D1 page and one archived day (after filtering) at a time.
 */
import { dayRange, type ListedPart, listParts, readPart } from "./archive";
import { jsonObject } from "./archive-format";
import { EVENT_COLUMNS } from "./event";
import { eventRows, type Position, positionOf, type RawEvent } from "./events";
import type { UsageFilter } from "./filter";

/** What a listing reads: the account's filter and snapshot, D1, and the bucket if there is one. */
export interface EventSource {
  db: D1Database;
  bucket: R2Bucket | null;
  filter: UsageFilter;
  snapshot: number;
}

/** An archived part of the listing could not be read: the export would be incomplete. */
export class ArchiveUnreadable extends Error {
  constructor(
    readonly day: string,
    cause: unknown,
  ) {
    super(
      `the archived usage of ${day} could not be read: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = "ArchiveUnreadable";
  }
}

const column = (name: string) => EVENT_COLUMNS.findIndex(([, c]) => c === name);
const AT = column("occurred_at");
const ID = column("id");
const ACCOUNT = column("account_id");
const TAGS = column("tags");
const SEQ = column("seq");
const EQUALS = [
  ["team", column("team_id")],
  ["member", column("member_id")],
  ["action", column("action")],
  ["category", column("category")],
  ["outcome", column("outcome")],
] as const;

/** Whether a row matches the filter: `whereOf`'s conditions, in JS, for archived rows. */
export function matcher(f: UsageFilter): (row: RawEvent) => boolean {
  const equal = EQUALS.flatMap(([field, i]) => (f[field] === null ? [] : [[i, f[field]] as const]));
  return (row) => {
    if (row[ACCOUNT] !== f.accountId) return false;
    for (const [i, value] of equal) if (row[i] !== value) return false;
    const at = String(row[AT]);
    if (f.from !== null && at < f.from) return false;
    if (f.to !== null && at >= f.to) return false;
    return f.tags.length === 0 || tagsMatch(row[TAGS] ?? null, f.tags);
  };
}

/** `json_extract(tags, '$.key') = value` for every tag filter; no tags match no tag filter. */
function tagsMatch(tags: string | number | null, filters: UsageFilter["tags"]): boolean {
  const object = typeof tags === "string" ? jsonObject(tags) : null;
  return (
    object !== null &&
    filters.every((t) => Object.hasOwn(object, t.key) && object[t.key] === t.value)
  );
}

/** Whether `row` comes after `pos` in the export's order (occurredAt, then id). */
function isAfter(row: RawEvent, pos: Position | null): boolean {
  if (pos === null) return true;
  const at = String(row[AT]);
  return at > pos.at || (at === pos.at && String(row[ID]) > pos.id);
}

/** Whether `a` comes before `b` in the export's order. */
function precedes(a: RawEvent, b: RawEvent): boolean {
  const [atA, atB] = [String(a[AT]), String(b[AT])];
  return atA < atB || (atA === atB && String(a[ID]) < String(b[ID]));
}

/** Two lists in export order as one. */
function merge(a: RawEvent[], b: RawEvent[]): RawEvent[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out: RawEvent[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x && (!y || precedes(x, y))) {
      out.push(x);
      i++;
    } else if (y) {
      out.push(y);
      j++;
    }
  }
  return out;
}

/** The listed parts grouped by day, oldest first (`listParts` orders them by day). */
function byDay(parts: readonly ListedPart[]): { day: string; parts: ListedPart[] }[] {
  const days: { day: string; parts: ListedPart[] }[] = [];
  for (const part of parts) {
    const last = days.at(-1);
    if (last && last.day === part.day) last.parts.push(part);
    else days.push({ day: part.day, parts: [part] });
  }
  return days;
}

/**
 * One archived day's events that match the filter and come after `pos`, in export order, as
 * segments to be read one after the other. Parts are listed by their first event's time; parts
 * whose spans in time overlap (events archived after their day, or a big day's parts meeting in
 * one millisecond) are merged into one segment, and the others are segments of their own. A big
 * day's parts follow each other, so only one part is held at a time.
 */
async function* daySegments(
  bucket: R2Bucket,
  accountId: string,
  day: { day: string; parts: ListedPart[] },
  match: (row: RawEvent) => boolean,
  pos: Position | null,
): AsyncGenerator<RawEvent[], void, undefined> {
  let group: RawEvent[] = [];
  let groupEnd: string | null = null;
  for (const part of day.parts) {
    if (groupEnd !== null && part.firstAt > groupEnd) {
      if (group.length > 0) yield group;
      group = [];
      groupEnd = null;
    }
    let read: RawEvent[];
    try {
      read = await readPart(bucket, accountId, part);
    } catch (error) {
      throw new ArchiveUnreadable(day.day, error);
    }
    group = merge(
      group,
      read.filter((row) => match(row) && isAfter(row, pos)),
    );
    if (groupEnd === null || part.lastAt > groupEnd) groupEnd = part.lastAt;
  }
  if (group.length > 0) yield group;
}

/** How many parts the account has listed from `fromDay` to `toDay` (inclusive, or open). */
async function partCount(
  db: D1Database,
  accountId: string,
  fromDay: string | null,
  toDay: string | null,
): Promise<number> {
  const row = await db
    .prepare(
      "SELECT COUNT(*) AS n FROM usage_archive_days WHERE account_id = ? AND day >= ? AND day <= ?",
    )
    .bind(accountId, fromDay ?? "", toDay ?? "9999-99-99")
    .first<{ n: number }>();
  return row?.n ?? 0;
}

const dayOf = (at: string | null | undefined) => (at ? at.slice(0, 10) : null);

/** Where a walk has got to: the last event it gave (null: none yet). */
interface Walk {
  pos: Position | null;
}

/**
 * The filtered events after `after`, oldest first, as non-empty pages of at most `pageSize` rows,
 * read as the consumer asks for them. Throws `ArchiveUnreadable` when an archived part listed in
 * D1 is missing or damaged: never a silently short listing.
 */
export async function* eventPages(
  src: EventSource,
  after: Position | null,
  pageSize: number,
): AsyncGenerator<RawEvent[], void, undefined> {
  const { bucket } = src;
  if (bucket === null) {
    // Without the bucket, days archived before cannot be read: refuse rather than skip them.
    if ((await partCount(src.db, src.filter.accountId, null, null)) > 0) {
      throw new ArchiveUnreadable(
        "archived days",
        new Error("this Worker has no archive bucket (USAGE_ARCHIVE) bound"),
      );
    }
    // No archive: D1's keyset pages, exactly as before.
    let pos = after;
    for (;;) {
      const rows = await eventRows(src.db, src.filter, src.snapshot, pos, pageSize);
      const last = rows.at(-1);
      if (last) yield rows;
      if (rows.length < pageSize || !last) return;
      pos = positionOf(last);
    }
  }
  const walk: Walk = { pos: after };
  // Each round lists the parts from where the walk is; it ends early (false) when an archive
  // run has listed more parts meanwhile. Runs list a few parts an hour: a listing that keeps
  // changing under the reader is a fault, not something to wait out.
  for (let round = 0; !(yield* walkOnce(src, bucket, walk, pageSize)); round++) {
    if (round === MAX_RELISTS) {
      throw new Error(`the usage archive changed ${MAX_RELISTS} times while one listing read it`);
    }
  }
}

/** How many times one listing lists the archive's parts again before it gives up. */
const MAX_RELISTS = 100;

/** One pass of the timeline from `walk.pos` with one listing of the parts; false: list again. */
async function* walkOnce(
  src: EventSource,
  bucket: R2Bucket,
  walk: Walk,
  pageSize: number,
): AsyncGenerator<RawEvent[], boolean, undefined> {
  const { db, filter, snapshot } = src;
  const from = dayOf(filter.from);
  const since = dayOf(walk.pos?.at);
  const fromDay = from !== null && (since === null || from > since) ? from : since;
  const toDay = dayOf(filter.to);
  const parts = await listParts(db, filter.accountId, fromDay, toDay);
  const days = byDay(parts);
  // Archived rows are held to the listing's snapshot too: one archived after it began is not in it.
  const filtered = matcher(filter);
  const match = (row: RawEvent) => Number(row[SEQ]) <= snapshot && filtered(row);

  let hot: RawEvent[] = [];
  let h = 0;
  let hotDone = false;
  let hotPos = walk.pos;
  let cold: RawEvent[] = [];
  let c = 0;
  let d = 0;
  let segments: AsyncGenerator<RawEvent[], void, undefined> | null = null;
  let out: RawEvent[] = [];
  for (;;) {
    if (h === hot.length && !hotDone) {
      hot = await eventRows(db, filter, snapshot, hotPos, pageSize);
      h = 0;
      hotDone = hot.length < pageSize;
      const last = hot.at(-1);
      if (last) hotPos = positionOf(last);
      // A part listed since: some of the events this walk expects in D1 may have left it.
      if ((await partCount(db, filter.accountId, fromDay, toDay)) !== parts.length) return false;
    }
    const head = hot[h];
    // The next archived segment: the day's next, or the next day's first once the walk reaches
    // its start (or D1 has nothing before it).
    while (c === cold.length && (segments !== null || d < days.length)) {
      if (segments === null) {
        const day = days[d] as { day: string; parts: ListedPart[] };
        if (head && String(head[AT]) < dayRange(day.day)[0]) break;
        segments = daySegments(bucket, filter.accountId, day, match, walk.pos);
        d++;
      }
      if (out.length > 0) {
        // Give what is ready before going to the bucket.
        walk.pos = positionOf(out.at(-1) as RawEvent);
        yield out;
        out = [];
      }
      const segment = await segments.next();
      if (segment.done) {
        segments = null;
        continue;
      }
      cold = segment.value;
      c = 0;
    }
    const next = cold[c];
    let row: RawEvent;
    if (next && (!head || precedes(next, head))) {
      row = next;
      c++;
    } else if (head) {
      row = head;
      h++;
    } else {
      break;
    }
    out.push(row);
    if (out.length === pageSize) {
      walk.pos = positionOf(row);
      yield out;
      out = [];
    }
  }
  if (out.length > 0) {
    walk.pos = positionOf(out.at(-1) as RawEvent);
    yield out;
  }
  return true;
}

/** The first `n` events of a listing (fewer at its end), reading no more pages than that takes. */
export async function takeRows(
  pages: AsyncGenerator<RawEvent[], void, undefined>,
  n: number,
): Promise<RawEvent[]> {
  const rows: RawEvent[] = [];
  for await (const page of pages) {
    for (const row of page) {
      if (rows.length < n) rows.push(row);
    }
    if (rows.length >= n) break;
  }
  return rows;
}

/**
 * A listing's pages with the first already read, so that an archive that cannot be read at the
 * start is an error answer rather than a cut-off stream.
 */
export async function startedPages(
  src: EventSource,
  pageSize: number,
): Promise<AsyncGenerator<RawEvent[], void, undefined>> {
  const pages = eventPages(src, null, pageSize);
  const first = await pages.next();
  return (async function* () {
    if (first.done) return;
    yield first.value;
    yield* pages;
  })();
}
