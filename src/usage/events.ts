/**
 * Reading usage events out of D1: keyset pages for JSON, and whole-range streams for CSV and
 * NDJSON that read one page at a time as the client consumes them (flat memory at any size).
 *
 * Every listing is a snapshot: "the account's events with seq <= S", S being the largest seq D1
 * held when the listing began. The ledger flushes its outbox in seq order, one D1 transaction
 * per batch, so that set never changes afterwards (only retention removes events), and pages
 * walked over it in (occurredAt, id) order lose and repeat nothing while new events arrive.
 * Events archived to R2 are read beside D1's in the same order (archive-read.ts).
 */
import { EVENT_COLUMNS, type EventField } from "./event";
import { type Clause, type UsageFilter, whereOf } from "./filter";

export type RawEvent = (string | number | null)[];

export interface ExportedEvent {
  [field: string]:
    | string
    | number
    | null
    | { grantId: string; amount: number }[]
    | Record<string, unknown>;
}

const SELECT = EVENT_COLUMNS.map(([, column]) => column).join(", ");
const AT = EVENT_COLUMNS.findIndex(([f]) => f === "occurredAt");
const ID = EVENT_COLUMNS.findIndex(([f]) => f === "id");
const GRANTS = EVENT_COLUMNS.findIndex(([f]) => f === "grants");
const PRICE = EVENT_COLUMNS.findIndex(([f]) => f === "price");

export interface Position {
  at: string;
  id: string;
}

/**
 * The snapshot a new listing reads: the largest seq of the account's events in D1, or of those
 * archived (`usage_archive`), whichever is larger (0: none). Events archived later with a larger
 * seq (late ones) stay out of it, like events flushed later.
 */
export async function snapshotOf(db: D1Database, accountId: string): Promise<number> {
  const row = await db
    .prepare(
      `SELECT MAX(s) AS s FROM (SELECT MAX(seq) AS s FROM usage_events WHERE account_id = ?1
         UNION ALL SELECT archived_seq FROM usage_archive WHERE account_id = ?1)`,
    )
    .bind(accountId)
    .first<{ s: number | null }>();
  return row?.s ?? 0;
}

/** Up to `limit` events of the snapshot after `after`, oldest first, as raw column arrays. */
export async function eventRows(
  db: D1Database,
  filter: UsageFilter,
  snapshot: number,
  after: Position | null,
  limit: number,
): Promise<RawEvent[]> {
  const where: Clause = whereOf(filter);
  let sql = `SELECT ${SELECT} FROM usage_events WHERE ${where.sql} AND seq <= ?`;
  const params = [...where.params, snapshot];
  if (after) {
    sql += " AND (occurred_at > ? OR (occurred_at = ? AND id > ?))";
    params.push(after.at, after.at, after.id);
  }
  sql += " ORDER BY occurred_at, id LIMIT ?";
  params.push(limit);
  return db
    .prepare(sql)
    .bind(...params)
    .raw<(string | number | null)[]>();
}

export function positionOf(row: RawEvent): Position {
  return { at: String(row[AT]), id: String(row[ID]) };
}

/** One event as the JSON and NDJSON formats give it: the allocation list parsed. */
export function eventObject(row: RawEvent): ExportedEvent {
  const out: ExportedEvent = {};
  for (let i = 0; i < EVENT_COLUMNS.length; i++) {
    const field = EVENT_COLUMNS[i]?.[0] as EventField;
    out[field] =
      i === GRANTS ? parseGrants(row[i]) : i === PRICE ? parsePrice(row[i]) : (row[i] ?? null);
  }
  return out;
}

/** The price an event was charged at, as an object; null when the event has none recorded. */
function parsePrice(value: unknown): Record<string, unknown> | null {
  if (typeof value !== "string") return null;
  try {
    const parsed = JSON.parse(value) as unknown;
    return typeof parsed === "object" && parsed !== null
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function parseGrants(value: unknown): { grantId: string; amount: number }[] {
  if (typeof value !== "string") return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? (parsed as { grantId: string; amount: number }[]) : [];
  } catch {
    return [];
  }
}

/** A cell that a spreadsheet would run as a formula starts with one of these (OWASP). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One RFC 4180 field. Text that a spreadsheet would read as a formula gets a leading `'`;
 * numbers are written as numbers (credits and units are never negative).
 */
function csvCell(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const CSV_HEADER = `${EVENT_COLUMNS.map(([f]) => f).join(",")}\r\n`;

function csvLine(row: RawEvent): string {
  let line = "";
  for (let i = 0; i < row.length; i++) line += (i === 0 ? "" : ",") + csvCell(row[i] ?? null);
  return `${line}\r\n`;
}

function ndjsonLine(row: RawEvent): string {
  return `${JSON.stringify(eventObject(row))}\n`;
}

/** Rows per read while streaming: big enough to amortise the round trip, small in memory. */
export const EXPORT_PAGE = 5000;

/**
 * A whole listing as CSV or NDJSON, from its pages in order (archive-read.ts: D1's and the
 * archive's). Pages are read only when the client asks for more (high-water mark 0), so memory
 * stays flat however large the range. If a read fails midway the stream errors: the client sees
 * a cut-off transfer, never a silently short file.
 */
export function exportStream(
  pages: AsyncGenerator<RawEvent[], void, undefined>,
  format: "csv" | "ndjson",
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const line = format === "csv" ? csvLine : ndjsonLine;
  let first = true;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await pages.next();
        let text = first && format === "csv" ? CSV_HEADER : "";
        first = false;
        if (!next.done) for (const row of next.value) text += line(row);
        if (text) controller.enqueue(encoder.encode(text));
        if (next.done) controller.close();
      },
      async cancel() {
        await pages.return();
      },
    },
    { highWaterMark: 0 },
  );
}
