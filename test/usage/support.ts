/** Helpers of the usage API tests: reading every format, parsing CSV, making events. */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { AccountLedger } from "../../src/ledger/object";
import type { UsageEvent } from "../../src/usage/event";
import { insertUsageEvents } from "../../src/usage/flush";
import {
  bearer,
  call,
  enrichFresh,
  jsonCall,
  ledger,
  spend,
  type TestAccount,
} from "../support/api";

export type Row = Record<string, unknown>;

/** Every event of a query as JSON pages of `limit`, following nextCursor. */
export async function allPages(key: string, query: string, limit = 3): Promise<Row[]> {
  const out: Row[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10_000; page++) {
    const q: string = `${query}${query ? "&" : ""}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res: { status: number; body: { data: Row[]; nextCursor: string | null } } =
      await jsonCall<{ data: Row[]; nextCursor: string | null }>(`/v1/usage/events?${q}`, {
        headers: bearer(key),
      });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    out.push(...res.body.data);
    cursor = res.body.nextCursor;
    if (cursor === null) return out;
  }
  throw new Error("too many pages");
}

export async function exported(key: string, query: string, format: "csv" | "ndjson") {
  const res = await call(`/v1/usage/events?${query}${query ? "&" : ""}format=${format}`, {
    headers: bearer(key),
  });
  expect(res.status).toBe(200);
  return { res, text: await res.text() };
}

/** An RFC 4180 parser (quoted fields, doubled quotes, CRLF records), strict about shape. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (ch === '"') {
        quoted = false;
        i += 1;
      } else {
        field += ch;
        i += 1;
      }
    } else if (ch === '"' && field === "") {
      quoted = true;
      i += 1;
    } else if (ch === ",") {
      record.push(field);
      field = "";
      i += 1;
    } else if (ch === "\r" && text[i + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i += 2;
    } else {
      if (ch === "\n" || ch === "\r" || ch === '"')
        throw new Error(`bare ${JSON.stringify(ch)} at ${i}`);
      field += ch;
      i += 1;
    }
  }
  if (quoted || field !== "" || record.length > 0) throw new Error("CSV does not end with CRLF");
  return records;
}

/** CSV records as objects keyed by the header row. */
export function csvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new Error("no header row");
  return rows.map((r) => {
    expect(r).toHaveLength(header.length);
    return Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""]));
  });
}

/** Captured, voided and denied calls of one account, flushed to D1. */
export async function makeUsage(acct: TestAccount, extraMember?: { key: string }) {
  // Fresh records per call: dedupe charges every record of each call.
  for (const records of [1, 2, 3]) {
    expect((await enrichFresh(acct.memberKey, records)).status).toBe(200);
  }
  expect((await spend(acct.memberKey, "/v1/test/one", { "x-chaos-status": "500" })).status).toBe(
    500,
  );
  expect((await spend(acct.memberKey, "/v1/test/one")).status).toBe(200);
  // A core seat cannot use prospecting: a denial.
  expect(
    (await call("/v1/prospecting/intent?limit=2", { headers: bearer(acct.memberKey) })).status,
  ).toBe(403);
  if (extraMember) expect((await enrichFresh(extraMember.key, 4)).status).toBe(200);
  await ledger(acct.id).flush();
}

/** A second team, member and member key in the account. */
export async function secondMember(acct: TestAccount) {
  const auth = bearer(acct.adminKey);
  const team = await jsonCall<{ id: string }>("/v1/teams", {
    method: "POST",
    headers: auth,
    json: { name: "Ops" },
  });
  const member = await jsonCall<{ id: string }>("/v1/members", {
    method: "POST",
    headers: auth,
    json: { name: "Bo", teamId: team.body.id, seat: "core" },
  });
  const key = await jsonCall<{ key: string }>("/v1/keys", {
    method: "POST",
    headers: auth,
    json: { role: "member", memberId: member.body.id },
  });
  return { teamId: team.body.id, memberId: member.body.id, key: key.body.key };
}

let synthetic = 0;

/** Synthetic events written to D1 the way the ledger's flush writes them. */
export async function insertSynthetic(
  accountId: string,
  count: number,
  options: { seqFrom: number; at: (i: number) => string; periodStart?: string; credits?: number },
): Promise<UsageEvent[]> {
  const events: UsageEvent[] = [];
  for (let i = 0; i < count; i++) {
    synthetic += 1;
    events.push({
      id: `evt_syn_${synthetic.toString(36)}_${i}`,
      accountId,
      seq: options.seqFrom + i,
      occurredAt: options.at(i),
      periodStart: options.periodStart ?? "2026-11-01T00:00:00.000Z",
      requestId: `req-${i}`,
      teamId: "team_syn",
      memberId: "member_syn",
      keyId: "key_syn",
      action: "enrichment.company",
      category: "enrichment",
      outcome: "captured",
      reason: null,
      units: 1,
      credits: options.credits ?? 10,
      heldCredits: options.credits ?? 10,
      grants: "[]",
      purpose: null,
      idempotencyKey: null,
      upstreamStatus: 200,
      durationMs: 1,
      price: JSON.stringify({ credits: options.credits ?? 10 }),
      recordsCharged: 1,
      recordsSkipped: 0,
      creditsSaved: 0,
      tags: i % 2 === 0 ? '{"campaign":"q4"}' : null,
      recordKeys: `["${(i % 7).toString(16).padStart(32, "0")}"]`,
    });
  }
  for (let i = 0; i < events.length; i += 1000)
    await insertUsageEvents(env.DB, events.slice(i, i + 1000));
  return events;
}

/**
 * Many synthetic captured events in one SQL statement (a recursive CTE): for the streaming
 * test, where writing 200,000 events through JSON batches would take most of its time.
 */
export async function insertMany(
  accountId: string,
  count: number,
  options: { from: number; stepMs: number; credits: number },
): Promise<void> {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2)
     INSERT INTO usage_events (id, account_id, seq, occurred_at, period_start, request_id, team_id,
       member_id, key_id, action, category, outcome, reason, units, credits, held_credits, grants,
       purpose, idempotency_key, upstream_status, duration_ms)
     SELECT printf('evt_many_%s_%08d', ?1, i), ?1, i + 1,
       strftime('%Y-%m-%dT%H:%M:%fZ', (?3 + i * ?4) / 1000.0, 'unixepoch'),
       '2026-11-01T00:00:00.000Z', 'req-' || i, 'team_syn', 'member_syn', 'key_syn',
       'enrichment.company', 'enrichment', 'captured', NULL, 1, ?5, ?5, '[]', NULL, NULL, 200, 1
     FROM n`,
  )
    .bind(accountId, count, options.from, options.stepMs, options.credits)
    .run();
}

/** A flush whose D1 batch commits but whose answer is lost: D1 has the events, the outbox too. */
export async function lostAckFlush(accountId: string) {
  return runInDurableObject(ledger(accountId), async (instance: AccountLedger) => {
    const real = env.DB;
    const lossy = {
      prepare: (query: string) => real.prepare(query),
      batch: async (statements: D1PreparedStatement[]) => {
        await real.batch(statements);
        throw new Error("D1_ERROR: network connection lost");
      },
    };
    (instance as unknown as { env: unknown }).env = { ...env, DB: lossy };
    try {
      return await instance.flush();
    } finally {
      (instance as unknown as { env: unknown }).env = env;
    }
  });
}

/** Moves the account's events in D1 back in time, as if they had happened `days` earlier. */
export async function age(accountId: string, days: number) {
  await env.DB.prepare(
    "UPDATE usage_events SET occurred_at = strftime('%Y-%m-%dT%H:%M:%fZ', julianday(occurred_at) - ?) WHERE account_id = ?",
  )
    .bind(days, accountId)
    .run();
}
