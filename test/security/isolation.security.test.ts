/**
 * I6 Isolation: no key of account A reads, changes or spends anything of account B; a member key
 * cannot manage; a finance key can neither manage nor spend; an admin key cannot spend; revoked
 * keys stop at once; account keys and the operator token each stay on their own API.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ProblemBody } from "../support/api";
import {
  balance,
  bearer,
  call,
  enrich,
  grant,
  jsonCall,
  OPERATOR,
  setupAccount,
  type TestAccount,
} from "../support/api";

/** Asserts an RFC 9457 problem with this status (and code, if given); returns its body. */
async function expectProblem(res: Response, status: number, code?: string): Promise<ProblemBody> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as ProblemBody;
  expect(body).toMatchObject({
    status,
    code: code ?? expect.any(String),
    detail: expect.any(String),
    requestId: expect.any(String),
  });
  return body;
}

function send(
  path: string,
  key: string,
  method = "GET",
  json?: unknown,
  extra: Record<string, string> = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...extra, authorization: `Bearer ${key}` };
  if (json !== undefined) headers["content-type"] = "application/json";
  return call(path, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
}

interface Listed {
  id: string;
  revokedAt?: string | null;
}

/** The items of a list endpoint, read with `key`. */
async function list(
  path: "/v1/teams" | "/v1/members" | "/v1/keys",
  key: string,
  extra: Record<string, string> = {},
) {
  const res = await jsonCall<{ data: Listed[] }>(`${path}?limit=200`, {
    headers: { ...extra, ...bearer(key) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data;
}

const ids = (items: Listed[]) => items.map((i) => i.id).sort();

async function read(path: string, key: string) {
  const res = await jsonCall(path, { headers: bearer(key) });
  return { status: res.status, body: res.body };
}

/** Everything an admin can see of an account, to compare before and after. */
async function state(acct: TestAccount) {
  const [teams, members, keys, bal, team, rules, member, account] = await Promise.all([
    list("/v1/teams", acct.adminKey),
    list("/v1/members", acct.adminKey),
    list("/v1/keys", acct.adminKey),
    balance(acct.adminKey),
    read(`/v1/teams/${acct.teamId}`, acct.adminKey),
    read(`/v1/teams/${acct.teamId}/rules`, acct.adminKey),
    read(`/v1/members/${acct.memberId}`, acct.adminKey),
    read("/v1/account", acct.adminKey),
  ]);
  return { teams, members, keys, balance: bal, team, rules, member, account };
}

/** Rules that would change a team's behaviour if they were let through. */
const STRICT_RULES = {
  allowedActions: [],
  allowedCategories: null,
  purpose: { required: true, allowed: ["audit"] },
  memberRateLimitPerMinute: 1,
  teamBudget: 0,
  memberBudget: 0,
};

/** The routes that take a team or member id, each with a body that would change something. */
function byIdRoutes(teamId: string, memberId: string): [string, string, unknown?][] {
  return [
    ["GET", `/v1/teams/${teamId}`],
    ["PATCH", `/v1/teams/${teamId}`, { name: "Renamed by intruder" }],
    ["GET", `/v1/teams/${teamId}/rules`],
    ["PUT", `/v1/teams/${teamId}/rules`, STRICT_RULES],
    ["GET", `/v1/members/${memberId}`],
    ["PATCH", `/v1/members/${memberId}`, { active: false, seat: "none" }],
    ["DELETE", `/v1/members/${memberId}`],
    ["DELETE", `/v1/teams/${teamId}`],
  ];
}

/** The key's secret: what follows the last "_" of `cg_<accountId>_<secret>`. */
function secretOf(key: string): string {
  return key.slice(key.lastIndexOf("_") + 1);
}

async function keyIdOf(acct: TestAccount, role: "admin" | "finance" | "member"): Promise<string> {
  const key = (await list("/v1/keys", acct.adminKey)).find(
    (k) => (k as Listed & { role: string }).role === role,
  );
  if (!key) throw new Error(`no ${role} key in ${acct.id}`);
  return key.id;
}

describe("isolation between accounts (I6)", { timeout: 60_000 }, () => {
  let a: TestAccount;
  let b: TestAccount;
  /** A's requests also name B wherever a client could, so trusting any of it would show. */
  let naming: Record<string, string>;

  beforeAll(async () => {
    [a, b] = await Promise.all([setupAccount(), setupAccount()]);
    // Different balances, so a balance read tells whose ledger answered.
    await grant(b.id, 777);
    naming = { "x-creditgate-account": b.id, "x-creditgate-team": b.teamId };
  });

  it("lists only the caller's own teams, members and keys", async () => {
    const bState = await state(b);
    const bIds = new Set([
      ...ids(bState.teams),
      ...ids(bState.members),
      ...ids(bState.keys),
      b.teamId,
      b.memberId,
    ]);
    for (const key of [a.adminKey, a.financeKey]) {
      const teams = await list("/v1/teams", key, naming);
      const members = await list("/v1/members", key, naming);
      expect(ids(teams)).toEqual([a.teamId]);
      expect(ids(members)).toEqual([a.memberId]);
      for (const id of [...ids(teams), ...ids(members)]) expect(bIds.has(id)).toBe(false);
    }
    const keys = await list("/v1/keys", a.adminKey, naming);
    expect(keys).toHaveLength(3);
    for (const id of ids(keys)) expect(bIds.has(id)).toBe(false);
  });

  it("reads the caller's own balance, whatever account the request names", async () => {
    const own = await balance(a.adminKey);
    const other = await balance(b.adminKey);
    expect(other.available).toBe(own.available + 777);
    for (const key of [a.adminKey, a.financeKey, a.memberKey]) {
      for (const path of [`/v1/balance?accountId=${b.id}`, `/v1/balance?account=${b.id}`]) {
        const res = await jsonCall<{ available: number }>(path, {
          headers: { ...bearer(key), "x-creditgate-account": b.id },
        });
        expect(res.status).toBe(200);
        expect(res.body.available).toBe(own.available);
      }
    }
  });

  it("has no /v1 route that takes another account's id", async () => {
    for (const path of [
      `/v1/accounts/${b.id}`,
      `/v1/accounts/${b.id}/balance`,
      `/v1/accounts/${b.id}/teams`,
      `/v1/${b.id}/teams`,
      `/v1/account/${b.id}`,
    ]) {
      const res = await send(path, a.adminKey, "GET", undefined, naming);
      await expectProblem(res, 404);
    }
    const own = await jsonCall<{ id: string }>("/v1/account", {
      headers: { ...naming, ...bearer(a.adminKey) },
    });
    expect(own.status).toBe(200);
    expect(own.body.id).toBe(a.id);
  });

  it("cannot read or change B's teams and members by id with A's keys (404)", async () => {
    const bBefore = await state(b);
    for (const key of [a.adminKey, a.financeKey]) {
      for (const [method, path, json] of byIdRoutes(b.teamId, b.memberId)) {
        const res = await send(path, key, method, json, naming);
        // Finance may not write at all (403); nobody of A may see that B's ids exist (404).
        const allowed = key === a.financeKey && method !== "GET" ? [403] : [404];
        expect(allowed, `${method} ${path}`).toContain(res.status);
        const body = await expectProblem(res, res.status);
        expect(JSON.stringify(body)).not.toContain("Sales");
      }
    }
    expect(await state(b)).toEqual(bBefore);
    expect((await enrich(b.memberKey, 1)).status).toBe(200);
  });

  it("cannot revoke B's key with A's admin key: 404, and B's key keeps working", async () => {
    const bMemberKeyId = await keyIdOf(b, "member");
    const before = await state(b);
    const revoke = await send(`/v1/keys/${bMemberKeyId}`, a.adminKey, "DELETE", undefined, naming);
    await expectProblem(revoke, 404);
    expect(await state(b)).toEqual(before);
    expect(before.keys.find((k) => k.id === bMemberKeyId)?.revokedAt).toBeNull();
    const res = await enrich(b.memberKey, 1);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-credits-charged")).toBe("10");
  });

  it("cannot create a member in B's team, nor a key for B's member, with A's admin key", async () => {
    const [aBefore, bBefore] = await Promise.all([state(a), state(b)]);
    const member = await send(
      "/v1/members",
      a.adminKey,
      "POST",
      { name: "Intruder", teamId: b.teamId, seat: "core" },
      naming,
    );
    expect([400, 404]).toContain(member.status);
    await expectProblem(member, member.status);
    const key = await send(
      "/v1/keys",
      a.adminKey,
      "POST",
      { role: "member", memberId: b.memberId },
      naming,
    );
    expect([400, 404]).toContain(key.status);
    await expectProblem(key, key.status);
    expect(await state(a)).toEqual(aBefore);
    expect(await state(b)).toEqual(bBefore);
  });

  it("spends only the caller's own credits", async () => {
    const [aBefore, bBefore] = await Promise.all([balance(a.adminKey), balance(b.adminKey)]);
    const res = await enrich(a.memberKey, 2, { "x-creditgate-account": b.id });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-credits-charged")).toBe("20");
    expect((await balance(a.adminKey)).available).toBe(aBefore.available - 20);
    expect(await balance(b.adminKey)).toEqual(bBefore);
  });

  it("refuses A's key with B's account id put in its place (401), spending nothing of B", async () => {
    const bBefore = await state(b);
    for (const key of [a.adminKey, a.financeKey, a.memberKey]) {
      const forged = `cg_${b.id}_${secretOf(key)}`;
      await expectProblem(await enrich(forged, 1), 401, "invalid_key");
      await expectProblem(await send("/v1/balance", forged), 401, "invalid_key");
      await expectProblem(await send("/v1/teams", forged), 401, "invalid_key");
      await expectProblem(await send("/v1/keys", forged), 401, "invalid_key");
      await expectProblem(
        await send("/v1/teams", forged, "POST", { name: "Forged" }),
        401,
        "invalid_key",
      );
      await expectProblem(await send("/v1/keys", forged, "POST", { role: "admin" }), 401);
    }
    expect(await state(b)).toEqual(bBefore);
  });
});

describe("roles (I6)", { timeout: 60_000 }, () => {
  let acct: TestAccount;
  let adminKeyId: string;

  beforeAll(async () => {
    acct = await setupAccount();
    adminKeyId = await keyIdOf(acct, "admin");
  });

  /** The writes (and the key list) only an admin may do; each would change something if let through. */
  const manage = (a: TestAccount, keyId: string): [string, string, unknown?][] => [
    ["POST", "/v1/teams", { name: "Shadow team" }],
    ["POST", "/v1/keys", { role: "admin", name: "escalated" }],
    ["GET", "/v1/keys"],
    ["DELETE", `/v1/keys/${keyId}`],
    ["DELETE", "/v1/keys/x"],
    ["POST", "/v1/members", { name: "Shadow", teamId: a.teamId, seat: "core" }],
    ...byIdRoutes(a.teamId, a.memberId).filter(([method]) => method !== "GET"),
  ];

  it("a member key cannot manage (403) and changes nothing", async () => {
    const before = await state(acct);
    const reads: [string, string][] = [
      ["GET", "/v1/teams"],
      ["GET", "/v1/members"],
      ["GET", "/v1/account"],
      ...byIdRoutes(acct.teamId, acct.memberId).filter(
        (r): r is [string, string] => r[0] === "GET",
      ),
    ];
    for (const [method, path, json] of [...manage(acct, adminKeyId), ...reads]) {
      await expectProblem(await send(path, acct.memberKey, method, json), 403, "forbidden");
    }
    expect(await state(acct)).toEqual(before);
    expect((await send("/v1/balance", acct.memberKey)).status).toBe(200);
    expect((await send("/v1/balance", acct.adminKey)).status).toBe(200);
  });

  it("a finance key cannot manage (403) and changes nothing, but reads", async () => {
    const before = await state(acct);
    for (const [method, path, json] of manage(acct, adminKeyId)) {
      await expectProblem(await send(path, acct.financeKey, method, json), 403, "forbidden");
    }
    expect(await state(acct)).toEqual(before);
    for (const path of [
      "/v1/balance",
      "/v1/teams",
      "/v1/members",
      "/v1/account",
      `/v1/teams/${acct.teamId}`,
      `/v1/members/${acct.memberId}`,
    ]) {
      expect((await send(path, acct.financeKey)).status, path).toBe(200);
    }
  });

  it("finance and admin keys cannot spend: 403, charged 0, balance unchanged", async () => {
    const before = await balance(acct.adminKey);
    for (const key of [acct.financeKey, acct.adminKey]) {
      const res = await enrich(key, 1);
      await expectProblem(res, 403, "forbidden");
      expect(res.headers.get("x-credits-charged")).toBe("0");
    }
    expect(await balance(acct.adminKey)).toEqual(before);
    // The member key of the same account can: the refusals above were about the role.
    expect((await enrich(acct.memberKey, 1)).status).toBe(200);
  });

  it("account keys get 401 on the operator API and change nothing", async () => {
    const before = await state(acct);
    for (const key of [acct.adminKey, acct.financeKey, acct.memberKey]) {
      for (const [method, path, json] of [
        ["GET", "/admin/v1/accounts"],
        ["GET", `/admin/v1/accounts/${acct.id}`],
        ["PATCH", `/admin/v1/accounts/${acct.id}`, { tier: "enterprise" }],
        ["POST", `/admin/v1/accounts/${acct.id}/grants`, { amount: 100000, source: "promo" }],
        ["POST", `/admin/v1/accounts/${acct.id}/keys`, { role: "admin" }],
        ["POST", "/admin/v1/accounts", { name: "Rogue", tier: "enterprise" }],
        ["GET", "/admin/v1/catalog"],
      ] as [string, string, unknown?][]) {
        await expectProblem(await send(path, key, method, json), 401);
      }
    }
    expect(await state(acct)).toEqual(before);
  });

  it("the operator token gets 401 on the account API and the proxy", async () => {
    const token = OPERATOR.authorization.slice("Bearer ".length);
    const before = await state(acct);
    for (const [method, path, json] of [
      ["GET", "/v1/teams"],
      ["GET", "/v1/members"],
      ["GET", "/v1/keys"],
      ["GET", "/v1/balance"],
      ["POST", "/v1/teams", { name: "Operator team" }],
      ["POST", "/v1/keys", { role: "admin" }],
    ] as [string, string, unknown?][]) {
      await expectProblem(await send(path, token, method, json), 401, "invalid_key");
    }
    await expectProblem(await enrich(token, 1), 401, "invalid_key");
    expect(await state(acct)).toEqual(before);
  });

  it("no, empty or garbage Authorization gets a 401 problem everywhere", async () => {
    const validSecret = secretOf(acct.adminKey);
    const garbage: (string | null)[] = [
      null,
      "",
      "Bearer",
      "Bearer ",
      "Basic dXNlcjpwYXNz",
      "Token abc",
      "Bearer cg_",
      "Bearer cg__",
      `Bearer cg_${acct.id}_`,
      `Bearer cg_${acct.id}_${"0".repeat(32)}`,
      `Bearer cg_${acct.id}_${validSecret.toUpperCase()}`,
      `Bearer cg_${acct.id}_${validSecret}x`,
      `Bearer cg_${acct.id}_${validSecret.slice(1)}`,
      `Bearer ${acct.adminKey} ${acct.adminKey}`,
      `Bearer ${acct.adminKey},Bearer ${acct.adminKey}`,
      `Bearer cg_nosuchaccount-000_${validSecret}`,
      `Bearer cg_../${acct.id}_${validSecret}`,
      `Bearer ${"a".repeat(4000)}`,
    ];
    const before = await state(acct);
    for (const value of garbage) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (value !== null) headers.authorization = value;
      const label = JSON.stringify(value)?.slice(0, 60);
      const requests: [string, string, unknown?][] = [
        ["GET", "/v1/teams"],
        ["GET", "/v1/balance"],
        ["GET", "/v1/keys"],
        ["POST", "/v1/teams", { name: "Anonymous" }],
        ["GET", "/admin/v1/accounts"],
        ["POST", `/admin/v1/accounts/${acct.id}/grants`, { amount: 5, source: "promo" }],
        ["POST", "/v1/enrichment/companies", { records: [{ domain: "a.example" }] }],
      ];
      await Promise.all(
        requests.map(async ([method, path, json]) => {
          const res = await call(path, {
            method,
            headers,
            body: json === undefined ? undefined : JSON.stringify(json),
          });
          expect(res.status, `${method} ${path} with ${label}`).toBe(401);
          await expectProblem(res, 401);
        }),
      );
    }
    expect(await state(acct)).toEqual(before);
  });
});

describe("revocation (I6)", { timeout: 60_000 }, () => {
  it("a revoked key gets 401 everywhere on its very next request", async () => {
    const acct = await setupAccount();
    const adminKeyId = await keyIdOf(acct, "admin");
    const second = await jsonCall<{ id: string; key: string }>("/v1/keys", {
      method: "POST",
      headers: bearer(acct.adminKey),
      json: { role: "admin", name: "second admin" },
    });
    expect(second.status).toBe(201);
    const memberKeyId = await keyIdOf(acct, "member");
    const financeKeyId = await keyIdOf(acct, "finance");

    // Each key works right before its revocation, so nothing cached can excuse a late refusal.
    expect((await enrich(acct.memberKey, 1)).status).toBe(200);
    expect((await send("/v1/balance", acct.financeKey)).status).toBe(200);
    expect((await send("/v1/teams", second.body.key)).status).toBe(200);

    for (const id of [memberKeyId, financeKeyId, second.body.id]) {
      const res = await send(`/v1/keys/${id}`, acct.adminKey, "DELETE");
      expect(res.status).toBe(200);
    }
    const before = await balance(acct.adminKey);

    for (const key of [acct.memberKey, acct.financeKey, second.body.key]) {
      const spent = await enrich(key, 1);
      await expectProblem(spent, 401, "invalid_key");
      expect(spent.headers.get("x-credits-charged") ?? "0").toBe("0");
      for (const [method, path, json] of [
        ["GET", "/v1/balance"],
        ["GET", "/v1/teams"],
        ["GET", "/v1/members"],
        ["GET", "/v1/keys"],
        ["POST", "/v1/teams", { name: "Ghost" }],
        ["POST", "/v1/keys", { role: "admin" }],
        ["DELETE", `/v1/keys/${memberKeyId}`],
      ] as [string, string, unknown?][]) {
        await expectProblem(await send(path, key, method, json), 401, "invalid_key");
      }
    }
    expect(await balance(acct.adminKey)).toEqual(before);
    expect(ids(await list("/v1/teams", acct.adminKey))).toEqual([acct.teamId]);
    const keys = await list("/v1/keys", acct.adminKey);
    expect(keys.filter((k) => k.revokedAt === null).map((k) => k.id)).toEqual([adminKeyId]);
  });
});
