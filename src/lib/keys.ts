import { randomToken } from "./ids";

/**
 * Account keys look like `cg_<accountId>_<secret>`: the account id lets the worker route to the
 * account's ledger without a lookup; only the SHA-256 of the whole key is ever stored.
 */
export const ACCOUNT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{2,39}$/;
const KEY_PATTERN = /^cg_([a-z0-9][a-z0-9-]{2,39})_([a-z0-9]{32})$/;

export function parseAccountKey(key: string): { accountId: string } | null {
  const match = KEY_PATTERN.exec(key);
  return match?.[1] ? { accountId: match[1] } : null;
}

/** A fresh key for an account: 32 base-36 characters (about 165 bits) of secret. */
export function generateAccountKey(accountId: string): string {
  return `cg_${accountId}_${randomToken(32)}`;
}

/** The part of a key that is safe to show in lists: its account and first secret characters. */
export function keyPrefix(key: string): string {
  return `${key.slice(0, key.lastIndexOf("_") + 5)}…`;
}

/** Extracts the bearer token from an Authorization header value. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer ([\x21-\x7e]{1,200})$/.exec(header);
  return match?.[1] ?? null;
}
