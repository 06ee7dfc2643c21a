/**
 * Each record enriched once (issue 16), the worker's half: it reads the key of every record of
 * the call, normalizes and hashes it, and counts repeats within the call; the ledger decides
 * which keys are already enriched or in flight. Then only the records charged are forwarded, and
 * the answer says which were skipped and why.
 */
import type { Action } from "../catalog";
import { dedupeGroup } from "../config/load";
import type { DedupeOutcome, DedupeRequest } from "../ledger/contract";
import { Problem } from "../lib/problem";
import { MAX_RECORD_KEY, normalizeRecordKey, recordKeyHash } from "../lib/records";
import { DAY_MS, iso } from "../lib/time";

/** Longest `X-Credits-Skipped` value; the records past it are counted in `-Omitted`. */
export const SKIPPED_HEADER_MAX = 8000;

/** The records of a call of an action with dedupe, by key. */
export interface CallRecords {
  /** The body field that holds the records. */
  field: string;
  items: readonly unknown[];
  /** Per record, the index of its key in `request.keys`, or null for a record without one. */
  keyIndex: readonly (number | null)[];
  request: DedupeRequest;
}

/** A record the call did not charge or forward, and why. */
export type SkippedRecord =
  | { index: number; reason: "repeated"; firstIndex: number }
  | { index: number; reason: "enriched"; enrichedAt: string }
  | { index: number; reason: "in_flight" };

/**
 * Reads the records' keys. A key that is not a string (or is longer than MAX_RECORD_KEY) is a
 * 400 naming the record; a record without the key field, or with an empty one, has no key.
 */
export async function readRecords(
  action: Action,
  body: unknown,
  accountId: string,
): Promise<CallRecords | null> {
  const dedupe = action.dedupe;
  const price = action.price;
  if (!dedupe || !("unit" in price) || price.unit.from !== "body") return null;
  const field = price.unit.field;
  const items = (body as Record<string, unknown>)[field] as unknown[];
  const keys: string[] = [];
  const indexOfHash = new Map<string, number>();
  const keyIndex: (number | null)[] = [];
  let unkeyed = 0;
  for (const [i, item] of items.entries()) {
    const raw =
      typeof item === "object" &&
      item !== null &&
      !Array.isArray(item) &&
      Object.hasOwn(item, dedupe.key)
        ? (item as Record<string, unknown>)[dedupe.key]
        : undefined;
    if (raw !== undefined && raw !== null && typeof raw !== "string") {
      throw new Problem(
        "invalid_units",
        `${field}[${i}].${dedupe.key} must be a string (the record's key), not ${Array.isArray(raw) ? "an array" : typeof raw}.`,
        { action: action.id, field: `${field}[${i}].${dedupe.key}` },
      );
    }
    const normalized = typeof raw === "string" ? normalizeRecordKey(raw) : null;
    if (normalized !== null && normalized.length > MAX_RECORD_KEY) {
      throw new Problem(
        "invalid_units",
        `${field}[${i}].${dedupe.key} is longer than ${MAX_RECORD_KEY} characters.`,
        { action: action.id, field: `${field}[${i}].${dedupe.key}` },
      );
    }
    if (normalized === null) {
      unkeyed += 1;
      keyIndex.push(null);
      continue;
    }
    const hash = await recordKeyHash(accountId, normalized);
    let index = indexOfHash.get(hash);
    if (index === undefined) {
      index = keys.length;
      keys.push(hash);
      indexOfHash.set(hash, index);
    }
    keyIndex.push(index);
  }
  return {
    field,
    items,
    keyIndex,
    request: {
      group: dedupeGroup(action) ?? action.id,
      windowMs: dedupe.windowDays * DAY_MS,
      keys,
      unkeyed,
    },
  };
}

/** Every record not charged, in body order: repeats of an earlier record, enriched, in flight. */
export function skippedRecords(records: CallRecords, outcome: DedupeOutcome): SkippedRecord[] {
  const skippedKey = new Map(outcome.skippedKeys.map((k) => [k.key, k.enrichedAt]));
  const firstOf = new Map<number, number>();
  const out: SkippedRecord[] = [];
  records.keyIndex.forEach((key, index) => {
    if (key === null) return;
    const first = firstOf.get(key);
    if (first !== undefined) {
      out.push({ index, reason: "repeated", firstIndex: first });
      return;
    }
    firstOf.set(key, index);
    if (!skippedKey.has(key)) return;
    const at = skippedKey.get(key) ?? null;
    out.push(
      at === null
        ? { index, reason: "in_flight" }
        : { index, reason: "enriched", enrichedAt: iso(at) },
    );
  });
  return out;
}

/** The body to forward: the records charged, in their order; every other field as it was. */
export function forwardedRecords(
  body: Record<string, unknown>,
  records: CallRecords,
  skipped: readonly SkippedRecord[],
): Record<string, unknown> {
  const gone = new Set(skipped.map((r) => r.index));
  return { ...body, [records.field]: records.items.filter((_, i) => !gone.has(i)) };
}

/**
 * The answer's dedupe headers: how many records were charged and skipped, and each skipped
 * record as an RFC 8941 list item, its index with the reason as a parameter:
 * `1;repeat-of=0, 3;enriched="2026-11-20T10:00:00.000Z", 4;in-flight`.
 */
export function dedupeHeaders(
  outcome: DedupeOutcome,
  skipped: readonly SkippedRecord[],
): Record<string, string> {
  const items = skipped.map((r) => {
    if (r.reason === "repeated") return `${r.index};repeat-of=${r.firstIndex}`;
    if (r.reason === "enriched") return `${r.index};enriched="${r.enrichedAt}"`;
    return `${r.index};in-flight`;
  });
  // A header has a size limit: past SKIPPED_HEADER_MAX characters the rest are counted instead.
  let listed = "";
  let count = 0;
  for (const item of items) {
    const next = listed === "" ? item : `${listed}, ${item}`;
    if (next.length > SKIPPED_HEADER_MAX) break;
    listed = next;
    count += 1;
  }
  return {
    "x-credits-records-charged": String(outcome.charged),
    "x-credits-records-skipped": String(outcome.skipped),
    ...(count > 0 ? { "x-credits-skipped": listed } : {}),
    ...(count < items.length ? { "x-credits-skipped-omitted": String(items.length - count) } : {}),
  };
}
