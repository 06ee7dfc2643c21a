const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";

/** A random lowercase base-36 string of `length` characters (about 5.2 bits each). */
export function randomToken(length: number): string {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let out = "";
  for (const b of bytes) out += ALPHABET[b % 36];
  return out;
}

/** A new id with a readable prefix, e.g. `grant_k3x9...` (20 random chars, ~103 bits). */
export function newId(prefix: string): string {
  return `${prefix}_${randomToken(20)}`;
}
