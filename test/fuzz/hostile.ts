/**
 * Hostile values: text that breaks logs, CSV, terminals and displays; numbers that parsers read
 * differently; JSON tokens that only exist as text; header values and names that fetch allows.
 */
import fc from "fast-check";

/** C0 and C1 controls, DEL, bidi overrides and isolates, lone surrogates, CR/LF injections. */
/** Methods to try where a route or action has another (standard, WebDAV and cache ones). */
export const HTTP_METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "TRACE",
  "PROPFIND",
  "PURGE",
] as const;

export const UNSAFE_PIECES = [
  "\u0000",
  "\r",
  "\n",
  "\r\nSet-Cookie: session=evil",
  "\r\nX-Credits-Charged: 0",
  "\t",
  "\u001b[31m",
  "\u007f",
  "\u0085",
  "\u009b",
  "\u202a",
  "\u202e",
  "\u2066",
  "\u2069",
  "\ud800",
  "\udfff",
] as const;

/** Text with no unsafe character: ordinary and unusual Unicode a display name may hold. */
export const SAFE_PIECES = [
  "Zoë",
  "Ångström",
  "営業チーム",
  "Équipe ✓",
  "🚀",
  "👩🏽‍💻",
  "e\u0301",
  "\u200b",
  "\ufeff",
  "O'Brien",
  '"quoted"',
  "<script>alert(1)</script>",
  "'; DROP TABLE teams; --",
  "../../etc/passwd",
  "%00",
  "%2e%2e%2f",
  "$" + "{jndi:ldap://x}",
  "__proto__",
] as const;

/** A printable ASCII word of 1..`max` characters. */
export function word(max = 12): fc.Arbitrary<string> {
  return fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: max });
}

/** Text of 1..`max` characters with no unsafe character and something besides spaces. */
export function safeText(max: number): fc.Arbitrary<string> {
  return fc
    .array(fc.oneof(word(8), fc.constantFrom(...SAFE_PIECES)), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join(" ").slice(0, max))
    .filter((s) => s.trim() !== "" && !/[\p{Cc}]/u.test(s) && isWellFormed(s));
}

/** Whether a string has no lone surrogate. */
export function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** Safe text with one unsafe piece spliced in at a random place. */
export const unsafeText: fc.Arbitrary<string> = fc
  .tuple(safeText(60), fc.constantFrom(...UNSAFE_PIECES), fc.nat())
  .map(([text, piece, at]) => {
    const i = at % (text.length + 1);
    return `${text.slice(0, i)}${piece}${text.slice(i)}`;
  });

/** Text longer than `max` characters by any count (code points, code units or graphemes). */
export function overLongText(max: number): fc.Arbitrary<string> {
  return fc
    .tuple(fc.integer({ min: max + 1, max: max * 4 + 10 }), word(1))
    .map(([n, c]) => (c.trim() === "" ? "x" : c).repeat(n));
}

/** Any string at all: random code points (lone surrogates included), unsafe or safe text. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  unsafeText,
  safeText(60),
  fc.constantFrom("", " ", "null", "true", "0", "-1", "NaN"),
);

/** JSON text that is not a number JSON.parse reads the way the spec's integers need. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Numbers and number-like tokens no integer field in 0..10^12 accepts. */
export const notACredit: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -1_000_000, max: -1 }),
  fc.integer({ min: 1_000_000_000_001, max: Number.MAX_SAFE_INTEGER }),
  fc
    .double({ min: 0.001, max: 1e12, noNaN: true, noDefaultInfinity: true })
    .filter((x) => !Number.isInteger(x)),
  fc.constantFrom(1e300, -1e300, 2 ** 53 + 2, 1.5, 0.1, -0.5),
  fc.constantFrom(
    new RawJson("1e999"),
    new RawJson("-1e999"),
    new RawJson("NaN"),
    new RawJson("Infinity"),
    new RawJson("0x10"),
    new RawJson("+1"),
    new RawJson("01"),
    new RawJson(".5"),
    new RawJson("1e13"),
  ),
  fc.integer({ min: 0, max: 100 }).map(String),
  fc.constantFrom(true, false, [], {}, [5], { value: 5 }),
);

/** Values of no JSON type but `type`: for fields that take exactly one type. */
export function notOfType(type: "string" | "number" | "boolean"): fc.Arbitrary<unknown> {
  const all: fc.Arbitrary<unknown>[] = [
    fc.constantFrom(null, [], {}, ["x"], { x: 1 }),
    ...(type === "string" ? [] : [anyText]),
    ...(type === "number" ? [] : [fc.integer(), fc.double({ noNaN: true })]),
    ...(type === "boolean" ? [] : [fc.boolean()]),
  ];
  return fc.oneof(...all);
}

/** Serialises a value to JSON text, writing `RawJson` tokens as they are. */
export function jsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(jsonText).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const members = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** A header value fetch accepts: visible ASCII, spaces and tabs, never CR, LF or NUL. */
export function headerValue(maxLength = 40): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      maxLength,
    }),
    fc.constantFrom("\tleading-tab", "trailing-space ", ";,=\"'<>", "%0d%0aX-Evil: 1"),
  );
}

/** A header name fetch accepts (an RFC 9110 token). */
export const headerName: fc.Arbitrary<string> = fc.string({
  unit: fc.constantFrom(
    ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!#$%&'*+^`|~",
  ),
  minLength: 1,
  maxLength: 24,
});

/**
 * Percent-encodes any string, lone surrogates included (as the three bytes WTF-8 gives them,
 * which are not valid UTF-8): `encodeURIComponent` throws on those.
 */
export function percentEncode(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0xd800 || cp > 0xdfff) {
      out += encodeURIComponent(ch);
      continue;
    }
    const bytes = [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
    out += bytes.map((b) => `%${b.toString(16).toUpperCase()}`).join("");
  }
  return out;
}

/** Header names fetch treats specially or that the case under test sets itself. */
const RESERVED_HEADERS = new Set(["authorization", "content-type", "content-length", "host"]);

/** Extra request headers: random ones, and overrides and forgeries a client might try. */
export const extraHeaders: fc.Arbitrary<[string, string][]> = fc.array(
  fc.oneof(
    fc.tuple(
      headerName.filter((n) => !RESERVED_HEADERS.has(n.toLowerCase())),
      headerValue(),
    ),
    fc.constantFrom<[string, string]>(
      ["x-http-method-override", "DELETE"],
      ["x-http-method", "PUT"],
      ["x-method-override", "PATCH"],
      ["x-request-id", "forged-request-id"],
      ["x-forwarded-for", "10.0.0.1"],
      ["x-forwarded-host", "evil.example"],
      ["x-original-url", "/admin/v1/accounts"],
      ["x-rewrite-url", "/admin/v1/accounts"],
      ["x-creditgate-account", "someone-else"],
      ["cookie", "session=stolen"],
    ),
  ),
  { maxLength: 4 },
);

/** The bytes a careless client sends for a string: UTF-8, with lone surrogates as WTF-8. */
export function looseUtf8(text: string): Uint8Array {
  const encoded = percentEncode(text);
  const out: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === "%") {
      out.push(Number.parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(encoded.charCodeAt(i));
  }
  return new Uint8Array(out);
}
