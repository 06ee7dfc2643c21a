/**
 * Normalizes a request path once, before route resolution (SPEC §3 step 2).
 *
 * Why this is enough for price integrity (SPEC §6 I7): the gateway never forwards the client's
 * path. It resolves the normalized path to one priced action and builds the upstream path from
 * that action's `upstreamPath` template plus the matched params, which the matcher limits to
 * one unreserved segment (not "." or "..") and which are percent-encoded again when filled in.
 * So whatever the client sends, the upstream receives a path the catalog priced. The rules
 * below only make the *resolution* unambiguous: every spelling of a path resolves the way a
 * standard server would read it, and spellings that servers read differently (encoded slash or
 * backslash, double encoding, control characters, malformed escapes) are refused outright.
 */

export type NormalizedPath = { ok: true; path: string } | { ok: false; detail: string };

const MAX_PATH_LENGTH = 2048;
const ENCODED_SEPARATOR = /%(2f|5c)/i;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const CONTROL = /\p{Cc}/u;
const LONE_SURROGATE = /\p{Cs}/u;
/** Segments of unreserved characters, none empty and none a dot segment: nothing to decode. */
const PLAIN = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/;

/** Whether a path is already in normal form (every rule below would leave it as it is). */
export function isPlainPath(pathname: string): boolean {
  return pathname.length <= MAX_PATH_LENGTH && PLAIN.test(pathname);
}

/** Decodes once, collapses "//", resolves "." and "..", drops a trailing slash; or refuses. */
export function normalizePath(rawPathname: string): NormalizedPath {
  if (isPlainPath(rawPathname)) return { ok: true, path: rawPathname };
  if (rawPathname.length > MAX_PATH_LENGTH) {
    return { ok: false, detail: `path longer than ${MAX_PATH_LENGTH} characters` };
  }
  if (!rawPathname.startsWith("/")) return { ok: false, detail: "path must start with /" };
  if (rawPathname.includes("\\")) return { ok: false, detail: "backslash in path" };
  if (ENCODED_SEPARATOR.test(rawPathname)) {
    return { ok: false, detail: "encoded slash or backslash in path" };
  }
  if (BAD_ESCAPE.test(rawPathname)) return { ok: false, detail: "malformed percent-encoding" };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPathname);
  } catch {
    return { ok: false, detail: "percent-encoding is not valid UTF-8" };
  }
  // A "%" that survives decoding was double-encoded ("%252f"): a second decoder would differ.
  if (decoded.includes("%")) return { ok: false, detail: "double percent-encoding in path" };
  if (CONTROL.test(decoded)) return { ok: false, detail: "control character in path" };
  if (LONE_SURROGATE.test(decoded)) return { ok: false, detail: "invalid Unicode in path" };

  const segments: string[] = [];
  for (const segment of decoded.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (segments.pop() === undefined) return { ok: false, detail: "path climbs above /" };
      continue;
    }
    segments.push(segment);
  }
  return { ok: true, path: `/${segments.join("/")}` };
}
