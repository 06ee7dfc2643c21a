/**
 * Sends a generated proxy call and judges it. A call is either refused (4xx problem+json,
 * nothing forwarded, nothing charged, the ledger unchanged but for the one usage event a
 * ledger denial records), quoted (dry run: nothing forwarded or changed), or forwarded once to
 * the upstream path of the action it was priced as, charged exactly that action's price for
 * what the upstream received, with the credential and caller headers the gateway adds and none
 * of the client's hop-by-hop, override or forged ones. 5xx only where the case made the
 * upstream fail.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Action } from "../../src/catalog";
import { normalizeRecordKey } from "../../src/lib/records";
import { ledger } from "../support/api";
import {
  actionAtUpstreamPath,
  expectProblem,
  fuzzCatalog,
  ledgerState,
  type Rows,
  send,
  upstreamCount,
  upstreamLog,
} from "./harness";
import { ANY_ACTION, type ProxyCase, unitSource } from "./proxy-case";
import { callerOf, type ProxyFixture, requestOf } from "./proxy-request";

/** Credits for `units` of an action: flat, or per started block of `per` units (SPEC §2). */
export function priceOf(action: Action, units: number): number {
  if (!("unit" in action.price)) return action.price.credits;
  return Math.ceil(units / action.price.per) * action.price.credits;
}

/**
 * What dedupe (issue 16) makes of a call's records: every record without a key (or with a blank
 * one), and the first record of each key, are charged and forwarded in their order; a later record
 * whose key normalizes like an earlier one is a repeat, skipped. Generated keys are fresh per call
 * (FRESH_RECORD), so no record was enriched by an earlier call: these are all the skips.
 */
function dedupedRecords(
  action: Action,
  items: readonly unknown[],
): { kept: unknown[]; repeats: { index: number; firstIndex: number }[] } {
  const key = action.dedupe?.key;
  if (key === undefined) return { kept: [...items], repeats: [] };
  const first = new Map<string, number>();
  const kept: unknown[] = [];
  const repeats: { index: number; firstIndex: number }[] = [];
  items.forEach((item, index) => {
    const raw =
      typeof item === "object" && item !== null && !Array.isArray(item) && Object.hasOwn(item, key)
        ? (item as Record<string, unknown>)[key]
        : undefined;
    const normalized = typeof raw === "string" ? normalizeRecordKey(raw) : null;
    const firstIndex = normalized === null ? undefined : first.get(normalized);
    if (firstIndex !== undefined) {
      repeats.push({ index, firstIndex });
      return;
    }
    if (normalized !== null) first.set(normalized, index);
    kept.push(item);
  });
  return { kept, repeats };
}

/** The records of a body-priced call as the client sent them (JSON.parse: the last duplicate key). */
function sentRecords(action: Action, bytes: Uint8Array | null): unknown[] {
  const unit = unitSource(action);
  if (unit?.from !== "body") return [];
  const json = JSON.parse(new TextDecoder().decode(bytes ?? new Uint8Array())) as Record<
    string,
    unknown
  >;
  const items = json[unit.field];
  return Array.isArray(items) ? items : [];
}

/** Units a metered upstream reported, read as the spec says: digits only, at most 10^9. */
function reportedUnits(header: string | null): number | null {
  if (header === null || !/^[0-9]{1,10}$/.test(header) || Number(header) > 1e9) return null;
  return Number(header);
}

interface Echo {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string>;
  body: string;
}

/** Headers the gateway must never pass to the upstream. */
const NEVER_FORWARDED = [
  "keep-alive",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-connection",
  "cookie",
  "x-credit-dry-run",
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
];

/** Whether a client header should reach the upstream as it was sent. */
function passesThrough(name: string, connectionListed: readonly string[]): boolean {
  return !(
    NEVER_FORWARDED.includes(name) ||
    connectionListed.includes(name) ||
    ["authorization", "connection", "content-length", "host", "transfer-encoding"].includes(name) ||
    name.startsWith("x-creditgate-") ||
    name.startsWith("cf-")
  );
}

function grantTotals(state: Record<string, Rows | number>) {
  const grants = (state.grants ?? []) as Rows;
  const sum = (k: string) => grants.reduce((s, g) => s + Number(g[k] ?? 0), 0);
  return { remaining: sum("remaining"), held: sum("held"), captured: sum("captured") };
}

/** The usage event of a request, in the outbox or (if the alarm already flushed it) in D1. */
async function eventOf(
  accountId: string,
  requestId: string,
): Promise<Record<string, unknown> | null> {
  const waiting = await runInDurableObject(ledger(accountId), (_o, state) =>
    state.storage.sql
      .exec<{ payload: string }>("SELECT payload FROM outbox")
      .toArray()
      .map((r) => JSON.parse(r.payload) as Record<string, unknown>)
      .find((e) => e.requestId === requestId),
  );
  if (waiting) return waiting;
  const row = await env.DB.prepare(
    "SELECT outcome, reason, credits FROM usage_events WHERE request_id = ?",
  )
    .bind(requestId)
    .first<Record<string, unknown>>();
  return row;
}

export type Verdict = "refused" | "quoted" | "forwarded";

/** Sends a case and checks every oracle; returns what happened to it. */
export async function judge(c: ProxyCase, f: ProxyFixture): Promise<Verdict> {
  const intended = fuzzCatalog.action(c.action);
  if (!intended && c.action !== ANY_ACTION) throw new Error(`unknown action ${c.action}`);
  const { request, bytes } = requestOf(c, f);
  const method = request.method;
  const dryRun = request.headers.get("x-credit-dry-run") === "true";
  const staticPath =
    !intended || intended.upstreamPath.includes(":") ? null : intended.upstreamPath;
  const before = await ledgerState(f.accountId);
  const countBefore = staticPath ? await upstreamCount(staticPath) : 0;
  upstreamLog.length = 0;
  const res = await send(request);
  const text = await res.text();
  const sent = [...upstreamLog];
  const after = await ledgerState(f.accountId);
  const requestId = res.headers.get("x-request-id") ?? "";
  const why = `${res.status} ${text.slice(0, 300)}`;

  // The 5xx a case may get: what it steered the upstream to answer, 502 when the upstream threw
  // or the client's body broke on the way, 504 when it hung (or a tight timeout met a busy machine).
  const failure: number[] = [];
  if (c.steer.kind === "status" && c.steer.status >= 500) failure.push(c.steer.status);
  if (c.steer.kind === "throw" || c.framing.kind === "broken") failure.push(502);
  if (c.steer.kind === "timeout" || (intended && intended.timeoutMs < 1000)) failure.push(504);
  if (res.status >= 500) expect(failure, `an unexpected ${why}`).toContain(res.status);

  if (sent.length === 0) {
    if (staticPath) expect(await upstreamCount(staticPath)).toBe(countBefore);
    if (dryRun && res.status === 200 && intended) {
      expect(c.spoils, `quoted a call the spec refuses: ${why}`).toEqual([]);
      const quote = JSON.parse(text) as { dryRun: boolean; action: string; credits: number };
      expect(quote).toMatchObject({ dryRun: true, action: c.action });
      expect(res.headers.get("x-credits-charged")).toBe("0");
      expect(quote.credits).toBe(holdFor(intended, request.url, bytes));
      expect(after, "a dry run changed the ledger").toEqual(before);
      return "quoted";
    }
    expect(c.plain && !dryRun, `refused a plain call: ${why}`).toBe(false);
    const code = expectProblem(res, text, method);
    expect(res.headers.get("x-credits-charged") ?? "0").toBe("0");
    const written = Number(after.eventsWritten) - Number(before.eventsWritten);
    if (written === 1) {
      // A denial by the ledger is recorded as a usage event (I5), and that is all it changes.
      expect(await eventOf(f.accountId, requestId)).toMatchObject({
        outcome: "denied",
        reason: code ?? expect.any(String),
        credits: 0,
      });
      expect({ ...after, eventsWritten: before.eventsWritten }).toEqual(before);
    } else expect(after, "a refused call changed the ledger").toEqual(before);
    return "refused";
  }

  expect(c.spoils, `forwarded a call the spec refuses: ${why}`).toEqual([]);
  expect(dryRun, "forwarded a dry run").toBe(false);
  expect(sent).toHaveLength(1);
  const target = new URL(sent[0]?.url ?? "http://x/");
  const action = actionAtUpstreamPath(target.pathname);
  expect(action, `forwarded to ${target.pathname}, which no action prices`).toBeDefined();
  if (intended) expect(action?.id, "forwarded as another action").toBe(intended.id);
  if (!action) return "forwarded";
  expect(sent[0]?.method).toBe(action.method);
  expect(res.headers.get("x-credits-action")).toBe(action.id);
  if (staticPath === target.pathname) {
    expect(await upstreamCount(staticPath)).toBe(countBefore + 1);
  }

  let charge: number;
  if (c.steer.kind === "echo" && res.status === 200) {
    const echo = JSON.parse(text) as Echo;
    // A body stream that broke reaches the upstream cut short: only its price is checked.
    const whole = c.framing.kind === "broken" ? null : bytes;
    checkForwarded(echo, request, res, action, f, c, whole);
    if (action.dedupe && whole) checkDeduped(echo, res, action, whole);
    charge = priceOf(action, unitsReceived(action, echo, res));
  } else {
    // The upstream failed: on_request was charged at admission, the others are charged 0 (I4).
    if (!(c.steer.kind === "status" && res.status === c.steer.status)) {
      expect(failure, why).toContain(res.status);
      expectProblem5xx(res, text);
    }
    charge = action.settlement === "on_request" ? priceOf(action, 1) : 0;
  }
  expect(res.headers.get("x-credits-charged"), why).toBe(String(charge));
  const [was, now] = [grantTotals(before), grantTotals(after)];
  expect(now.captured - was.captured, "captured credits").toBe(charge);
  expect(was.remaining - now.remaining, "credits taken from grants").toBe(charge);
  expect(now.held - was.held, "credits left held").toBe(0);
  return "forwarded";
}

/**
 * With dedupe, the upstream received exactly the records charged (each key's first record and
 * those without a key, in order), and the answer says which were skipped as repeats of which.
 */
function checkDeduped(echo: Echo, res: Response, action: Action, bytes: Uint8Array) {
  const unit = unitSource(action);
  if (unit?.from !== "body") return;
  const items = sentRecords(action, bytes);
  const { kept, repeats } = dedupedRecords(action, items);
  const forwarded = (JSON.parse(echo.body) as Record<string, unknown>)[unit.field];
  expect(forwarded, "the upstream must receive each key's first record, in order").toEqual(kept);
  expect(res.headers.get("x-credits-records-charged")).toBe(String(kept.length));
  expect(res.headers.get("x-credits-records-skipped")).toBe(String(repeats.length));
  expect(res.headers.get("x-credits-skipped")).toBe(
    repeats.length === 0
      ? null
      : repeats.map((r) => `${r.index};repeat-of=${r.firstIndex}`).join(", "),
  );
}

/** A 502 or 504 the gateway answers for a failed upstream: problem+json like any refusal. */
function expectProblem5xx(res: Response, text: string) {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = JSON.parse(text) as Record<string, unknown>;
  const code = res.status === 504 ? "gateway_timeout" : "bad_gateway";
  expect(body).toMatchObject({
    type: `/problems/${code.replaceAll("_", "-")}`,
    status: res.status,
    code,
    requestId: res.headers.get("x-request-id"),
  });
}

/** The units of what the upstream received (metered: what it reported, else the estimate). */
function unitsReceived(action: Action, echo: Echo, res: Response): number {
  const unit = unitSource(action);
  if (!unit || !("unit" in action.price)) return 1;
  switch (unit.from) {
    case "body": {
      const json = JSON.parse(echo.body) as Record<string, unknown>;
      const items = json[unit.field];
      expect(Array.isArray(items), "forwarded body lost its priced array").toBe(true);
      return Array.isArray(items) ? items.length : 0;
    }
    case "query":
      return Number(new URLSearchParams(echo.search).get(unit.param));
    case "response_header":
      return reportedUnits(res.headers.get("x-usage-units")) ?? action.price.maxUnits;
  }
}

/** The hold a dry run quotes, from the request as the client sent it. */
function holdFor(action: Action, requestUrl: string, bytes: Uint8Array | null): number {
  const unit = unitSource(action);
  if (!unit || !("unit" in action.price)) return priceOf(action, 1);
  if (unit.from === "response_header") return priceOf(action, action.price.maxUnits);
  if (unit.from === "query") {
    return priceOf(action, Number(new URL(requestUrl).searchParams.get(unit.param)));
  }
  // With dedupe, a record repeating an earlier one's key is not charged.
  return priceOf(action, dedupedRecords(action, sentRecords(action, bytes)).kept.length);
}

/** What the upstream received: the client's request, cleaned, plus who is calling (SPEC §3.4). */
function checkForwarded(
  echo: Echo,
  request: Request,
  res: Response,
  action: Action,
  f: ProxyFixture,
  c: ProxyCase,
  bytes: Uint8Array | null,
) {
  const sentUrl = new URL(request.url);
  expect(echo.method).toBe(action.method);
  expect(echo.search, "the query must reach the upstream unchanged").toBe(sentUrl.search);
  const h = echo.headers;
  expect(h.authorization, "the upstream credential replaces the client's").toBe(
    "Bearer test-upstream-secret",
  );
  const caller = callerOf(c, f);
  expect({
    account: h["x-creditgate-account"],
    team: h["x-creditgate-team"],
    member: h["x-creditgate-member"],
    requestId: h["x-creditgate-request-id"],
  }).toEqual({
    account: f.accountId,
    team: f.teamId,
    member: caller?.memberId,
    requestId: res.headers.get("x-request-id"),
  });
  const gatewayOwn = ["account", "team", "member", "request-id"].map((n) => `x-creditgate-${n}`);
  expect(
    Object.keys(h).filter((n) => n.startsWith("x-creditgate-") && !gatewayOwn.includes(n)),
  ).toEqual([]);
  const listed = (request.headers.get("connection") ?? "")
    .split(",")
    .map((t) => t.trim().toLowerCase());
  for (const name of [...NEVER_FORWARDED, ...listed.filter((n) => n && n !== "keep-alive")]) {
    expect(h, `${name} reached the upstream`).not.toHaveProperty(name);
  }
  const secret = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
  if (secret.startsWith("cg_")) expect(JSON.stringify(echo)).not.toContain(secret.slice(-32));
  expect(res.headers.get("x-credits-replayed")).toBeNull();

  // Every other header of the client's arrives as sent.
  for (const [name, value] of request.headers) {
    if (!passesThrough(name, listed)) continue;
    expect(h[name], `${name} did not reach the upstream`).toBe(value);
  }

  const unit = unitSource(action);
  if (unit?.from !== "body" && bytes) {
    expect(echo.body, "an unpriced body must reach the upstream unchanged").toBe(
      new TextDecoder().decode(bytes),
    );
  }
  if (unit?.from === "body") {
    // Forward exactly what was priced, in a form every JSON parser reads the same way (I7).
    const json = JSON.parse(echo.body) as Record<string, unknown>;
    expect(JSON.stringify(json), "forwarded body is not canonical JSON").toBe(echo.body);
    const lookalikes = Object.keys(json).filter(
      (k) => k.toLowerCase() === unit.field.toLowerCase(),
    );
    expect(lookalikes).toEqual([unit.field]);
  }
  if (unit?.from === "query") {
    const names = [...new URLSearchParams(echo.search).keys()];
    expect(names.filter((k) => k.toLowerCase() === unit.param.toLowerCase())).toEqual([unit.param]);
  }
}
