/**
 * I6 Isolation, generated from the route table: every route the app mounts (from `app.routes`
 * and the OpenAPI registry) x every principal x the caller's own account and the other one.
 * Expected access comes from ROUTE_POLICY alone; a mounted route missing there fails the test.
 * Each cell checks the status and problem code, that no account changed but the one the call
 * may change (a full dump of both ledgers and their D1 rows, before and after), and that no
 * id of the other account shows in the answer. The proxy is probed with every catalog action;
 * every route also meets a list of malformed credentials, and paths that name B get 404.
 */
import {
  createExecutionContext,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { inspectRoutes } from "hono/dev";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { type Action, bundledCatalog } from "../../src/catalog";
import type { Role } from "../../src/ledger/contract";
import { bearer, ledger, OPERATOR, setupAccount, type TestAccount } from "../support/api";
import { type Access, type Probe, ROUTE_POLICY, type Subject } from "./route-policy";

// The worker's own app, called directly: `exports.default.fetch` slows down per call in long
// files, and this one makes about two thousand.
const app = createApp({ catalog: bundledCatalog });

async function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Response> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.headers = { ...headers, "content-type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://gateway.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** Every mounted endpoint as "METHOD path": handlers from `app.routes`, plus the OpenAPI routes. */
function mountedRoutes(): string[] {
  const keys = new Set<string>();
  for (const route of inspectRoutes(app)) {
    if (!route.isMiddleware) keys.add(`${route.method} ${route.path}`);
  }
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== "route") continue;
    const path = def.route.path.replace(/\{([^}]+)\}/g, ":$1");
    keys.add(`${def.route.method.toUpperCase()} ${path}`);
  }
  return [...keys].sort();
}

const PRINCIPALS = [
  "operator",
  "admin",
  "finance",
  "member",
  "revoked admin",
  "revoked member",
  "A's admin secret under B's id",
  "A's member secret under B's id",
  "unknown key",
  "malformed key",
  "no key",
] as const;
type Principal = (typeof PRINCIPALS)[number];
const LIVE_ROLE: Partial<Record<Principal, Role>> = {
  admin: "admin",
  finance: "finance",
  member: "member",
};

type Target = "own" | "other";

/** The status and problem code a principal must get, given the route's declared access. */
function expectedOutcome(
  access: Access,
  principal: Principal,
  allowed: number,
): { status: number; code?: string } {
  if (access.kind === "public") return { status: allowed };
  if (access.kind === "operator") {
    return principal === "operator" ? { status: allowed } : { status: 401, code: "unauthorized" };
  }
  const role = LIVE_ROLE[principal];
  if (!role) return { status: 401, code: "invalid_key" };
  const roles: readonly Role[] = access.kind === "account" ? access.roles : ["member"];
  return roles.includes(role) ? { status: allowed } : { status: 403, code: "forbidden" };
}

interface LedgerDump {
  tables: Record<string, unknown[]>;
  /** Usage events ever written: still in the outbox plus already flushed (an alarm may flush). */
  events: number;
}

/** Every row of the account's ledger (bar the outbox plumbing) and its D1 rows. */
async function dump(accountId: string) {
  const ledgerState = await runInDurableObject(ledger(accountId), (_obj, state): LedgerDump => {
    const sql = state.storage.sql;
    const names = sql
      .exec<{ name: string; sql: string }>(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT IN ('outbox', 'flush_stats', 'meta') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
      )
      .toArray();
    const tables: Record<string, unknown[]> = {};
    for (const { name, sql: definition } of names) {
      // A table without rowid is ordered by its leading (primary key) columns.
      const order = /WITHOUT ROWID/i.test(definition) ? "1, 2" : "rowid";
      tables[name] = sql.exec(`SELECT * FROM "${name}" ORDER BY ${order}`).toArray();
    }
    const pending = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n;
    const flushed = sql.exec<{ n: number }>("SELECT events AS n FROM flush_stats").one().n;
    return { tables, events: pending + flushed };
  });
  const [directory, audit] = await env.DB.batch([
    env.DB.prepare("SELECT * FROM accounts WHERE id = ?").bind(accountId),
    env.DB.prepare("SELECT * FROM audit_log WHERE account_id = ? ORDER BY id").bind(accountId),
  ]);
  return { ledger: ledgerState, directory: directory?.results, audit: audit?.results };
}
type Dump = Awaited<ReturnType<typeof dump>>;

/** Both accounts, read side by side. */
async function dumpBoth(a: TestAccount, b: TestAccount): Promise<{ a: Dump; b: Dump }> {
  const [x, y] = await Promise.all([dump(a.id), dump(b.id)]);
  return { a: x, b: y };
}

/** Ids of an account that a caller of another account must never be shown. */
function idsIn(state: Dump): string[] {
  const out: string[] = [];
  for (const rows of Object.values(state.ledger.tables)) {
    for (const row of rows as Record<string, unknown>[]) {
      for (const column of ["id", "prefix"]) {
        const value = row[column];
        if (typeof value === "string" && value.length >= 8) out.push(value);
      }
    }
  }
  return out;
}

/** Spendable credits of a ledger dump. */
function remaining(state: Dump): number {
  const grants = (state.ledger.tables.grants ?? []) as { remaining: number }[];
  return grants.reduce((sum, g) => sum + g.remaining, 0);
}

const secretOf = (key: string) => key.slice(key.lastIndexOf("_") + 1);

interface World {
  a: TestAccount;
  b: TestAccount;
  auth: Record<Principal, Record<string, string>>;
  /** Headers a client could use to name B, sent on every management call. */
  namingB: Record<string, string>;
}

async function createKey(acct: TestAccount, body: unknown): Promise<{ id: string; key: string }> {
  const res = await send("POST", "/v1/keys", bearer(acct.adminKey), body);
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string };
}

/** The two accounts and every principal's credentials; the set-up's request logs are muted. */
async function buildWorld(): Promise<World> {
  const quiet = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    return await setUpAccounts();
  } finally {
    quiet.mockRestore();
  }
}

async function setUpAccounts(): Promise<World> {
  // Enterprise, so the member's refusals come from the rules under test, not from the plan.
  const [a, b] = await Promise.all([
    setupAccount({ plan: "enterprise" }),
    setupAccount({ plan: "enterprise" }),
  ]);
  const revokedAdmin = await createKey(a, { role: "admin", name: "to revoke" });
  const revokedMember = await createKey(a, { role: "member", memberId: a.memberId });
  // Each key works right before its revocation, so a cached authentication could not excuse
  // a late 401 below.
  const spent = await send("POST", "/v1/enrichment/companies", bearer(revokedMember.key), {
    records: [{ domain: "a.example" }],
  });
  expect(spent.status).toBe(200);
  for (const { id, key } of [revokedAdmin, revokedMember]) {
    expect((await send("GET", "/v1/balance", bearer(key))).status).toBe(200);
    expect((await send("DELETE", `/v1/keys/${id}`, bearer(a.adminKey))).status).toBe(200);
  }
  const auth: Record<Principal, Record<string, string>> = {
    operator: OPERATOR,
    admin: bearer(a.adminKey),
    finance: bearer(a.financeKey),
    member: bearer(a.memberKey),
    "revoked admin": bearer(revokedAdmin.key),
    "revoked member": bearer(revokedMember.key),
    "A's admin secret under B's id": bearer(`cg_${b.id}_${secretOf(a.adminKey)}`),
    "A's member secret under B's id": bearer(`cg_${b.id}_${secretOf(a.memberKey)}`),
    "unknown key": bearer(`cg_${a.id}_${"0".repeat(32)}`),
    "malformed key": bearer(`${a.adminKey}x`),
    "no key": {},
  };
  const namingB = {
    "x-creditgate-account": b.id,
    "x-creditgate-team": b.teamId,
    "x-creditgate-member": b.memberId,
    "x-account-id": b.id,
  };
  return { a, b, auth, namingB };
}

/** Creates what a consuming route needs (a team, member or key) in the target account. */
async function makeScratch(acct: TestAccount, kind: "team" | "member" | "key"): Promise<string> {
  const stub = ledger(acct.id);
  if (kind === "team") return (await stub.createTeam("Scratch")).id;
  if (kind === "member") {
    const made = await stub.createMember({ name: "Scratch", teamId: acct.teamId, seat: "core" });
    if (!made.ok) throw new Error(made.problem.detail);
    return made.value.id;
  }
  const hash = [...crypto.getRandomValues(new Uint8Array(32))]
    .map((x) => x.toString(16).padStart(2, "0"))
    .join("");
  const made = await stub.createKey({
    hash,
    prefix: `cg_${acct.id}_scra…`,
    role: "finance",
    memberId: null,
    name: "scratch",
  });
  if (!made.ok) throw new Error(made.problem.detail);
  return made.value.id;
}

const subject = (acct: TestAccount, scratch: string): Subject => ({
  id: acct.id,
  teamId: acct.teamId,
  memberId: acct.memberId,
  scratch,
});

/** Text of the request a client sent, so an id it named itself may be echoed back. */
const requestText = (probe: { path: string; body?: unknown }) =>
  `${probe.path} ${JSON.stringify(probe.body ?? null)}`;

/** Fails, naming the cell, unless the answer is the expected status (and problem code). */
async function expectStatus(
  res: Response,
  expected: { status: number; code?: string },
  cell: string,
): Promise<string> {
  const text = await res.text();
  expect(res.status, `${cell}: ${text.slice(0, 300)}`).toBe(expected.status);
  if (expected.code !== undefined) {
    expect(res.headers.get("content-type"), cell).toMatch(/^application\/problem\+json/);
    expect((JSON.parse(text) as { code: string }).code, cell).toBe(expected.code);
  }
  return text;
}

/** Fails if the answer to a caller of A shows any id of B that the caller did not send. */
function expectNoLeak(text: string, bIds: string[], sent: string, cell: string) {
  for (const id of bIds) {
    if (sent.includes(id)) continue;
    expect(text.includes(id), `${cell}: the answer shows B's ${id}`).toBe(false);
  }
}

/**
 * The one account a successful write may change: the caller's own, or the one the operator's
 * path names (none for routes like account creation). Every refusal changes nothing.
 */
function writable(access: Access, probe: Probe, a: TestAccount, b: TestAccount): "a" | "b" | null {
  if (access.kind !== "operator") return "a";
  const segments = probe.path.split("?")[0]?.split("/") ?? [];
  return segments.includes(a.id) ? "a" : segments.includes(b.id) ? "b" : null;
}

const routes = mountedRoutes();

describe("isolation matrix over every mounted route (I6)", { timeout: 120_000 }, () => {
  let world: World;
  beforeAll(async () => {
    world = await buildWorld();
  });

  it("has a policy for every mounted route, and no stale one", () => {
    const missing = routes.filter((r) => !(r in ROUTE_POLICY));
    expect(
      missing,
      `Mounted routes with no entry in ROUTE_POLICY: add each to test/security/route-policy.ts with its expected access and probes: ${missing.join(", ")}`,
    ).toEqual([]);
    const stale = Object.keys(ROUTE_POLICY).filter((r) => !routes.includes(r));
    expect(stale, `ROUTE_POLICY names routes the app no longer mounts: remove ${stale}`).toEqual(
      [],
    );
  });

  const managed = routes.filter((r) => ROUTE_POLICY[r]?.access.kind !== "proxy");
  it.each(managed)("%s: each principal gets exactly its declared access, A only", async (key) => {
    const policy = ROUTE_POLICY[key];
    if (!policy?.own || !policy.other) {
      throw new Error(`${key}: add it to ROUTE_POLICY in test/security/route-policy.ts`);
    }
    const [method = ""] = key.split(" ");
    const { a, b, auth, namingB } = world;
    let before = await dumpBoth(a, b);
    for (const principal of PRINCIPALS) {
      for (const target of ["own", "other"] as Target[]) {
        const cell = `${key} as ${principal} on ${target === "own" ? "A" : "B"}`;
        let scratch = "";
        if (policy.scratch) {
          scratch = await makeScratch(target === "own" ? a : b, policy.scratch);
          before = await dumpBoth(a, b);
        }
        const probe: Probe =
          target === "own" ? policy.own(subject(a, scratch)) : policy.other(subject(b, scratch));
        // B is named in every header a client could forge, even when the path names A.
        const headers = { ...namingB, ...auth[principal] };
        const expected = expectedOutcome(policy.access, principal, probe.status);
        const res = await send(method, probe.path, headers, probe.body);
        const text = await expectStatus(res, expected, cell);
        const after = await dumpBoth(a, b);

        const changeable =
          method !== "GET" && res.status < 300 ? writable(policy.access, probe, a, b) : null;
        if (changeable !== "a") expect(after.a, `${cell} changed A`).toEqual(before.a);
        if (changeable !== "b") expect(after.b, `${cell} changed B`).toEqual(before.b);
        for (const side of ["a", "b"] as const) {
          expect(after[side].ledger.events, `${cell}: a management call wrote a usage event`).toBe(
            before[side].ledger.events,
          );
        }
        if (principal !== "operator") expectNoLeak(text, idsIn(before.b), requestText(probe), cell);
        before = after;
      }
    }
  });

  it("refuses every malformed credential on every route (401), changing nothing", async () => {
    const { a, b } = world;
    const action = bundledCatalog.actions[0];
    if (!action) throw new Error("the demo catalog has no action");
    const calls = managed.flatMap((key) => {
      const policy = ROUTE_POLICY[key];
      const [method = ""] = key.split(" ");
      const probe = policy?.own?.(subject(a, "scratch_none"));
      return policy && probe ? [{ key, method, probe, access: policy.access }] : [];
    });
    const proxy = priced(action);
    calls.push({
      key: `proxy ${action.id}`,
      method: proxy.method,
      probe: { path: proxy.path, body: proxy.body, status: 200 },
      access: { kind: "proxy" },
    });
    const before = await dumpBoth(a, b);
    for (const { key, method, probe, access } of calls) {
      for (const value of garbageAuthorizations(a)) {
        const headers: Record<string, string> = value === null ? {} : { authorization: value };
        const cell = `${key} with Authorization ${JSON.stringify(value)?.slice(0, 60)}`;
        const code = access.kind === "operator" ? "unauthorized" : "invalid_key";
        // A public route takes no credentials, so a malformed one changes nothing either.
        const expected =
          access.kind === "public" ? { status: probe.status } : { status: 401, code };
        await expectStatus(await send(method, probe.path, headers, probe.body), expected, cell);
      }
    }
    const after = await dumpBoth(a, b);
    expect(after.b, "B changed").toEqual(before.b);
    // A may gain denial events (a denied priced call is recorded), nothing else.
    expect({ ...after.a, ledger: after.a.ledger.tables }).toEqual({
      ...before.a,
      ledger: before.a.ledger.tables,
    });
  });

  it("has no /v1 path that takes another account's id (404, B unchanged)", async () => {
    const { a, b, auth } = world;
    const before = await dumpBoth(a, b);
    for (const path of [
      `/v1/accounts/${b.id}`,
      `/v1/accounts/${b.id}/balance`,
      `/v1/accounts/${b.id}/teams`,
      `/v1/${b.id}/teams`,
      `/v1/account/${b.id}`,
      `/v1/balance/${b.id}`,
      `/v1/teams/${b.teamId}/../../accounts/${b.id}`,
    ]) {
      for (const principal of ["admin", "finance", "member"] as const) {
        const res = await send("GET", path, auth[principal]);
        const text = await expectStatus(
          res,
          { status: 404, code: "not_found" },
          `${path} as ${principal}`,
        );
        expectNoLeak(text, idsIn(before.b), path, path);
      }
    }
    expect(await dumpBoth(a, b)).toEqual(before);
  });
});

/** Authorization values that are no credential at all, each tried on every route. */
function garbageAuthorizations(a: TestAccount): (string | null)[] {
  const secret = secretOf(a.adminKey);
  return [
    null,
    "",
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "Token abc",
    "Bearer cg_",
    "Bearer cg__",
    `Bearer cg_${a.id}_`,
    `Bearer cg_${a.id}_${secret.toUpperCase()}`,
    `Bearer cg_${a.id}_${secret.slice(1)}`,
    `Bearer ${a.adminKey} ${a.adminKey}`,
    `Bearer ${a.adminKey},Bearer ${a.adminKey}`,
    `bearer ${a.adminKey}`,
    `Bearer cg_nosuchaccount-000_${secret}`,
    `Bearer cg_../${a.id}_${secret}`,
    `Bearer test-operator-token ${a.adminKey}`,
    `Bearer ${"a".repeat(4000)}`,
  ];
}

let records = 0;
/**
 * A request the action prices at one unit (or its declared maximum, if metered). A body record is
 * one never sent before, under every dedupe key the demo uses, so no call is skipped as a repeat.
 */
function priced(action: Action): { method: string; path: string; body?: unknown } {
  let path = action.path.replace(/:[A-Za-z_]+/g, "p1");
  const unit = "unit" in action.price ? action.price.unit : null;
  if (unit?.from === "query") path += `?${unit.param}=1`;
  if (action.method === "GET" || action.method === "DELETE") return { method: action.method, path };
  const n = ++records;
  const record = { domain: `m${n}.example`, email: `m${n}@example.com`, id: `m${n}` };
  const body = unit?.from === "body" ? { [unit.field]: [record] } : {};
  return { method: action.method, path, body };
}

describe("the priced proxy, every catalog action x every principal (I6)", {
  timeout: 120_000,
}, () => {
  let world: World;
  beforeAll(async () => {
    world = await buildWorld();
  });

  it.each(bundledCatalog.actions.map((a) => [a.id, a] as const))(
    "%s: only A's member key spends, and only A's credits",
    async (_id, action) => {
      const { a, b, auth, namingB } = world;
      // The member's seat is `core`: an action that needs another seat is refused by the rules.
      const memberStatus = action.seat && action.seat !== "core" ? 403 : 200;
      let before = await dumpBoth(a, b);
      for (const principal of PRINCIPALS) {
        for (const target of ["own", "other"] as Target[]) {
          const call = priced(action);
          const cell = `${call.method} ${action.path} (${action.id}) as ${principal}, naming ${target === "own" ? "A" : "B"}`;
          const expected = expectedOutcome({ kind: "proxy" }, principal, memberStatus);
          if (principal === "member" && memberStatus === 403) expected.code = "seat_required";
          // The chaos upstream echoes what it received, so the test sees what was forwarded.
          const headers = { ...(target === "other" ? namingB : {}), ...auth[principal] };
          const res = await send(
            call.method,
            call.path,
            { ...headers, "x-chaos-echo": "1" },
            call.body,
          );
          const text = await expectStatus(res, expected, cell);
          const after = await dumpBoth(a, b);
          expect(after.b, `${cell} changed B`).toEqual(before.b);

          const charged = Number(res.headers.get("x-credits-charged") ?? "0");
          expect(remaining(before.a) - remaining(after.a), `${cell}: A's credits`).toBe(charged);
          if (res.status === 200) {
            expect(charged, `${cell}: charged`).toBeGreaterThan(0);
            const echoed = JSON.parse(text) as { headers: Record<string, string> };
            expect(echoed.headers["x-creditgate-account"], cell).toBe(a.id);
            expect(echoed.headers["x-creditgate-member"], cell).toBe(a.memberId);
          } else {
            expect(charged, `${cell}: charged on refusal`).toBe(0);
            for (const table of ["grants", "holds", "entries", "counters", "idempotency"]) {
              expect(after.a.ledger.tables[table], `${cell}: A's ${table}`).toEqual(
                before.a.ledger.tables[table],
              );
            }
            expectNoLeak(text, idsIn(before.b), requestText(call), cell);
          }
          before = after;
        }
      }
    },
  );
});
