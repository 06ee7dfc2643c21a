/**
 * Record keys (issue 16): the value that identifies a record (a company's domain, a contact's
 * email), normalized so that spellings of one record meet, and hashed before it is stored
 * anywhere: the ledger's enriched records, the usage events and the outcomes hold only hashes.
 */
import { sha256Hex } from "./hash";

/** Longest record key accepted, in characters after trimming. */
export const MAX_RECORD_KEY = 320;

/**
 * Trimmed and lowercased; without an `@` (a domain, an id), a leading `www.` is dropped, so
 * `WWW.Acme.com ` and `acme.com` are one record. An email is kept as given after lowercasing.
 * Returns null for a key that is empty after trimming.
 */
export function normalizeRecordKey(raw: string): string | null {
  const key = raw.trim().toLowerCase();
  const bare = !key.includes("@") && key.startsWith("www.") ? key.slice(4) : key;
  return bare === "" ? null : bare;
}

/**
 * The stored form of a normalized key: 128 bits of SHA-256 over the account and the key, as hex.
 * The account in the input keeps one account's hashes from matching another's.
 */
export async function recordKeyHash(accountId: string, normalized: string): Promise<string> {
  return (await sha256Hex(`${accountId}\n${normalized}`)).slice(0, 32);
}
