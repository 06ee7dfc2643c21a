export type { ProblemBody } from "../support/api";

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { DEFAULT_TEAM_RULES, type TeamRules } from "../../src/ledger/core/rules";
import type { AccountLedger } from "../../src/ledger/object";
import type { ProblemBody } from "../support/api";
import { bearer, callTest, ledger, OPERATOR, spend, type TestAccount } from "../support/api";
/**
 * Helpers for the rules and budgets tests (issue 3). Everything goes through the app built with
 * the test catalog (`callTest`), so the cheap `test.*` actions are priced, quotable and cappable.
 */
import { SPEND_BY_SCOPE } from "../support/spend";

export interface ApiResult<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** A management call through the test-catalog app, as the operator or with an account key. */
export async function api<T = Record<string, unknown>>(
  path: string,
  init: { method?: string; key?: string; operator?: boolean; json?: unknown } = {},
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = init.operator
    ? { ...OPERATOR }
    : init.key
      ? bearer(init.key)
      : {};
  if (init.json !== undefined) headers["content-type"] = "application/json";
  const res = await callTest(path, {
    method: init.method ?? "GET",
    headers,
    body: init.json === undefined ? null : JSON.stringify(init.json),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

/** Replaces a team's rules: the defaults (no limits) plus `rules`. */
export async function putRules(acct: TestAccount, teamId: string, rules: Partial<TeamRules>) {
  const res = await api<TeamRules>(`/v1/teams/${teamId}/rules`, {
    method: "PUT",
    key: acct.adminKey,
    json: { ...DEFAULT_TEAM_RULES, ...rules },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** The operator's PATCH of an account (name, plan, overage, monthlySpendCap, rolloverCap, actionCaps). */
export async function patchAccount(accountId: string, body: Record<string, unknown>) {
  const res = await api<{ policy: Record<string, unknown> }>(`/admin/v1/accounts/${accountId}`, {
    method: "PATCH",
    operator: true,
    json: body,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

export async function addTeam(acct: TestAccount, name: string): Promise<string> {
  const res = await api<{ id: string }>("/v1/teams", {
    method: "POST",
    key: acct.adminKey,
    json: { name },
  });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** Creates a member in a team and a member key for it. */
export async function addMember(
  acct: TestAccount,
  teamId: string,
  name = "Member",
  seat: "core" | "sales" | "service" | "none" = "core",
): Promise<{ id: string; key: string; keyId: string }> {
  const member = await api<{ id: string }>("/v1/members", {
    method: "POST",
    key: acct.adminKey,
    json: { name, teamId, seat },
  });
  expect(member.status, JSON.stringify(member.body)).toBe(201);
  const key = await api<{ id: string; key: string }>("/v1/keys", {
    method: "POST",
    key: acct.adminKey,
    json: { role: "member", memberId: member.body.id },
  });
  expect(key.status, JSON.stringify(key.body)).toBe(201);
  return { id: member.body.id, key: key.body.key, keyId: key.body.id };
}

/** test.one: 1 credit, on_success. */
export const one = (key: string, headers: Record<string, string> = {}) =>
  spend(key, "/v1/test/one", headers);
/** test.drain: `credits` credits, on_request (category ai). */
export const drain = (key: string, credits: number) =>
  spend(key, `/v1/test/drain?credits=${credits}`);
/** prospecting.intent: professional plan and a sales seat, 10 credits per result. */
export const intent = (key: string) =>
  callTest("/v1/prospecting/intent?limit=1", { headers: bearer(key) });

/** Asserts a refusal: status, problem+json, code and rule, nothing charged. Returns the body. */
export async function expectDenied(
  res: Response,
  status: number,
  code: string,
  rule: string,
): Promise<ProblemBody> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(res.headers.get("x-credits-charged")).toBe("0");
  const body = JSON.parse(text) as ProblemBody;
  expect(body).toMatchObject({ status, code, rule });
  expect(body.requestId).toBe(res.headers.get("x-request-id"));
  return body;
}

/** Asserts an admitted call answered 200 and charged `credits`. */
export async function expectAdmitted(res: Response, credits = 1) {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get("x-credits-charged")).toBe(String(credits));
}

/** Nothing held, and `captured` credits captured this period. */
export async function expectNothingHeld(acct: TestAccount, captured: number) {
  const b = await balanceOf(acct.adminKey);
  expect({ held: b.held, capturedThisPeriod: b.capturedThisPeriod }).toEqual({
    held: 0,
    capturedThisPeriod: captured,
  });
}

export interface Spend {
  captured: number;
  held: number;
}

export async function teamSpend(acct: TestAccount, teamId: string): Promise<Spend> {
  const res = await api<{ spend: Spend }>(`/v1/teams/${teamId}`, { key: acct.adminKey });
  expect(res.status).toBe(200);
  return res.body.spend;
}

export interface BalanceBody {
  available: number;
  held: number;
  capturedThisPeriod: number;
  overage: { policy: string; limit: number; used: number; available: number };
  period: { start: string; end: string };
  grants: { source: string; amount: number; remaining: number; held: number }[];
}

export async function balanceOf(key: string): Promise<BalanceBody> {
  const res = await api<BalanceBody>("/v1/balance", { key });
  expect(res.status).toBe(200);
  return res.body;
}

export interface EventRow {
  id: string;
  action: string;
  outcome: string;
  reason: string | null;
  credits: number;
  held_credits: number;
  team_id: string | null;
  member_id: string | null;
  purpose: string | null;
  period_start: string;
}

/** Flushes the ledger's outbox and returns the account's usage events in D1. */
export async function flushedEvents(accountId: string): Promise<EventRow[]> {
  const flushed = await ledger(accountId).flush();
  expect(flushed.error).toBeNull();
  const { results } = await env.DB.prepare(
    "SELECT * FROM usage_events WHERE account_id = ? ORDER BY seq",
  )
    .bind(accountId)
    .all<EventRow>();
  return results;
}

/** The D1 events show exactly `count` denials with this code, each of 0 credits. */
export async function expectDeniedEvents(accountId: string, code: string, count: number) {
  const events = await flushedEvents(accountId);
  const denied = events.filter((e) => e.outcome === "denied");
  expect(denied.map((e) => e.reason)).toEqual(Array(count).fill(code));
  expect(denied.every((e) => e.credits === 0)).toBe(true);
  return events;
}

export interface CounterRow {
  period_start: number;
  scope: string;
  scope_id: string;
  captured: number;
  held: number;
}

/** The ledger's per-period spend by scope: its captured counters and its holds in flight. */
export async function counters(accountId: string): Promise<CounterRow[]> {
  return runInDurableObject(ledger(accountId), async (_: AccountLedger, state) =>
    state.storage.sql
      .exec<{
        period_start: number;
        scope: string;
        scope_id: string;
        captured: number;
        held: number;
      }>(SPEND_BY_SCOPE)
      .toArray()
      .map((r) => ({ ...r })),
  );
}

/** Moves the ledger's clock `offsetMs` ahead of real time (for rate windows). */
export async function shiftClock(accountId: string, offsetMs: number) {
  await runInDurableObject(ledger(accountId), async (instance: AccountLedger) => {
    instance.clock = () => Date.now() + offsetMs;
  });
}

/** Polls until `check` holds, or fails after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("condition not reached in time");
}
