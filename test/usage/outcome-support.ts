/** Helpers of the tags, outcomes and attribution tests: tagged calls, outcomes, synthetic events. */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { recordKeyHash } from "../../src/lib/records";
import type { Measures } from "../../src/usage/attribution";
import type { UsageEvent } from "../../src/usage/event";
import { insertUsageEvents } from "../../src/usage/flush";
import { bearer, call, jsonCall } from "../support/api";

export const DAY = 86_400_000;

/** Company enrichment of these domains, with extra headers (X-Credit-Tags, ...). */
export function enrichDomains(
  key: string,
  domains: readonly string[],
  headers: Record<string, string> = {},
) {
  return call("/v1/enrichment/companies", {
    method: "POST",
    headers: { ...bearer(key), "content-type": "application/json", ...headers },
    body: JSON.stringify({ records: domains.map((domain) => ({ domain })) }),
  });
}

let unique = 0;
/** Domains no other call of these tests sent. */
export function freshDomains(n: number): string[] {
  unique += 1;
  const run = Math.random().toString(36).slice(2, 8);
  return Array.from({ length: n }, (_, i) => `o${run}${unique}-${i}.example`);
}

export interface Attribution {
  groupBy: string;
  windowDays: number;
  groups: (Record<string, unknown> & Measures)[];
  totals: Measures;
  unattributed: { outcomes: number; outcomeValue: number } | null;
}

export async function attribution(key: string, query: string) {
  return jsonCall<Attribution>(`/v1/usage/attribution?${query}`, { headers: bearer(key) });
}

export function reportOutcome(key: string, body: Record<string, unknown>) {
  return jsonCall<Record<string, unknown>>("/v1/outcomes", {
    method: "POST",
    headers: bearer(key),
    json: body,
  });
}

/** The account's outcome rows in D1. */
export async function outcomeRows(accountId: string) {
  const { results } = await env.DB.prepare(
    "SELECT * FROM outcomes WHERE account_id = ? ORDER BY id",
  )
    .bind(accountId)
    .all<Record<string, unknown>>();
  return results;
}

/** The account's usage_records rows in D1, ordered. */
export async function recordRows(accountId: string) {
  const { results } = await env.DB.prepare(
    "SELECT record_key, occurred_at, event_id FROM usage_records WHERE account_id = ? ORDER BY event_id, record_key",
  )
    .bind(accountId)
    .all<{ record_key: string; occurred_at: string; event_id: string }>();
  return results;
}

/** The hash a record key has in this account (as dedupe and outcomes store it). */
export function hashOf(accountId: string, key: string): Promise<string> {
  return recordKeyHash(accountId, key);
}

let seq = 1_000_000;

/** A captured call, as the ledger's flush writes it; override any field. */
export function syntheticEvent(
  accountId: string,
  fields: Partial<UsageEvent> & { occurredAt: string },
): UsageEvent {
  seq += 1;
  return {
    id: `evt_att_${accountId}_${seq}`,
    accountId,
    seq,
    periodStart: "2026-01-01T00:00:00.000Z",
    requestId: `req_att_${seq}`,
    teamId: "team_att",
    memberId: "member_att",
    keyId: "key_att",
    action: "enrichment.company",
    category: "enrichment",
    outcome: "captured",
    reason: null,
    units: 1,
    credits: 10,
    heldCredits: 10,
    grants: "[]",
    purpose: null,
    idempotencyKey: null,
    upstreamStatus: 200,
    durationMs: 1,
    price: JSON.stringify({ credits: 10 }),
    recordsCharged: 1,
    recordsSkipped: 0,
    creditsSaved: 0,
    tags: null,
    recordKeys: null,
    ...fields,
  };
}

/** Writes events to D1 through the flush's own insert. */
export async function insertEvents(events: readonly UsageEvent[]): Promise<void> {
  await insertUsageEvents(env.DB, events);
}

/** An ISO time `days` days (and `ms` milliseconds) before `at`. */
export function daysBefore(at: string, days: number, ms = 0): string {
  return new Date(Date.parse(at) - days * DAY - ms).toISOString();
}

/** The one group whose field `field` is `value`. */
export function groupWhere<T extends Record<string, unknown>>(
  groups: readonly T[],
  field: string,
  value: unknown,
): T {
  const found = groups.filter((g) => g[field] === value);
  expect(found, `${field}=${String(value)} in ${JSON.stringify(groups)}`).toHaveLength(1);
  return found[0] as T;
}
