/** Helpers of the archive tests: where each event is, and an archive run of one account. */
import { env } from "cloudflare:workers";
import { type ArchiveHooks, listParts, readPart } from "../../src/usage/archive";
import { archiveOlderThan } from "../../src/usage/archive-runs";
import type { UsageFilter } from "../../src/usage/filter";

export const DAY = 86_400_000;
export const NOW = new Date();
export const CUTOFF = new Date(Math.floor(NOW.getTime() / DAY) * DAY - 62 * DAY).toISOString();
const ID = 0;

export async function d1Ids(accountId: string): Promise<string[]> {
  const rows = await env.DB.prepare("SELECT id FROM usage_events WHERE account_id = ? ORDER BY id")
    .bind(accountId)
    .all<{ id: string }>();
  return rows.results.map((r) => r.id);
}

/** Where each event is: the ids in D1 and the ids in the account's listed parts. */
export async function places(accountId: string): Promise<{ d1: string[]; r2: string[] }> {
  const r2: string[] = [];
  for (const part of await listParts(env.DB, accountId, null, null)) {
    for (const row of await readPart(env.USAGE_ARCHIVE, accountId, part)) r2.push(String(row[ID]));
  }
  return { d1: await d1Ids(accountId), r2: r2.sort() };
}

/** An archive run of one account's days before CUTOFF (at most 10). */
export const run = (
  accountId: string,
  hooks: ArchiveHooks = {},
  bucket: R2Bucket = env.USAGE_ARCHIVE,
) =>
  archiveOlderThan(
    env.DB,
    bucket,
    { cutoff: CUTOFF, accountId, dryRun: false, maxDays: 10 },
    NOW,
    hooks,
  );

/** The filter of every event of an account: no range, no who, what or tag. */
export function everyEventOf(accountId: string): UsageFilter {
  return {
    accountId,
    from: null,
    to: null,
    team: null,
    member: null,
    action: null,
    category: null,
    outcome: null,
    tags: [],
  };
}
