/**
 * Reads an account's real state for the checks: the ledger's own SQLite tables (read inside the
 * object, never through its API, so a bug in a view cannot hide a bug in the books) and the
 * account's usage events in D1.
 */

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { AccountLedger } from "../../src/ledger/object";
import { SPEND_BY_SCOPE } from "../support/spend";

export interface RealGrant {
  id: string;
  seq: number;
  source: string;
  priority: number;
  amount: number;
  remaining: number;
  held: number;
  captured: number;
  expired: number;
  expires_at: number | null;
  period_start: number | null;
}

export interface RealHold {
  id: string;
  request_id: string;
  amount: number;
  allocations: string;
  period_start: number;
  expires_at: number;
  idempotency_key: string | null;
  /** With dedupe: what the hold took (group, window, key hashes, counts), as JSON; else null. */
  dedupe: string | null;
}

/** A row of the ledger's enriched records (issue 16): a key hash of a group. */
export interface RealDedupeKey {
  grp: string;
  record: string;
  enriched_at: number | null;
  hold_id: string | null;
  expires_at: number;
}

export interface RealCounter {
  period_start: number;
  scope: string;
  scope_id: string;
  captured: number;
  held: number;
}

export interface RealEntrySum {
  grant_id: string;
  kind: string;
  reason: string | null;
  total: number;
}

export interface RealIdem {
  key: string;
  state: string;
  outcome: string | null;
  expires_at: number;
}

/** A usage event as the outbox or D1 holds it, in the fields the checks read. */
export interface RealEvent {
  id: string;
  requestId: string;
  action: string;
  outcome: string;
  reason: string | null;
  credits: number;
  idempotencyKey: string | null;
  occurredAt: string;
  periodStart: string;
  upstreamStatus: number | null;
  units: number;
  /** Dedupe (issue 16); null on events of actions without it and on denials. */
  recordsCharged: number | null;
  recordsSkipped: number | null;
  creditsSaved: number | null;
  /** The key hashes of the records charged, as a JSON array; null as above. */
  recordKeys: string | null;
}

export interface RealState {
  account: { period_start: number | null; period_end: number | null; plan: string };
  grants: RealGrant[];
  holds: RealHold[];
  counters: RealCounter[];
  entries: RealEntrySum[];
  idempotency: RealIdem[];
  outbox: RealEvent[];
  d1: RealEvent[];
  dedupeKeys: RealDedupeKey[];
  alarm: number | null;
}

function rows<T>(sql: SqlStorage, query: string): T[] {
  return sql
    .exec(query)
    .toArray()
    .map((r) => ({ ...r }) as T);
}

/**
 * Reads the ledger's tables, and installs the simulation's clock on the instance: this is the
 * first thing every step's check does, so an instance that an eviction replaced never runs an
 * operation on wall-clock time.
 */
export async function readLedger(
  stub: DurableObjectStub<AccountLedger>,
  clock: () => number,
): Promise<Omit<RealState, "d1">> {
  return runInDurableObject(stub, async (instance: AccountLedger, state) => {
    instance.clock = clock;
    const sql = state.storage.sql;
    const account = rows<RealState["account"]>(
      sql,
      "SELECT period_start, period_end, plan FROM account",
    )[0];
    if (!account) throw new Error("the ledger has no account");
    return {
      account,
      grants: rows<RealGrant>(
        sql,
        "SELECT id, seq, source, priority, amount, remaining, held, captured, expired, expires_at, period_start FROM grants ORDER BY seq",
      ),
      holds: rows<RealHold>(
        sql,
        "SELECT id, request_id, amount, allocations, period_start, expires_at, idempotency_key, dedupe FROM holds",
      ),
      counters: rows<RealCounter>(sql, SPEND_BY_SCOPE),
      entries: rows<RealEntrySum>(
        sql,
        "SELECT grant_id, kind, reason, SUM(amount) AS total FROM entries GROUP BY grant_id, kind, reason",
      ),
      idempotency: rows<RealIdem>(sql, "SELECT key, state, outcome, expires_at FROM idempotency"),
      outbox: rows<{ id: string; payload: string }>(
        sql,
        "SELECT id, payload FROM outbox ORDER BY seq",
      ).map((r) => JSON.parse(r.payload) as RealEvent),
      dedupeKeys: rows<RealDedupeKey>(
        sql,
        "SELECT grp, record, enriched_at, hold_id, expires_at FROM dedupe_keys ORDER BY grp, record",
      ),
      alarm: await state.storage.getAlarm(),
    };
  });
}

/** The account's usage events in D1. */
export async function readD1(accountId: string): Promise<RealEvent[]> {
  const { results } = await env.DB.prepare(
    `SELECT id, request_id AS requestId, action, outcome, reason, credits, idempotency_key AS idempotencyKey,
       occurred_at AS occurredAt, period_start AS periodStart, upstream_status AS upstreamStatus,
       units, records_charged AS recordsCharged, records_skipped AS recordsSkipped,
       credits_saved AS creditsSaved, record_keys AS recordKeys
     FROM usage_events WHERE account_id = ? ORDER BY seq`,
  )
    .bind(accountId)
    .all<RealEvent>();
  return results;
}

/** The ledger's tables and D1's events, read after a step. */
export async function readState(
  stub: DurableObjectStub<AccountLedger>,
  accountId: string,
  clock: () => number,
): Promise<RealState> {
  const ledger = await readLedger(stub, clock);
  return { ...ledger, d1: await readD1(accountId) };
}
