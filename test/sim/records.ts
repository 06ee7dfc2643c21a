/**
 * The records of calls to actions with dedupe (issue 16): keys drawn from a small pool per key
 * field, so that repeats within a call, across calls, across a window's end and against calls
 * in flight happen often; in spellings that normalize to one key (case, blanks, a leading
 * `www.` on domains and ids but not emails); and records without a key (field missing, null,
 * empty or blank), now and then a key that is not a string (400 `invalid_units`).
 */
import { normalizeKey } from "../support/model/records";
import type { MRecordsRequest } from "../support/model/types";
import type { Prng } from "./prng";

/**
 * The keys per key field. `www.kay@hooli.com` and `kay@hooli.com` are two contacts (an email
 * keeps its `www.`); `www.acme.com` is not in the pool because it is a spelling of `acme.com`.
 */
export const KEY_POOLS: Record<string, readonly string[]> = {
  domain: ["acme.com", "globex.com", "initech.io", "hooli.com", "www.stark.co", "umbrella.org"],
  email: [
    "ada@acme.com",
    "grace@globex.com",
    "kay@hooli.com",
    "www.kay@hooli.com",
    "alan@initech.io",
  ],
  id: ["c-1", "c-2", "c-3", "c-4", "c-5", "C-6"],
};

/** How a record's key is written: as is, or a spelling of the same key. */
function spelling(rng: Prng, key: string): string {
  const kind = rng.weighted({ plain: 45, upper: 12, mixed: 10, blanks: 13, www: 12, all: 8 });
  const mixed = (s: string) =>
    [...s].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join("");
  // A leading www. is dropped only from keys without an @; on an email it is another key.
  const www = (s: string) => (s.includes("@") ? s : `${rng.pick(["www.", "WWW.", "Www."])}${s}`);
  switch (kind) {
    case "plain":
      return key;
    case "upper":
      return key.toUpperCase();
    case "mixed":
      return mixed(key);
    case "blanks":
      return `${rng.pick([" ", "  ", "\t", ""])}${key}${rng.pick([" ", "\n", " \t", ""])}`;
    case "www":
      return www(key);
    default:
      return ` ${www(key.toUpperCase())} `;
  }
}

/** A record without a key: the field missing, null, empty, blank, or `www.` and nothing else. */
function unkeyed(rng: Prng, field: string): Record<string, unknown> {
  const kind = rng.weighted({ missing: 4, null: 3, empty: 3, blank: 2, bareWww: 1 });
  if (kind === "missing") return { name: `no ${field}` };
  if (kind === "null") return { [field]: null };
  if (kind === "empty") return { [field]: "" };
  if (kind === "blank") return { [field]: "   " };
  return { [field]: "www." };
}

/** A key that is not a string: the call is refused before the ledger is asked. */
function badKey(rng: Prng, field: string): Record<string, unknown> {
  return { [field]: rng.pick<unknown>([42, true, ["acme.com"], { domain: "acme.com" }]) };
}

/**
 * `n` records keyed by `field`. Keys come from the field's pool, often from a few "hot" ones
 * (so a call repeats a key of its own or of the last calls); `valid: true` never draws a key
 * that is not a string (an RPC admission only follows a worker that read the keys).
 */
export function drawRecords(
  rng: Prng,
  field: string,
  n: number,
  options: { valid?: boolean; include?: string | null } = {},
): Record<string, unknown>[] {
  const pool = KEY_POOLS[field] ?? [];
  const hot = pool.slice(0, 3);
  const bad = options.valid === true ? -1 : rng.chance(0.03) ? rng.int(0, n - 1) : -1;
  const records = Array.from({ length: n }, (_, i) => {
    if (i === bad) return badKey(rng, field);
    if (rng.chance(0.15)) return unkeyed(rng, field);
    const key = rng.chance(0.5) ? rng.pick(hot) : rng.pick(pool);
    return { [field]: spelling(rng, key), ...(rng.chance(0.2) ? { note: `r${i}` } : {}) };
  });
  // A normalized key the caller wants in the call (the window's edge, a call racing another),
  // in a spelling of it. A normalized key may begin with www. itself (from www.www.x): one
  // more www. in front is then needed for it to stay that key.
  const include = options.include;
  if (include) {
    const raw = !include.includes("@") && include.startsWith("www.") ? `www.${include}` : include;
    const spelt = spelling(rng, raw);
    records[rng.int(0, n - 1)] = { [field]: normalizeKey(spelt) === include ? spelt : raw };
  }
  return records;
}

/** The key field's values as the model reads them; null when a value is not a string. */
export function keyValues(
  records: readonly Record<string, unknown>[],
  field: string,
): (string | null)[] | null {
  const values: (string | null)[] = [];
  for (const r of records) {
    const v = Object.hasOwn(r, field) ? r[field] : undefined;
    if (v === undefined || v === null) values.push(null);
    else if (typeof v === "string") values.push(v);
    else return null;
  }
  return values;
}

/** The model's request for the records of a call, or null if a key is not a string. */
export function recordsRequest(
  dedupe: { key: string; group: string; windowMs: number },
  records: readonly Record<string, unknown>[],
): MRecordsRequest | null {
  const values = keyValues(records, dedupe.key);
  return values && { group: dedupe.group, windowMs: dedupe.windowMs, values };
}
