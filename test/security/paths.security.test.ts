/**
 * I7 Price integrity: no encoding, dot segment, case, method or body trick gets a request to an
 * upstream path unpriced or cheaper. Every spelling either gets a 4xx problem with nothing
 * forwarded and nothing charged, or reaches exactly the priced upstream path at its price.
 *
 * Most cases run the real app (`createApp`) with the demo catalog's routes and prices, whose
 * upstream paths carry a prefix of this file's own: the chaos upstream counts requests per path
 * and per isolate, so other files calling the demo catalog cannot move these counts. A spy in
 * front of the upstream binding also records every request the gateway sends, whatever its path.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { balance, bearer, call, jsonCall, setupAccount, type TestAccount } from "../support/api";
import { demoCatalogWith } from "../support/test-catalog";

const PREFIX = "/paths-security";
const FORGED_PATH = "/forged-credits";

const catalog = demoCatalogWith(
  {
    upstreams: [
      { id: "forger", binding: "FORGER" },
      {
        // The same service behind another credential header, so the client's Authorization
        // cannot hide behind the injected credential overwriting it.
        id: "keyed",
        binding: "DEMO_UPSTREAM",
        credential: { header: "X-Api-Key", secretEnv: "DEMO_UPSTREAM_TOKEN" },
      },
    ],
    actions: [
      {
        id: "test.one",
        name: "One credit",
        category: "enrichment",
        method: "POST",
        path: "/v1/test/one",
        upstream: "demo",
        upstreamPath: `${PREFIX}/test/one`,
        price: { credits: 1 },
      },
      {
        id: "test.keyed",
        name: "Upstream with an X-Api-Key credential",
        category: "insights",
        method: "POST",
        path: "/v1/test/keyed",
        upstream: "keyed",
        upstreamPath: `${PREFIX}/test/keyed`,
        price: { credits: 2 },
      },
      {
        id: "test.forged",
        name: "Upstream that forges credit headers",
        category: "insights",
        method: "POST",
        path: "/v1/test/forged",
        upstream: "forger",
        upstreamPath: FORGED_PATH,
        price: { credits: 4 },
      },
    ],
    demoActions: (a) => ({
      ...a,
      upstreamPath: `${PREFIX}${a.upstreamPath}`,
    }),
  },
  "the path security configuration",
);
const app = createApp({ catalog });

/** Every request the gateway sent to an upstream, in order. */
const sent: { method: string; url: string }[] = [];

const spy = {
  fetch(input: Request | string, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    sent.push({ method: request.method, url: request.url });
    return env.DEMO_UPSTREAM.fetch(request);
  },
};

/** An upstream that answers 200 with credit headers of its own making. */
const forger = {
  async fetch(input: Request | string, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    sent.push({ method: request.method, url: request.url });
    return new Response(JSON.stringify({ ok: true }), {
      headers: {
        "content-type": "application/json",
        "x-credits-charged": "0",
        "x-credits-remaining": "999999",
        "x-credits-action": "free.lunch",
        "x-credits-replayed": "true",
        "x-request-id": "forged-request-id",
      },
    });
  },
};

const testEnv = { ...env, DEMO_UPSTREAM: spy, FORGER: forger } as unknown as Env;

async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://gateway.test${path}`, init), testEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** How many requests reached `path` on the chaos upstream. */
async function upstreamCount(path: string): Promise<number> {
  const res = await env.DEMO_UPSTREAM.fetch(
    `http://u/__chaos/count?path=${encodeURIComponent(path)}`,
  );
  return ((await res.json()) as { count: number }).count;
}

/** Every static upstream path of the catalog plus the ones the attacks aim at. */
const WATCHED = [
  ...new Set([
    ...catalog.actions.map((a) => a.upstreamPath).filter((p) => !p.includes(":")),
    `${PREFIX}/enrich/conversations`,
    `${PREFIX}/admin/v1/accounts`,
    `${PREFIX}/ai/agents/agent-7/conversations`,
    "/enrich/companies",
    "/admin/v1/accounts",
  ]),
];

async function counts(): Promise<Record<string, number>> {
  return Object.fromEntries(
    await Promise.all(WATCHED.map(async (p) => [p, await upstreamCount(p)])),
  );
}

interface Echo {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string>;
  body: string;
}

const ONE_RECORD = JSON.stringify({ records: [{ domain: "a.example" }] });

let recordsSent = 0;
/**
 * One record never sent before: with dedupe (enrichment.company is keyed by domain), a record
 * the account enriched already would be skipped, not charged and not forwarded.
 */
function freshRecord(): string {
  recordsSent += 1;
  return JSON.stringify({ records: [{ domain: `r${recordsSent}.example` }] });
}

type Outcome =
  | { refused: number | "4xx" }
  | { upstreamPath: string; method: string; charged: number };

interface Case {
  name: string;
  method: string;
  path: string;
  who?: "sales" | "core";
  headers?: Record<string, string>;
  body?: string;
  expect: Outcome;
}

const enrichAt = (path: string, outcome: Outcome, name = path): Case => ({
  name: `POST ${name}`,
  method: "POST",
  path,
  body: freshRecord(),
  expect: outcome,
});
const COMPANIES = { upstreamPath: `${PREFIX}/enrich/companies`, method: "POST", charged: 10 };

const CASES: Case[] = [
  // Spellings of the priced path: resolved once, forwarded to the template's path, full price.
  enrichAt("/v1/enrichment/companies", COMPANIES),
  enrichAt("/v1//enrichment/companies", COMPANIES),
  enrichAt("/v1/enrichment//companies", COMPANIES),
  enrichAt("/v1/enrichment/companies/", COMPANIES),
  enrichAt("/v1/enrichment/%63ompanies", COMPANIES),
  enrichAt("/v1/%65nrichment/companie%73", COMPANIES),
  enrichAt("/v1/enrichment/./companies", COMPANIES),
  enrichAt("/v1/test/one/../../enrichment/companies", COMPANIES),
  enrichAt("/v1/test/one/%2e%2e/%2E%2E/enrichment/companies", COMPANIES),
  enrichAt("/v1\\enrichment\\companies", COMPANIES, "/v1\\enrichment\\companies (backslashes)"),
  // Spellings a server could read differently, or another path: refused, nothing forwarded.
  enrichAt("/V1/Enrichment/Companies", { refused: 404 }),
  enrichAt("/v1/enrichment/COMPANIES", { refused: 404 }),
  enrichAt("/v1/enrichment/compan%C4%B1es", { refused: 404 }),
  enrichAt("/v1/enrichment/%EF%BD%83ompanies", { refused: 404 }),
  enrichAt("/v1/enrichment/companies%20", { refused: 404 }),
  enrichAt("/v1/enrichment/companies;x=1", { refused: 404 }),
  enrichAt("/v1/enrichment/companies/..", { refused: 404 }),
  enrichAt("/v1/%2e%2e/admin/v1/accounts", { refused: 401 }),
  enrichAt("/v1/enrichment%2fcompanies", { refused: 400 }),
  enrichAt("/v1/enrichment%2Fcompanies", { refused: 400 }),
  enrichAt("/v1/enrichment/companies%2f", { refused: 400 }),
  enrichAt("/v1/enrichment%5ccompanies", { refused: 400 }),
  enrichAt("/v1/enrichment%5Ccompanies", { refused: 400 }),
  enrichAt("/v1/enrichment/companies%00", { refused: 400 }),
  enrichAt("/v1/enrichment/companies%09", { refused: 400 }),
  enrichAt("/v1/enrichment/companies%0d%0a", { refused: 400 }),
  enrichAt("/v1/enrichment/%2563ompanies", { refused: 400 }),
  enrichAt("/v1/enrichment/companies%252f..", { refused: 400 }),
  enrichAt("/v1/enrichment/companies%", { refused: 400 }),
  enrichAt("/v1/enrichment/companies%zz", { refused: 400 }),
  enrichAt("/v1/enrichment/companies%c0%af", { refused: 400 }),
  enrichAt("/v1/enrichment/companies%ed%a0%80", { refused: 400 }),
  enrichAt("/v1/test/one%2f..%2f..%2fenrichment%2fcompanies", { refused: 400 }),
  enrichAt(`/v1/enrichment/companies/${"a/".repeat(1100)}`, { refused: 400 }, "a 2 KiB+ path"),
  // The parameterised route: a param is one plain segment, re-encoded into the template.
  {
    name: "POST /v1/ai/agents/agent-7/conversations",
    method: "POST",
    path: "/v1/ai/agents/agent-7/conversations",
    who: "core",
    body: "{}",
    expect: {
      upstreamPath: `${PREFIX}/ai/agents/agent-7/conversations`,
      method: "POST",
      charged: 100,
    },
  },
  {
    name: "POST /v1/ai/agents/%61gent-7/conversations",
    method: "POST",
    path: "/v1/ai/agents/%61gent-7/conversations",
    who: "core",
    body: "{}",
    expect: {
      upstreamPath: `${PREFIX}/ai/agents/agent-7/conversations`,
      method: "POST",
      charged: 100,
    },
  },
  ...[
    "/v1/ai/agents/..%2f..%2fenrich/conversations",
    "/v1/ai/agents/..%2F..%2Fenrich%2Fcompanies/conversations",
    "/v1/ai/agents/..%5c..%5cenrich/conversations",
    "/v1/ai/agents/%252e%252e/conversations",
    "/v1/ai/agents/a%00/conversations",
  ].map(
    (path): Case => ({
      name: `POST ${path}`,
      method: "POST",
      path,
      who: "core",
      body: "{}",
      expect: { refused: 400 },
    }),
  ),
  ...["/v1/ai/agents/%2e%2e/conversations", "/v1/ai/agents/a%20b/conversations"].map(
    (path): Case => ({
      name: `POST ${path}`,
      method: "POST",
      path,
      who: "core",
      body: "{}",
      expect: { refused: 404 },
    }),
  ),
  // Methods: only the catalog's method of a path is priced; others are refused.
  ...["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE", "PROPFIND"].map(
    (method): Case => ({
      name: `${method} /v1/enrichment/companies`,
      method,
      path: "/v1/enrichment/companies",
      body: method === "GET" || method === "HEAD" ? undefined : ONE_RECORD,
      expect: { refused: 405 },
    }),
  ),
  ...["HEAD", "POST", "OPTIONS"].map(
    (method): Case => ({
      name: `${method} /v1/prospecting/intent?limit=1`,
      method,
      path: "/v1/prospecting/intent?limit=1",
      body: method === "POST" ? "{}" : undefined,
      expect: { refused: 405 },
    }),
  ),
  {
    name: "POST /v1/prospecting/intent with X-HTTP-Method-Override: GET",
    method: "POST",
    path: "/v1/prospecting/intent?limit=1",
    headers: { "x-http-method-override": "GET" },
    body: "{}",
    expect: { refused: 405 },
  },
  {
    name: "GET /v1/enrichment/companies with X-HTTP-Method-Override: POST",
    method: "GET",
    path: "/v1/enrichment/companies",
    headers: { "x-http-method-override": "POST" },
    expect: { refused: 405 },
  },
  // Query-priced units: one unambiguous value or nothing.
  {
    name: "GET /v1/prospecting/intent?limit=2",
    method: "GET",
    path: "/v1/prospecting/intent?limit=2",
    expect: { upstreamPath: `${PREFIX}/prospecting/intent`, method: "GET", charged: 20 },
  },
  ...[
    "?limit=1&limit=100",
    "?limit=01",
    "?limit=1e2",
    "?limit=%2B1",
    "?limit=1.5",
    "?limit=101",
    "?limit=",
    "",
  ].map(
    (query): Case => ({
      name: `GET /v1/prospecting/intent${query}`,
      method: "GET",
      path: `/v1/prospecting/intent${query}`,
      expect: { refused: 400 },
    }),
  ),
];

describe("price integrity of the request path (I7)", { timeout: 120_000 }, () => {
  let sales: TestAccount;
  let coreKey: string;

  beforeAll(async () => {
    sales = await setupAccount({ plan: "enterprise", seat: "sales" });
    const admin = bearer(sales.adminKey);
    const member = await jsonCall<{ id: string }>("/v1/members", {
      method: "POST",
      headers: admin,
      json: { name: "Core", teamId: sales.teamId, seat: "core" },
    });
    const key = await jsonCall<{ key: string }>("/v1/keys", {
      method: "POST",
      headers: admin,
      json: { role: "member", memberId: member.body.id },
    });
    if (key.status !== 201) throw new Error(`core key: ${key.status}`);
    coreKey = key.body.key;
  });

  for (const c of CASES) {
    it(`${c.name} -> ${"refused" in c.expect ? `refused ${c.expect.refused}` : `${c.expect.upstreamPath} for ${c.expect.charged}`}`, async () => {
      const key = c.who === "core" ? coreKey : sales.memberKey;
      const before = await balance(sales.adminKey);
      const countsBefore = await counts();
      sent.length = 0;
      const res = await send(c.path, {
        method: c.method,
        headers: {
          ...bearer(key),
          "content-type": "application/json",
          "x-chaos-echo": "1",
          ...c.headers,
        },
        body: c.body,
      });
      const text = await res.text();
      const after = await balance(sales.adminKey);

      if ("refused" in c.expect) {
        if (c.expect.refused === "4xx") {
          expect(res.status, text).toBeGreaterThanOrEqual(400);
          expect(res.status, text).toBeLessThan(500);
        } else {
          expect(res.status, text).toBe(c.expect.refused);
        }
        expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        if (c.method !== "HEAD") {
          const problem = JSON.parse(text) as Record<string, unknown>;
          expect(problem).toMatchObject({
            status: res.status,
            code: expect.any(String),
            detail: expect.any(String),
            requestId: expect.any(String),
          });
        }
        expect(res.headers.get("x-credits-charged") ?? "0").toBe("0");
        expect(sent).toEqual([]);
        expect(await counts()).toEqual(countsBefore);
        expect(after.available).toBe(before.available);
        expect(after.capturedThisPeriod).toBe(before.capturedThisPeriod);
        return;
      }

      const want = c.expect;
      expect(res.status, text).toBe(200);
      const echo = JSON.parse(text) as Echo;
      expect(echo.path).toBe(want.upstreamPath);
      expect(echo.method).toBe(want.method);
      expect(sent).toHaveLength(1);
      expect(new URL(sent[0]?.url ?? "http://x").pathname).toBe(want.upstreamPath);
      expect(res.headers.get("x-credits-charged")).toBe(String(want.charged));
      expect(after.available).toBe(before.available - want.charged);
      expect(after.capturedThisPeriod).toBe(before.capturedThisPeriod + want.charged);
      const countsAfter = await counts();
      for (const path of WATCHED) {
        expect(countsAfter[path], path).toBe(
          (countsBefore[path] ?? 0) + (path === want.upstreamPath ? 1 : 0),
        );
      }
    });
  }
});

describe("what the upstream receives and what the client gets back (I7)", {
  timeout: 60_000,
}, () => {
  let acct: TestAccount;

  beforeAll(async () => {
    acct = await setupAccount();
  });

  async function echoed(headers: Record<string, string>, body = freshRecord()) {
    const res = await send("/v1/enrichment/companies", {
      method: "POST",
      headers: {
        ...bearer(acct.memberKey),
        "content-type": "application/json",
        "x-chaos-echo": "1",
        ...headers,
      },
      body,
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return { res, echo: JSON.parse(text) as Echo, text };
  }

  it("drops the client's Authorization even where the credential uses another header", async () => {
    const res = await send("/v1/test/keyed", {
      method: "POST",
      headers: {
        ...bearer(acct.memberKey),
        "content-type": "application/json",
        "x-chaos-echo": "1",
      },
      body: "{}",
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const echo = JSON.parse(text) as Echo;
    expect(echo.path).toBe(`${PREFIX}/test/keyed`);
    expect(echo.headers["x-api-key"]).toBe("test-upstream-secret");
    expect(echo.headers).not.toHaveProperty("authorization");
    expect(text).not.toContain(acct.memberKey.slice(acct.memberKey.lastIndexOf("_") + 1));
    expect(res.headers.get("x-credits-charged")).toBe("2");
  });

  it("sends the upstream credential, never the client's Authorization or cookies", async () => {
    const { echo, text } = await echoed({ cookie: "session=client-cookie-secret" });
    expect(echo.headers.authorization).toBe("Bearer test-upstream-secret");
    expect(text).not.toContain(acct.memberKey.slice(acct.memberKey.lastIndexOf("_") + 1));
    expect(text).not.toContain("client-cookie-secret");
  });

  it("replaces client-sent X-Creditgate-* headers with the gateway's own", async () => {
    const { res, echo } = await echoed({
      "x-creditgate-account": "someone-else",
      "x-creditgate-team": "team_forged",
      "x-creditgate-member": "member_forged",
      "x-creditgate-request-id": "forged-request",
      "x-creditgate-role": "admin",
    });
    expect(echo.headers["x-creditgate-account"]).toBe(acct.id);
    expect(echo.headers["x-creditgate-team"]).toBe(acct.teamId);
    expect(echo.headers["x-creditgate-member"]).toBe(acct.memberId);
    expect(echo.headers["x-creditgate-request-id"]).toBe(res.headers.get("x-request-id"));
    expect(echo.headers).not.toHaveProperty("x-creditgate-role");
  });

  it("drops hop-by-hop headers and those the Connection header names", async () => {
    const { echo } = await echoed({
      connection: "keep-alive, x-hop-secret",
      "x-hop-secret": "1",
      "keep-alive": "timeout=5",
      te: "trailers",
      trailer: "x-foo",
      upgrade: "h2c",
      "proxy-authorization": "Basic cHJveHk6c2VjcmV0",
      "proxy-connection": "keep-alive",
      "x-credit-dry-run": "false",
    });
    for (const name of [
      "x-hop-secret",
      "keep-alive",
      "te",
      "trailer",
      "upgrade",
      "proxy-authorization",
      "proxy-connection",
      "x-credit-dry-run",
    ]) {
      expect(echo.headers, name).not.toHaveProperty(name);
    }
    expect(echo.headers.connection ?? "").not.toContain("x-hop-secret");
  });

  it("replaces an upstream's forged X-Credits-* and X-Request-Id headers with the gateway's", async () => {
    const before = await balance(acct.adminKey);
    sent.length = 0;
    const res = await send("/v1/test/forged", {
      method: "POST",
      headers: { ...bearer(acct.memberKey), "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(sent.map((s) => new URL(s.url).pathname)).toEqual([FORGED_PATH]);
    expect(res.headers.get("x-credits-charged")).toBe("4");
    expect(res.headers.get("x-credits-action")).toBe("test.forged");
    expect(res.headers.get("x-credits-remaining")).toBe(String(before.available - 4));
    expect(res.headers.get("x-credits-replayed")).toBeNull();
    expect(res.headers.get("x-request-id")).not.toBe("forged-request-id");
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect((await balance(acct.adminKey)).available).toBe(before.available - 4);
  });

  it.each([
    // Domains of their own per case: the account's records enriched already are not charged.
    [
      "a duplicated key",
      '{"records":[{"domain":"a1.example"}],"records":[{"domain":"b1.example"},{"domain":"c1.example"},{"domain":"d1.example"}]}',
    ],
    [
      "a duplicated key, first the longer",
      '{"records":[{"domain":"b2.example"},{"domain":"c2.example"},{"domain":"d2.example"}],"records":[{"domain":"a2.example"}]}',
    ],
    [
      "an escaped duplicate key",
      '{"records":[{"domain":"a3.example"}],"\\u0072ecords":[{"domain":"b3.example"},{"domain":"c3.example"}]}',
    ],
  ])("prices a body with %s on exactly what it forwards", async (_, body) => {
    const before = await balance(acct.adminKey);
    const { res, echo } = await echoed({}, body);
    const forwarded = JSON.parse(echo.body) as { records: unknown[] };
    // One `records` member reaches the upstream, and that is what was priced.
    expect(echo.body.match(/records|\\u0072ecords/g)).toHaveLength(1);
    expect(res.headers.get("x-credits-charged")).toBe(String(10 * forwarded.records.length));
    expect((await balance(acct.adminKey)).available).toBe(
      before.available - 10 * forwarded.records.length,
    );
  });

  // An upstream that honours overrides would run a method the catalog never priced.
  it("keeps a method-override header from reaching the upstream", async () => {
    const { echo } = await echoed({
      "x-http-method-override": "GET",
      "x-http-method": "GET",
      "x-method-override": "GET",
    });
    expect(echo.method).toBe("POST");
    expect(echo.headers).not.toHaveProperty("x-http-method-override");
    expect(echo.headers).not.toHaveProperty("x-http-method");
    expect(echo.headers).not.toHaveProperty("x-method-override");
  });
});

describe("the worker as deployed, with the demo catalog (I7)", { timeout: 60_000 }, () => {
  it.each([
    "/v1/enrichment/%63ompanies",
    "/v1//enrichment/companies/",
    "/v1/test/one/../../enrichment/companies",
  ])("forwards %s to /enrich/companies at its price", async (path) => {
    const acct = await setupAccount();
    const before = await balance(acct.adminKey);
    const res = await call(path, {
      method: "POST",
      headers: {
        ...bearer(acct.memberKey),
        "content-type": "application/json",
        "x-chaos-echo": "1",
      },
      body: ONE_RECORD,
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const echo = JSON.parse(text) as Echo;
    expect(echo.path).toBe("/enrich/companies");
    expect(echo.headers.authorization).toBe("Bearer test-upstream-secret");
    expect(res.headers.get("x-credits-charged")).toBe("10");
    expect((await balance(acct.adminKey)).available).toBe(before.available - 10);
  });

  it.each([
    "/v1/enrichment%2fcompanies",
    "/v1/ai/agents/..%2f..%2fenrich/conversations",
    "/v1/enrichment/companies%00",
    "/V1/Enrichment/Companies",
  ])("refuses %s without charging", async (path) => {
    const acct = await setupAccount({ plan: "enterprise" });
    const before = await balance(acct.adminKey);
    const res = await call(path, {
      method: "POST",
      headers: {
        ...bearer(acct.memberKey),
        "content-type": "application/json",
        "x-chaos-echo": "1",
      },
      body: ONE_RECORD,
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await balance(acct.adminKey)).toEqual(before);
  });
});
