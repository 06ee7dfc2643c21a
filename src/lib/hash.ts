const encoder = new TextEncoder();

/** Each byte's two hex digits, so hashing a key on the request path builds no arrays (issue 18). */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

function toHex(buffer: ArrayBuffer): string {
  let out = "";
  for (const b of new Uint8Array(buffer)) out += HEX[b];
  return out;
}

/** SHA-256 of a string or bytes, as lowercase hex. */
export async function sha256Hex(input: string | ArrayBuffer | Uint8Array): Promise<string> {
  const data = typeof input === "string" ? encoder.encode(input) : input;
  return toHex(await crypto.subtle.digest("SHA-256", data));
}

/**
 * Compares two strings in time that depends only on their length. Compares UTF-16 code units,
 * not UTF-8: encoding would turn every lone surrogate into U+FFFD and make different strings equal.
 */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return crypto.subtle.timingSafeEqual(utf16(a), utf16(b));
}

function utf16(s: string): Uint8Array {
  const units = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
  return new Uint8Array(units.buffer);
}
