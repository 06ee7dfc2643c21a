/**
 * Request bodies for the proxy: for actions priced by a JSON array field, valid ones, awkward
 * ones that mean the same (duplicate keys, escaped keys, a BOM), and refused ones (the field
 * missing, not an array, empty, too long, beside a case variant; not JSON, not UTF-8, over the
 * size limit); for other actions, anything. And how they are framed on the wire.
 */
import fc from "fast-check";
import type { Action } from "../../src/catalog";
import { jsonText, RawJson, word } from "./hostile";
import {
  type Body,
  type Declared,
  FRESH_RECORD,
  type Framing,
  maxUnits,
  type Part,
  unitSource,
} from "./proxy-case";

/** A record before it is spelled: its key (a word, or none: absent, null or blank), and more. */
interface Entry {
  key?: string | null;
  /** A word, made fresh per call (FRESH_RECORD) when the call is sent. */
  keyed: boolean;
  n?: number;
}

const entry: fc.Arbitrary<Entry> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({ key: word(12), n: fc.integer() }, { requiredKeys: ["key"] })
      .map((e): Entry => ({ ...e, keyed: true })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ key: fc.constantFrom<string | null>(null, "", "   "), n: fc.integer() })
      .map((e): Entry => ({ ...e, keyed: false })),
  },
);

/** Spellings of a key that name the same record (issue 16 normalizes them alike). */
const SPELLINGS: ((key: string) => string)[] = [
  (k) => k,
  (k) => k.toUpperCase(),
  (k) => `www.${k}`,
  (k) => `  ${k}`,
];

/**
 * `min` to `most` records for the action, keyed by its dedupe key (`domain` without one), with
 * at times a record repeating an earlier one's key in another spelling: with dedupe, a repeat is
 * neither charged nor forwarded, and the oracle checks just that.
 */
function records(action: Action, min: number, most: number): fc.Arbitrary<unknown[]> {
  const field = action.dedupe?.key ?? "domain";
  const repeat = fc.record({ of: fc.nat(), at: fc.nat(), spelling: fc.nat(SPELLINGS.length - 1) });
  return fc
    .tuple(fc.array(entry, { minLength: min, maxLength: most }), fc.array(repeat, { maxLength: 3 }))
    .map(([list, repeats]) => {
      const entries = [...list];
      for (const { of, at, spelling } of repeats) {
        const keyed = entries.filter((e) => e.keyed);
        const source = keyed[of % Math.max(1, keyed.length)];
        if (!source || entries.length >= most) break;
        const key = SPELLINGS[spelling]?.(source.key ?? "") ?? source.key;
        entries.splice(at % (entries.length + 1), 0, { ...source, key });
      }
      return entries.map(({ key, keyed, n }) => ({
        ...(key === undefined ? {} : { [field]: keyed ? `${key}${FRESH_RECORD}` : key }),
        ...(n === undefined ? {} : { n }),
      }));
    });
}

/** A body for the action: unpriced ones anything, priced ones valid, awkward or refused. */
export function bodyArb(action: Action): fc.Arbitrary<Part<Body | null>> {
  if (action.method === "GET") return fc.constant({ value: null });
  const unit = unitSource(action);
  if (unit?.from !== "body") {
    // Not priced by the body: anything goes, and goes unchanged.
    return fc
      .oneof(
        fc.jsonValue({ maxDepth: 3 }).map((v): Body => ({ text: JSON.stringify(v) ?? "null" })),
        fc.string({ unit: "binary", maxLength: 60 }).map((text): Body => ({ text })),
        fc.uint8Array({ maxLength: 60 }).map((b): Body => ({ bytes: [...b] })),
        fc.constant<Body>({ text: "" }),
      )
      .map((value) => ({ value }));
  }
  const field = unit.field;
  const max = maxUnits(action);
  const items = (min: number, most: number) => records(action, min, most);
  const extras = fc.dictionary(
    word(10).filter((k) => k.toLowerCase() !== field.toLowerCase()),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 2 },
  );
  const valid = fc
    .tuple(items(1, Math.min(max, 25)), extras)
    .map(([list, more]) => ({ ...more, [field]: list }));
  const good = fc.oneof(
    { weight: 6, arbitrary: valid.map((v) => ({ value: { text: jsonText(v) } as Body })) },
    // Same meaning, awkward spelling: priced on exactly what is forwarded.
    {
      weight: 1,
      arbitrary: fc.tuple(items(1, Math.min(max, 5)), items(1, Math.min(max, 5))).map(([a, b]) => ({
        value: {
          text: `{${JSON.stringify(field)}:${JSON.stringify(a)},${JSON.stringify(field)}:${JSON.stringify(b)}}`,
        } as Body,
        odd: "duplicate key",
      })),
    },
    {
      weight: 1,
      arbitrary: valid.map((v) => ({
        value: {
          text: `\ufeff${jsonText(v).replace(`"${field}"`, `"\\u${field.charCodeAt(0).toString(16).padStart(4, "0")}${field.slice(1)}"`)}`,
        } as Body,
        odd: "escaped key after a BOM",
      })),
    },
  );
  const variants = [field.toUpperCase(), `${field[0]?.toUpperCase()}${field.slice(1)}`];
  const spoiled = (text: string, spoil: string) => ({ value: { text } as Body, spoil });
  const bad = fc.oneof(
    fc
      .tuple(valid, fc.constantFrom(...variants))
      .map(([v, k]) => spoiled(jsonText({ ...v, [k]: v[field] }), `"${k}" beside "${field}"`)),
    extras.map((more) => spoiled(jsonText(more), `no ${field}`)),
    fc
      .tuple(
        extras,
        fc.constantFrom<unknown>("a", 5, null, true, {}, { 0: 1, length: 1 }, new RawJson("1e999")),
      )
      .map(([more, v]) => spoiled(jsonText({ ...more, [field]: v }), `${field} not an array`)),
    extras.map((more) => spoiled(jsonText({ ...more, [field]: [] }), `${field} empty`)),
    fc
      .integer({ min: max + 1, max: max + 5 })
      .map((n) =>
        spoiled(
          jsonText({ [field]: Array.from({ length: n }, () => 1) }),
          `${n} units, over ${max}`,
        ),
      ),
    valid.map((v) => spoiled(jsonText([v]), "a JSON array")),
    fc.constantFrom("null", "42", '"records"', "true").map((t) => spoiled(t, `JSON ${t}`)),
    fc.tuple(valid, fc.nat()).map(([v, n]) => {
      const t = jsonText(v);
      return spoiled(t.slice(0, n % t.length), "truncated JSON");
    }),
    fc
      .constantFrom("", "{records: [1]}", "{'records':[1]}", "NaN", '{"records":[1]} x')
      .map((t) => spoiled(t, `not JSON: ${t}`)),
    valid.map((v) => ({
      value: { bytes: [...new TextEncoder().encode(jsonText(v)).slice(0, -1), 0xff, 0x7d] } as Body,
      spoil: "invalid UTF-8",
    })),
    valid.map((v) => ({
      value: { text: `${jsonText(v).slice(0, -1)},"x":"\ud800"}` } as Body,
      spoil: "a lone surrogate",
    })),
    valid.map((v) => ({
      value: { padded: jsonText(v), size: action.maxBodyBytes + 1 } as Body,
      spoil: `over ${action.maxBodyBytes} bytes`,
    })),
  );
  return fc.oneof({ weight: 3, arbitrary: good }, { weight: 2, arbitrary: bad });
}

/** Buffered, trickled in pieces (with a declared length true, false or absent), or broken. */
export function framingArb(): fc.Arbitrary<Framing> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant<Framing>({ kind: "buffered" }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("trickle" as const),
        pieces: fc.integer({ min: 2, max: 6 }),
        delayMs: fc.integer({ min: 0, max: 4 }),
        declared: fc.constantFrom<Declared>("none", "exact", "under", "over", "huge", "garbage"),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("broken" as const), after: fc.nat(3) }) },
  );
}
