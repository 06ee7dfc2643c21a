/** Test helpers that drive the real worker over HTTP, as a client would. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { AdmitRequest } from "../../src/ledger/contract";
import { sha256Hex } from "../../src/lib/hash";

export const OPERATOR = { authorization: "Bearer test-operator-token" };

let counter = 0;
/** A fresh account id per test, so tests never share a ledger. */
export function uniqueAccountId(prefix = "t"): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`https://gateway.test${path}`, init));
}

export async function jsonCall<T = Record<string, unknown>>(
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set("content-type", "application/json");
  const res = await call(path, {
    ...rest,
    headers,
    body: json === undefined ? rest.body : JSON.stringify(json),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

export interface TestAccount {
  id: string;
  adminKey: string;
  financeKey: string;
  teamId: string;
  memberId: string;
  memberKey: string;
}

/** Creates an account with a team, a member (seat `core` unless told) and admin/finance/member keys. */
export async function setupAccount(
  options: {
    plan?: "starter" | "professional" | "enterprise";
    seat?: "core" | "sales" | "service" | "none";
    id?: string;
    billingAnchorDay?: number;
  } = {},
): Promise<TestAccount> {
  const id = options.id ?? uniqueAccountId();
  const created = await jsonCall("/admin/v1/accounts", {
    method: "POST",
    headers: OPERATOR,
    json: {
      id,
      name: `Test ${id}`,
      plan: options.plan ?? "professional",
      billingAnchorDay: options.billingAnchorDay ?? 1,
    },
  });
  if (created.status !== 201)
    throw new Error(`account: ${created.status} ${JSON.stringify(created.body)}`);
  const admin = await jsonCall<{ key: string }>(`/admin/v1/accounts/${id}/keys`, {
    method: "POST",
    headers: OPERATOR,
    json: { role: "admin", name: "admin" },
  });
  const auth = { authorization: `Bearer ${admin.body.key}` };
  const finance = await jsonCall<{ key: string }>("/v1/keys", {
    method: "POST",
    headers: auth,
    json: { role: "finance" },
  });
  const team = await jsonCall<{ id: string }>("/v1/teams", {
    method: "POST",
    headers: auth,
    json: { name: "Sales" },
  });
  const member = await jsonCall<{ id: string }>("/v1/members", {
    method: "POST",
    headers: auth,
    json: { name: "Ada", teamId: team.body.id, seat: options.seat ?? "core" },
  });
  const memberKey = await jsonCall<{ key: string }>("/v1/keys", {
    method: "POST",
    headers: auth,
    json: { role: "member", memberId: member.body.id },
  });
  if (memberKey.status !== 201)
    throw new Error(`member key: ${memberKey.status} ${JSON.stringify(memberKey.body)}`);
  return {
    id,
    adminKey: admin.body.key,
    financeKey: finance.body.key,
    teamId: team.body.id,
    memberId: member.body.id,
    memberKey: memberKey.body.key,
  };
}

export function bearer(key: string) {
  return { authorization: `Bearer ${key}` };
}

/** The account's ledger object. */
export function ledger(accountId: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(accountId));
}

/** Issues a grant through the operator API. */
export async function grant(
  accountId: string,
  amount: number,
  extra: Record<string, unknown> = {},
) {
  const res = await jsonCall(`/admin/v1/accounts/${accountId}/grants`, {
    method: "POST",
    headers: OPERATOR,
    json: { amount, source: "pack", ...extra },
  });
  if (res.status !== 201) throw new Error(`grant: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * Calls the company enrichment action with `records` records, always the same ones (`c0.example`,
 * `c1.example`, ...): a call repeating an earlier one is the same body (idempotency), and with
 * dedupe its records already enriched are not charged again. Use `enrichFresh` for calls that
 * must each be charged in full.
 */
export function enrich(key: string, records: number, headers: Record<string, string> = {}) {
  return enrichRecords(key, sameDomains(records), headers);
}

/**
 * Calls the company enrichment action with `records` records never sent before (fresh domains),
 * so each call is charged for every record, whatever the account enriched earlier.
 */
export function enrichFresh(key: string, records: number, headers: Record<string, string> = {}) {
  return enrichRecords(key, freshDomains(records), headers);
}

/** Calls the company enrichment action with these records. */
export function enrichRecords(
  key: string,
  records: readonly unknown[],
  headers: Record<string, string> = {},
) {
  return call("/v1/enrichment/companies", {
    method: "POST",
    headers: { ...bearer(key), "content-type": "application/json", ...headers },
    body: JSON.stringify({ records }),
  });
}

/** `n` company records, always the same: `c0.example`, `c1.example`, ... */
export function sameDomains(n: number) {
  return Array.from({ length: n }, (_, i) => ({ domain: `c${i}.example` }));
}

let freshBatch = 0;

/**
 * `n` company records whose domains no earlier call of this module sent (a counter per batch):
 * dedupe charges each of them.
 */
export function freshDomains(n: number) {
  freshBatch += 1;
  return Array.from({ length: n }, (_, i) => ({ domain: `f${freshBatch}-${i}.example` }));
}

/** Reads the balance with a key. */
export async function balance(key: string) {
  const res = await jsonCall<{
    available: number;
    held: number;
    capturedThisPeriod: number;
    grants: unknown[];
  }>("/v1/balance", { headers: bearer(key) });
  return res.body;
}

/** Calls the app built with the test catalog (cheap, slow, metered and failing actions). */
export async function callTest(path: string, init: RequestInit = {}): Promise<Response> {
  const { testApp } = await import("./test-catalog");
  const ctx = createExecutionContext();
  const res = await testApp.fetch(new Request(`https://gateway.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** POSTs to a test-catalog action as a member. */
export function spend(
  key: string,
  path: string,
  headers: Record<string, string> = {},
  body = JSON.stringify({ records: [{ domain: "acme.example" }] }),
) {
  return callTest(path, {
    method: "POST",
    headers: { ...bearer(key), "content-type": "application/json", ...headers },
    body,
  });
}

/**
 * An admission of the test catalog's `test.one` (on_success) by the account's member key, for
 * tests that call the ledger object directly (holds never settled, settled late, ...).
 */
export async function admitTestOne(
  acct: TestAccount,
  requestId: string,
  holdCredits: number,
  idempotency: AdmitRequest["idempotency"] = null,
): Promise<AdmitRequest> {
  return {
    keyHash: await sha256Hex(acct.memberKey),
    requestId,
    action: {
      id: "test.one",
      category: "enrichment",
      plans: ["starter", "professional", "enterprise"],
      seat: null,
      settlement: "on_success",
      units: 1,
      holdCredits,
      price: { credits: holdCredits },
    },
    purpose: null,
    idempotency,
    dryRun: false,
  };
}

/** Usage events of an account in D1. */
export async function d1Events(accountId: string) {
  const { results } = await env.DB.prepare(
    "SELECT * FROM usage_events WHERE account_id = ? ORDER BY seq",
  )
    .bind(accountId)
    .all<{
      id: string;
      occurred_at: string;
      action: string;
      outcome: string;
      credits: number;
      reason: string | null;
      upstream_status: number | null;
    }>();
  return results;
}

/** An RFC 9457 problem body as the gateway sends it, with its common extras. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  requestId: string;
  action?: string;
  credits?: number;
  rule?: string;
  limit?: number;
  used?: number;
  remaining?: number;
  available?: number;
  [key: string]: unknown;
}
