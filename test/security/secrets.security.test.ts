/**
 * Secrets stay secret. Comparisons of secrets run in constant time; and a broad scenario through
 * the worker (every role, operator calls, priced calls that succeed, fail, are denied, time out
 * or replay, bad and revoked keys, errors) shows no operator token, account key, key secret, key
 * hash, upstream credential or client Authorization value in any log line, response header or
 * body, usage event (outbox and D1) or ledger row, bar the one response that creates a key.
 */
import {
  createExecutionContext,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { sha256Hex, timingSafeEqualStrings } from "../../src/lib/hash";
import { ledger, OPERATOR } from "../support/api";
import { demoCatalogWith, testApp } from "../support/test-catalog";

const OPERATOR_TOKEN = "test-operator-token";
const UPSTREAM_SECRET = "test-upstream-secret";

describe("timingSafeEqualStrings", () => {
  it("is true for equal strings, including the empty string", () => {
    expect(timingSafeEqualStrings("", "")).toBe(true);
    expect(timingSafeEqualStrings("a".repeat(64), "a".repeat(64))).toBe(true);
    expect(timingSafeEqualStrings("0f3c9e", "0f3c9e")).toBe(true);
  });

  it("is false for unequal strings of the same length, wherever they differ", () => {
    const base = "0123456789abcdef".repeat(4);
    for (const at of [0, 31, 63]) {
      const other = `${base.slice(0, at)}${base[at] === "x" ? "y" : "x"}${base.slice(at + 1)}`;
      expect(timingSafeEqualStrings(base, other)).toBe(false);
    }
    expect(timingSafeEqualStrings("abc", "ABC")).toBe(false);
  });

  it("is false for strings of different lengths, prefixes included", () => {
    expect(timingSafeEqualStrings("abc", "abcd")).toBe(false);
    expect(timingSafeEqualStrings("abcd", "abc")).toBe(false);
    expect(timingSafeEqualStrings("", "a")).toBe(false);
  });

  it("compares unicode text exactly: same text equal, different text unequal", () => {
    expect(timingSafeEqualStrings("crédit 🔑", "crédit 🔑")).toBe(true);
    // Same byte length, different bytes.
    expect(timingSafeEqualStrings("ä", "ö")).toBe(false);
    expect(timingSafeEqualStrings("🔑", "🔒")).toBe(false);
    // Same UTF-16 length, different UTF-8 length; and the reverse.
    expect(timingSafeEqualStrings("é", "e")).toBe(false);
    expect(timingSafeEqualStrings("é", "ab")).toBe(false);
    // Canonically equivalent but different code points are different secrets.
    expect(timingSafeEqualStrings("\u00e9", "e\u0301")).toBe(false);
  });

  // UTF-8 encoding would turn every lone surrogate into U+FFFD and make these equal.
  it("tells apart strings with different lone surrogates", () => {
    expect(timingSafeEqualStrings("\uD800", "\uFFFD")).toBe(false);
  });

  it("runs on crypto.subtle.timingSafeEqual, for good and bad operator tokens alike", async () => {
    const spy = vi.spyOn(crypto.subtle, "timingSafeEqual");
    try {
      expect(timingSafeEqualStrings("abc", "abd")).toBe(false);
      expect(spy).toHaveBeenCalledTimes(1);
      // Right token, same-length wrong token, short token: each is one constant-time compare
      // of two digests, so neither length nor prefix of the token shows in the timing.
      for (const token of [OPERATOR_TOKEN, `${OPERATOR_TOKEN.slice(0, -1)}x`, "t"]) {
        const res = await exports.default.fetch(
          new Request("https://gateway.test/admin/v1/catalog", {
            headers: { authorization: `Bearer ${token}` },
          }),
        );
        expect(res.status).toBe(token === OPERATOR_TOKEN ? 200 : 401);
        await res.body?.cancel();
      }
      expect(spy).toHaveBeenCalledTimes(4);
      for (const [x, y] of spy.mock.calls.slice(1)) expect(x.byteLength).toBe(y.byteLength);
    } finally {
      spy.mockRestore();
    }
  });

  it("is what operator auth uses: digests of equal length, so only equality decides", async () => {
    const good = await sha256Hex(OPERATOR_TOKEN);
    const bad = await sha256Hex(`${OPERATOR_TOKEN}x`);
    expect(good).toHaveLength(64);
    expect(bad).toHaveLength(64);
    expect(timingSafeEqualStrings(good, await sha256Hex(OPERATOR_TOKEN))).toBe(true);
    expect(timingSafeEqualStrings(good, bad)).toBe(false);
  });
});

/** One thing the scenario saw, and the secrets it may legitimately contain. */
interface Seen {
  where: string;
  text: string;
  allow: Set<string>;
}

/** Everything a client, an operator or a log reader could read. */
const seen: Seen[] = [];
/** Secret value -> what it is, for the failure message. */
const secrets = new Map<string, string>();
const logLines: string[] = [];
let requests = 0;

async function forbid(value: string, label: string) {
  secrets.set(value, label);
  secrets.set(await sha256Hex(value), `SHA-256 of ${label}`);
}

async function forbidKey(key: string, label: string) {
  await forbid(key, label);
  secrets.set(key.slice(key.lastIndexOf("_") + 1), `secret part of ${label}`);
}

/**
 * The demo catalog plus two actions: one whose upstream binding does not exist (a 500 on
 * purpose), and one whose credential goes in its own header, so that the client's
 * Authorization would show upstream if the gateway forwarded it (with the demo upstream the
 * injected credential overwrites it, hiding such a bug).
 */
const scenarioApp = createApp({
  catalog: demoCatalogWith(
    {
      upstreams: [
        {
          id: "ghost",
          binding: "NO_SUCH_BINDING",
          credential: { header: "Authorization", secretEnv: "DEMO_UPSTREAM_TOKEN" },
        },
        {
          id: "keyed",
          binding: "DEMO_UPSTREAM",
          credential: { header: "X-Upstream-Key", secretEnv: "DEMO_UPSTREAM_TOKEN" },
        },
      ],
      actions: [
        {
          id: "test.keyed",
          name: "Credential in its own header",
          category: "enrichment",
          method: "POST",
          path: "/v1/test/keyed",
          upstream: "keyed",
          upstreamPath: "/enrich/companies",
          price: { credits: 1 },
        },
        {
          id: "test.ghost",
          name: "Unbound upstream",
          category: "insights",
          method: "POST",
          path: "/v1/test/ghost",
          upstream: "ghost",
          upstreamPath: "/ghost",
          price: { credits: 2 },
        },
      ],
    },
    "the secrets scenario configuration",
  ),
});

type Via = "worker" | "test" | "scenario";

interface Sent {
  status: number;
  text: string;
  json: Record<string, unknown>;
  headers: Headers;
}

/**
 * Sends a request (to the worker itself, or to the app with the test catalog) and records the
 * answer's status line, headers and body; `allow` names secrets this answer may carry.
 */
async function send(
  label: string,
  path: string,
  options: {
    method?: string;
    key?: string;
    authorization?: string;
    json?: unknown;
    body?: string;
    headers?: Record<string, string>;
    via?: Via;
    allow?: string[];
  } = {},
): Promise<Sent> {
  const headers: Record<string, string> = { ...options.headers };
  const authorization = options.authorization ?? (options.key ? `Bearer ${options.key}` : null);
  if (authorization !== null) {
    headers.authorization = authorization;
    await forbid(authorization, `an Authorization header (${label})`);
  }
  let body: string | undefined = options.body;
  if (options.json !== undefined) body = JSON.stringify(options.json);
  if (body !== undefined) headers["content-type"] ??= "application/json";
  const request = new Request(`https://gateway.test${path}`, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
  });
  let res: Response;
  if ((options.via ?? "worker") === "worker") {
    res = await exports.default.fetch(request);
  } else {
    const app = options.via === "test" ? testApp : scenarioApp;
    const ctx = createExecutionContext();
    res = await app.fetch(request, env, ctx);
    await waitOnExecutionContext(ctx);
  }
  requests += 1;
  const text = await res.text();
  const head = [...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
  seen.push({
    where: `${label}: ${request.method} ${path} -> ${res.status}`,
    text: `HTTP ${res.status}\n${head}\n\n${text}`,
    allow: new Set(options.allow ?? []),
  });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON: the scan still reads `text`.
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** Sends, and fails with the answer unless it has `status`. */
async function step(
  label: string,
  status: number,
  path: string,
  options: Parameters<typeof send>[2] = {},
): Promise<Sent> {
  const res = await send(label, path, options);
  expect(res.status, `${label}: ${res.text.slice(0, 300)}`).toBe(status);
  return res;
}

const op = { authorization: OPERATOR.authorization };

/** Creates a key and forbids it everywhere but in the one answer that creates it. */
async function createKey(
  label: string,
  path: string,
  auth: { authorization: string },
  body: object,
) {
  const res = await step(`create ${label}`, 201, path, { ...auth, json: body });
  const key = String(res.json.key);
  await forbidKey(key, label);
  seen[seen.length - 1]?.allow.add(key).add(key.slice(key.lastIndexOf("_") + 1));
  return { id: String(res.json.id), key, auth: { authorization: `Bearer ${key}` } };
}

type Key = Awaited<ReturnType<typeof createKey>>;

/** Two accounts set up by the operator and their admins, with a call of every management kind. */
async function manage(aId: string, bId: string) {
  for (const id of [aId, bId]) {
    const json = { id, name: `Secret test ${id}`, plan: "professional", billingAnchorDay: 1 };
    await step("create account", 201, "/admin/v1/accounts", { ...op, json });
  }
  const aAdmin = await createKey("A's admin key", `/admin/v1/accounts/${aId}/keys`, op, {
    role: "admin",
  });
  const bAdmin = await createKey("B's admin key", `/admin/v1/accounts/${bId}/keys`, op, {
    role: "admin",
  });
  await step("list accounts", 200, "/admin/v1/accounts", op);
  await step("read account", 200, `/admin/v1/accounts/${aId}`, op);
  const patch = { ...op, method: "PATCH", json: { rolloverCap: 10 } };
  await step("patch account", 200, `/admin/v1/accounts/${aId}`, patch);
  const grant = { ...op, json: { amount: 50, source: "pack" } };
  await step("grant", 201, `/admin/v1/accounts/${aId}/grants`, grant);
  await step("catalog", 200, "/admin/v1/catalog", op);
  const typo = { authorization: `Bearer ${OPERATOR_TOKEN}x` };
  await step("operator typo", 401, "/admin/v1/accounts", typo);
  await step("operator on /v1", 401, "/v1/teams", op);
  const badGrant = { ...op, json: { amount: -1, source: "x" } };
  await step("operator bad body", 400, `/admin/v1/accounts/${aId}/grants`, badGrant);

  const admin = aAdmin.auth;
  const team = await step("team", 201, "/v1/teams", { ...admin, json: { name: "Sales" } });
  const strict = await step("team 2", 201, "/v1/teams", { ...admin, json: { name: "Audited" } });
  const rules = {
    allowedActions: null,
    allowedCategories: null,
    purpose: { required: true, allowed: ["audit"] },
    memberRateLimitPerMinute: null,
    teamBudget: null,
    memberBudget: null,
  };
  await step("purpose rule", 200, `/v1/teams/${strict.json.id}/rules`, {
    ...admin,
    method: "PUT",
    json: rules,
  });
  const member = await step("member", 201, "/v1/members", {
    ...admin,
    json: { name: "Ada", teamId: team.json.id, seat: "core" },
  });
  const audited = await step("audited member", 201, "/v1/members", {
    ...admin,
    json: { name: "Bob", teamId: strict.json.id, seat: "core" },
  });
  const bound = (m: Sent) => ({ role: "member", memberId: m.json.id });
  const finance = await createKey("A's finance key", "/v1/keys", admin, { role: "finance" });
  const memberKey = await createKey("A's member key", "/v1/keys", admin, bound(member));
  const auditedKey = await createKey("A's audited key", "/v1/keys", admin, bound(audited));
  const doomed = await createKey("A's key to revoke", "/v1/keys", admin, bound(member));
  const bTeam = await step("B team", 201, "/v1/teams", { ...bAdmin.auth, json: { name: "B" } });
  const bMember = await step("B member", 201, "/v1/members", {
    ...bAdmin.auth,
    json: { name: "Cy", teamId: bTeam.json.id, seat: "core" },
  });
  const bMemberKey = await createKey("B's member key", "/v1/keys", bAdmin.auth, bound(bMember));

  for (const [key, path, status] of [
    [aAdmin, "/v1/keys", 200],
    [aAdmin, "/v1/teams", 200],
    [aAdmin, "/v1/members", 200],
    [aAdmin, "/v1/account", 200],
    [aAdmin, `/v1/teams/${team.json.id}`, 200],
    [aAdmin, "/v1/teams/tm_nope", 404],
    [finance, "/v1/balance", 200],
    [finance, "/v1/teams", 200],
    [finance, "/v1/keys", 403],
    [memberKey, "/v1/balance", 200],
    [memberKey, "/v1/quote?action=enrichment.company&units=2", 200],
    [memberKey, "/v1/quote?action=nope.nope", 400],
    [memberKey, "/v1/members", 403],
    [bAdmin, `/v1/teams/${team.json.id}`, 404],
  ] as [Key, string, number][]) {
    await step(`read ${path}`, status, path, key.auth);
  }
  await step("finance writes", 403, "/v1/teams", { ...finance.auth, json: { name: "X" } });
  await step("unknown field", 400, "/v1/teams", { ...admin, json: { name: "X", secret: 1 } });
  await step("broken JSON", 400, "/v1/teams", { ...admin, body: "{" });
  await step("key for B's member", 400, "/v1/keys", { ...admin, json: bound(bMember) });
  return { aAdmin, finance, memberKey, auditedKey, doomed, bMemberKey };
}

let batches = 0;
/**
 * `n` records never sent before: with dedupe (enrichment.company is keyed by domain), records
 * the account enriched already would be skipped and the upstream not called.
 */
const records = (n: number) => {
  batches += 1;
  return { records: Array.from({ length: n }, (_, i) => ({ domain: `c${batches}-${i}.example` })) };
};
const ENRICH = "/v1/enrichment/companies";

/** Priced calls that succeed, fail upstream, are denied, time out, replay or break. */
async function spend(keys: Awaited<ReturnType<typeof manage>>, suffix: string) {
  const { aAdmin, finance, memberKey, auditedKey, bMemberKey } = keys;
  const one = () => ({ ...memberKey.auth, json: records(1) });
  await step("charged call", 200, ENRICH, { ...memberKey.auth, json: records(2) });
  await step("upstream 500", 500, ENRICH, { ...one(), headers: { "x-chaos-status": "500" } });
  await step("upstream throws", 502, ENRICH, { ...one(), headers: { "x-chaos-throw": "1" } });
  await step("finance spends", 403, ENRICH, { ...finance.auth, json: records(1) });
  await step("admin spends", 403, ENRICH, { ...aAdmin.auth, json: records(1) });
  await step("no purpose", 403, ENRICH, { ...auditedKey.auth, json: records(1) });
  const purpose = { "x-credit-purpose": "audit" };
  await step("purpose", 200, ENRICH, { ...auditedKey.auth, json: records(1), headers: purpose });
  const idem = { "idempotency-key": `idem-${suffix}` };
  const same = one(); // the replay sends the same body
  await step("idempotent", 200, ENRICH, { ...same, headers: idem });
  const replay = await step("replay", 200, ENRICH, { ...same, headers: idem });
  expect(replay.headers.get("x-credits-replayed")).toBe("true");
  await step("mismatch", 422, ENRICH, { ...memberKey.auth, json: records(3), headers: idem });
  await step("dry run", 200, ENRICH, { ...one(), headers: { "x-credit-dry-run": "true" } });
  await step("B spends", 200, ENRICH, { ...bMemberKey.auth, json: records(1) });
  const slow = { "x-chaos-delay-ms": "1000" };
  await step("timeout", 504, "/v1/test/slow", { ...one(), via: "test", headers: slow });
  await step("refused", 502, "/v1/test/refused", { ...memberKey.auth, via: "test", json: {} });
  await step("metered", 200, "/v1/test/metered", {
    ...memberKey.auth,
    via: "test",
    json: { prompt: "hello" },
    headers: { "x-chaos-usage-units": "7" },
  });
  const drain = "/v1/test/drain?credits=999999";
  await step("insufficient credits", 402, drain, { ...memberKey.auth, via: "test", json: {} });
  await step("internal error", 500, "/v1/test/ghost", {
    ...memberKey.auth,
    via: "scenario",
    json: {},
  });
}

/** Calls with the client's key also in headers the upstream must never see; what arrived. */
async function echoes(memberKey: Key) {
  const sneaky = {
    "proxy-authorization": memberKey.auth.authorization,
    cookie: `k=${memberKey.key}`,
  };
  const out: { headers: Record<string, string> }[] = [];
  for (const [path, via, headers] of [
    [ENRICH, "worker", {}],
    [ENRICH, "worker", sneaky],
    ["/v1/test/keyed", "scenario", sneaky],
  ] as [string, Via, Record<string, string>][]) {
    const echoed = await step("echo", 200, path, {
      ...memberKey.auth,
      via,
      json: records(1),
      headers: { ...headers, "x-chaos-echo": "1" },
      // The chaos upstream echoes the credential it was given: its answer, not a gateway leak.
      allow: [UPSTREAM_SECRET],
    });
    out.push(echoed.json as (typeof out)[number]);
  }
  return out;
}

/** Every row of the account's ledger but the key hashes (stored there by design). */
async function ledgerRows(id: string): Promise<Record<string, unknown[]>> {
  const rows = await runInDurableObject(ledger(id), (_obj, state) => {
    const sql = state.storage.sql;
    const out: Record<string, unknown[]> = {};
    const tables = sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%'",
      )
      .toArray();
    for (const { name } of tables) out[name] = sql.exec(`SELECT * FROM "${name}"`).toArray();
    return out;
  });
  const keys = (rows.api_keys ?? []) as Record<string, unknown>[];
  rows.api_keys = keys.map(({ hash: _hash, ...rest }) => rest);
  return rows;
}

describe("no secret in logs, answers, usage events or ledger rows", { timeout: 60_000 }, () => {
  const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const aId = `sec-a-${suffix}`;
  const bId = `sec-b-${suffix}`;

  beforeAll(async () => {
    await forbid(OPERATOR_TOKEN, "the operator token");
    await forbid(UPSTREAM_SECRET, "the upstream credential");
    const text = (a: unknown) =>
      typeof a === "string"
        ? a
        : a instanceof Error
          ? `${a.message}\n${a.stack}`
          : JSON.stringify(a);
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        logLines.push(args.map(text).join(" "));
      });
    }
  });
  afterAll(() => vi.restoreAllMocks());

  it("shows no secret anywhere, and the upstream gets no client credential", async () => {
    const keys = await manage(aId, bId);
    await spend(keys, suffix);
    const received = await echoes(keys.memberKey);

    // Bad, forged and revoked keys, on the proxy, a read and a write.
    const { doomed, memberKey, aAdmin } = keys;
    await step("revoke", 200, `/v1/keys/${doomed.id}`, { ...aAdmin.auth, method: "DELETE" });
    const secret = memberKey.key.slice(memberKey.key.lastIndexOf("_") + 1);
    for (const [label, authorization] of [
      ["revoked", doomed.auth.authorization],
      ["unknown", `Bearer cg_${aId}_${"z".repeat(32)}`],
      ["malformed", `${memberKey.auth.authorization}x`],
      ["forged", `Bearer cg_${bId}_${secret}`],
      ["operator", `Bearer ${OPERATOR_TOKEN}`],
      ["basic", `Basic ${btoa(`user:${memberKey.key}`)}`],
    ]) {
      const auth = { authorization: authorization ?? "" };
      await step(`${label} key spends`, 401, ENRICH, { ...auth, json: records(1) });
      await step(`${label} key reads`, 401, "/v1/balance", auth);
      await step(`${label} key writes`, 401, "/v1/keys", { ...auth, json: { role: "admin" } });
    }
    await step("no key", 401, ENRICH, { json: records(1) });

    // What the upstream received: the gateway's credential, never the client's.
    const [plain, withExtras, keyed] = received;
    for (const echo of [plain, withExtras]) {
      expect(echo?.headers.authorization, "the upstream's credential").toBe(
        `Bearer ${UPSTREAM_SECRET}`,
      );
    }
    // Where the credential has its own header, no Authorization may arrive at all.
    expect(
      keyed?.headers.authorization,
      "the client's Authorization went upstream",
    ).toBeUndefined();
    expect(keyed?.headers["x-upstream-key"]).toBe(UPSTREAM_SECRET);
    for (const echo of received) {
      expect(echo.headers["proxy-authorization"]).toBeUndefined();
      expect(echo.headers.cookie).toBeUndefined();
      const forwarded = JSON.stringify(echo);
      for (const [value, label] of secrets) {
        if (value === UPSTREAM_SECRET || value === `Bearer ${UPSTREAM_SECRET}`) continue;
        expect(forwarded.includes(value), `the upstream received ${label}`).toBe(false);
      }
    }

    // Usage events in the outbox, every ledger row, then D1 after a flush.
    for (const id of [aId, bId]) {
      const rows = await ledgerRows(id);
      const outbox = (rows.outbox ?? []) as { payload: string }[];
      expect(outbox.length, `${id} has pending usage events`).toBeGreaterThan(0);
      for (const row of outbox) {
        seen.push({ where: `outbox of ${id}`, text: row.payload, allow: new Set() });
      }
      seen.push({ where: `ledger rows of ${id}`, text: JSON.stringify(rows), allow: new Set() });
      expect((await ledger(id).flush()).error).toBeNull();
    }
    const d1 = await env.DB.batch([
      env.DB.prepare("SELECT * FROM usage_events WHERE account_id IN (?, ?)").bind(aId, bId),
      env.DB.prepare("SELECT * FROM audit_log WHERE account_id IN (?, ?)").bind(aId, bId),
      env.DB.prepare("SELECT * FROM accounts WHERE id IN (?, ?)").bind(aId, bId),
    ]);
    expect(d1[0]?.results.length, "usage events in D1").toBeGreaterThan(10);
    seen.push({
      where: "D1 rows",
      text: JSON.stringify(d1.map((r) => r.results)),
      allow: new Set(),
    });
    for (const line of logLines) seen.push({ where: "log line", text: line, allow: new Set() });

    // One request log line per request at least: proof the spies saw the worker's console.
    expect(logLines.length, "log lines captured").toBeGreaterThanOrEqual(requests);
    const leaks: string[] = [];
    for (const item of seen) {
      for (const [value, label] of secrets) {
        if (item.allow.has(value) || !item.text.includes(value)) continue;
        leaks.push(`${item.where} shows ${label}`);
      }
    }
    expect(leaks, `${leaks.length} leaks:\n${leaks.slice(0, 30).join("\n")}`).toEqual([]);
  });
});
