/**
 * The archive's object format (issue 19): one account's usage events of one UTC day, as gzipped
 * NDJSON, each line exactly the line the NDJSON export writes for that event (so the export's
 * column order, the allocation list and the price as JSON), oldest first in the export's order
 * (occurredAt, id). Beside it a small manifest: counts, credits by outcome, first and last seq,
 * and the SHA-256 of the uncompressed lines.
 *
 * Why the export's own lines: an export over archived days must give the same bytes as it did
 * from D1, in all three formats. NDJSON is the lines themselves; JSON pages parse them; CSV needs
 * the D1 row back, which `rowOfLine` rebuilds. `encodeDay` refuses a day whose rows would not come
 * back exactly (it rebuilds each one and compares), so what is archived always reads back the same.
 *
 * Layout (Hive-style partitions, which DuckDB, Spark and Athena read as columns). A day is one
 * part, or several for a big day (consecutive in time) or for events that reached D1 after their
 * day was archived. A part's name holds its first seq (zero-padded) and the start of its hash,
 * so an object is never overwritten with other content:
 *   usage/v1/account=<account id>/day=<YYYY-MM-DD>/part-<first seq>-<sha256, 16 hex>.ndjson.gz
 *   usage/v1/account=<account id>/day=<YYYY-MM-DD>/part-<first seq>-<sha256, 16 hex>.manifest.json
 */
import { sha256Hex } from "../lib/hash";
import { EVENT_COLUMNS, type EventOutcome, OUTCOMES } from "./event";
import { eventObject, type RawEvent } from "./events";

export const ARCHIVE_FORMAT_VERSION = 1;
const PREFIX = "usage/v1";

/** What one archived day holds: enough to check it against D1 and the ledger without reading it. */
export interface DayManifest {
  version: typeof ARCHIVE_FORMAT_VERSION;
  accountId: string;
  /** The UTC date, YYYY-MM-DD. */
  day: string;
  events: number;
  /** Credits by outcome (captured credits are what was charged). */
  credits: Record<EventOutcome, number>;
  firstSeq: number;
  lastSeq: number;
  /** The first and last events' `occurredAt` (the part's span in time). */
  firstAt: string;
  lastAt: string;
  /** SHA-256 of the uncompressed NDJSON, lowercase hex. */
  sha256: string;
  bytes: number;
  compressedBytes: number;
}

/** The prefix of every object of an account's day. */
export function dayPrefix(accountId: string, day: string): string {
  return `${PREFIX}/account=${encodeURIComponent(accountId)}/day=${day}/`;
}

/** The object keys of one part of an account's day: its events and its manifest. */
export function partKeys(
  accountId: string,
  day: string,
  part: { firstSeq: number; sha256: string },
): { events: string; manifest: string } {
  const name = `part-${String(part.firstSeq).padStart(16, "0")}-${part.sha256.slice(0, 16)}`;
  const base = `${dayPrefix(accountId, day)}${name}`;
  return { events: `${base}.ndjson.gz`, manifest: `${base}.manifest.json` };
}

const FIELD_INDEX = new Map<string, number>(EVENT_COLUMNS.map(([field], i) => [field, i]));
const AT = FIELD_INDEX.get("occurredAt") as number;
const ID = FIELD_INDEX.get("id") as number;
const SEQ = FIELD_INDEX.get("seq") as number;
const OUTCOME = FIELD_INDEX.get("outcome") as number;
const CREDITS = FIELD_INDEX.get("credits") as number;
const GRANTS = FIELD_INDEX.get("grants") as number;
const PRICE = FIELD_INDEX.get("price") as number;

/** A JSON text's object (not an array), or null when the text is not one. */
export function jsonObject(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** One export line of a D1 row: what the NDJSON export writes for it. */
export function lineOfRow(row: RawEvent): string {
  return JSON.stringify(eventObject(row));
}

/**
 * The D1 row back from an export line: every column as D1 holds it (the allocation list and
 * the price as the JSON text the ledger wrote). Null if the line is not an event object.
 */
export function rowOfLine(line: string): RawEvent | null {
  const object = jsonObject(line);
  if (!object) return null;
  const row: RawEvent = [];
  for (let i = 0; i < EVENT_COLUMNS.length; i++) {
    const field = EVENT_COLUMNS[i]?.[0] as string;
    if (!(field in object)) return null;
    const cell = object[field];
    if (i === GRANTS || (i === PRICE && cell !== null)) {
      row.push(JSON.stringify(cell));
    } else if (cell === null || typeof cell === "string" || typeof cell === "number") {
      row.push(cell);
    } else {
      return null;
    }
  }
  return row;
}

function sameRow(a: RawEvent, b: RawEvent): boolean {
  return a.length === b.length && a.every((cell, i) => cell === b[i]);
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function gunzip(bytes: Uint8Array | ArrayBuffer): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export interface EncodedDay {
  body: Uint8Array;
  manifest: DayManifest;
}

/**
 * A day's rows (one account, one UTC day, in the export's order) as the archive object and its
 * manifest. Throws if a row is out of order, of another day, or would not read back exactly.
 */
export async function encodeDay(
  accountId: string,
  day: string,
  rows: readonly RawEvent[],
): Promise<EncodedDay> {
  if (rows.length === 0) throw new Error(`no events to archive for ${accountId} on ${day}`);
  const credits: Record<EventOutcome, number> = { captured: 0, voided: 0, denied: 0 };
  let firstSeq = Number.POSITIVE_INFINITY;
  let lastSeq = 0;
  let text = "";
  let previous: RawEvent | null = null;
  for (const row of rows) {
    const at = String(row[AT]);
    if (at.slice(0, 10) !== day) throw new Error(`event ${row[ID]} is not of ${day}`);
    if (previous && !before(previous, row)) throw new Error(`event ${row[ID]} is out of order`);
    const line = lineOfRow(row);
    const back = rowOfLine(line);
    if (!back || !sameRow(back, row)) {
      throw new Error(`event ${row[ID]} would not read back as D1 holds it`);
    }
    const outcome = row[OUTCOME] as EventOutcome;
    if (!OUTCOMES.includes(outcome)) throw new Error(`event ${row[ID]}: unknown outcome`);
    credits[outcome] += Number(row[CREDITS]);
    const seq = Number(row[SEQ]);
    firstSeq = Math.min(firstSeq, seq);
    lastSeq = Math.max(lastSeq, seq);
    text += `${line}\n`;
    previous = row;
  }
  const bytes = new TextEncoder().encode(text);
  const body = await gzip(bytes);
  return {
    body,
    manifest: {
      version: ARCHIVE_FORMAT_VERSION,
      accountId,
      day,
      events: rows.length,
      credits,
      firstSeq,
      lastSeq,
      firstAt: String(rows[0]?.[AT]),
      lastAt: String(rows.at(-1)?.[AT]),
      sha256: await sha256Hex(bytes),
      bytes: bytes.byteLength,
      compressedBytes: body.byteLength,
    },
  };
}

/** Whether `a` comes before `b` in the export's order (occurredAt, then id). */
function before(a: RawEvent, b: RawEvent): boolean {
  const [atA, atB] = [String(a[AT]), String(b[AT])];
  return atA < atB || (atA === atB && String(a[ID]) < String(b[ID]));
}

/**
 * Reads an archive object back and checks it against its manifest: the hash of its lines, their
 * count and credits. Returns the rows, or throws naming what differs.
 */
export async function decodeDay(
  compressed: Uint8Array | ArrayBuffer,
  manifest: DayManifest,
): Promise<RawEvent[]> {
  const bytes = await gunzip(compressed);
  const hash = await sha256Hex(bytes);
  if (hash !== manifest.sha256) throw new Error(`${manifest.day}: the data's SHA-256 differs`);
  const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  const lines = text.split("\n");
  if (lines.pop() !== "") throw new Error(`${manifest.day}: the data does not end with a line`);
  const rows: RawEvent[] = [];
  const credits: Record<EventOutcome, number> = { captured: 0, voided: 0, denied: 0 };
  for (const line of lines) {
    const row = rowOfLine(line);
    if (!row) throw new Error(`${manifest.day}: a line is not an event`);
    credits[row[OUTCOME] as EventOutcome] += Number(row[CREDITS]);
    rows.push(row);
  }
  if (rows.length !== manifest.events) throw new Error(`${manifest.day}: the event count differs`);
  for (const outcome of OUTCOMES) {
    if (credits[outcome] !== manifest.credits[outcome]) {
      throw new Error(`${manifest.day}: the ${outcome} credits differ`);
    }
  }
  return rows;
}
