/**
 * Wire formats that more than one place checks or describes, defined once: the proxy enforces
 * them, the API schemas validate them, the API document shows them.
 */

/** `X-Credit-Purpose` and a team's allowed purposes: 1-64 letters, digits, spaces or ._:/- */
export const PURPOSE = /^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,63}$/;
export const PURPOSE_HINT = "1-64 letters, digits, spaces or ._:/-";

/** `Idempotency-Key`: 1 to 255 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** What a route parameter accepts in a request path: one unreserved segment of 1..128 characters. */
export const PARAM_VALUE = /^[A-Za-z0-9._~-]{1,128}$/;

/** A tag's key in `X-Credit-Tags` and in `tag:<key>` of usage queries. */
export const TAG_KEY = /^[a-z][a-z0-9_]{0,31}$/;
/** A tag's value: 1-64 letters, digits or ._:/@+- (no comma, no `=`, no space). */
export const TAG_VALUE = /^[A-Za-z0-9._:/@+-]{1,64}$/;
export const MAX_TAGS = 5;
export const TAGS_HINT =
  "`key=value` pairs separated by commas, at most 5; a key is [a-z][a-z0-9_]* (at most 32), a value 1-64 letters, digits or ._:/@+-";

/**
 * Parses `X-Credit-Tags: key=value,...` into an object, or explains what is wrong. Spaces
 * around items are ignored; a key given twice is refused.
 */
export function parseTags(
  header: string,
): { ok: true; tags: Record<string, string> } | { ok: false; detail: string } {
  const items = header.split(",").map((item) => item.trim());
  if (items.length > MAX_TAGS) {
    return { ok: false, detail: `X-Credit-Tags holds at most ${MAX_TAGS} tags.` };
  }
  const tags: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? "" : item.slice(eq + 1);
    if (!TAG_KEY.test(key)) {
      return {
        ok: false,
        detail: `X-Credit-Tags: "${key.slice(0, 40)}" is not a tag key (${TAGS_HINT}).`,
      };
    }
    if (!TAG_VALUE.test(value)) {
      return {
        ok: false,
        detail: `X-Credit-Tags: the value of "${key}" is not valid (${TAGS_HINT}).`,
      };
    }
    if (Object.hasOwn(tags, key)) {
      return { ok: false, detail: `X-Credit-Tags: "${key}" is given twice.` };
    }
    tags[key] = value;
  }
  return { ok: true, tags };
}
