/**
 * Bad input on every management endpoint: wrong types, unknown and missing fields, credits out
 * of range, over-long or control-character text, malformed JSON, wrong content types, bodies
 * over 1 MiB, bad list parameters. Each gets a 4xx problem+json (never a 500) and changes
 * nothing: the account, its balance and grants, its teams, members and keys, and the directory
 * read the same before and after.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { bundledCatalog } from "../../src/catalog";
import type { ProblemBody } from "../support/api";
import { bearer, OPERATOR, setupAccount, type TestAccount } from "../support/api";

// The worker's own app (src/index.ts builds the same), called directly: going through
// `exports.default.fetch` costs more with every call, and this file makes a few thousand.
const app = createApp({ catalog: bundledCatalog });

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://gateway.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** Marks everything a bad request might create, so the directory check can find it. */
const MARK = `bad-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
/** An account id that no case may create: requests naming it must get 404. */
const MISSING_ID = `${MARK}-missing`;
let created = 0;
/** A fresh id for each account a case tries to create, so one that slips through harms no other. */
const newAccountId = () => `${MARK}-new-${++created}`;
const MIB = 1024 * 1024;

type Auth = "operator" | "admin" | "member" | "none";
type Body = { json: unknown } | { raw: string | (() => ReadableStream<Uint8Array>) } | null;

interface Case {
  name: string;
  method: string;
  path: (a: TestAccount) => string;
  auth: Auth;
  body: (a: TestAccount) => Body;
  /** Content-Type sent with a body; `null` sends none. Default: application/json. */
  contentType?: string | null;
  /** The expected status, or a list of acceptable ones. Default 400. */
  status?: number | number[];
}

/** A body of `size` bytes that is otherwise a valid request: only its size is wrong. */
function bigJson(fields: Record<string, unknown>, size = MIB + 64): string {
  const head = JSON.stringify({ ...fields, note: "" }).slice(0, -2);
  return `${head}${"x".repeat(Math.max(0, size - head.length - 2))}"}`;
}

/** The same, streamed in 64 KiB chunks with no Content-Length. */
function streamOf(text: string): () => ReadableStream<Uint8Array> {
  return () => {
    const bytes = new TextEncoder().encode(text);
    let offset = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.length) {
          controller.close();
          return;
        }
        controller.enqueue(bytes.slice(offset, offset + 64 * 1024));
        offset += 64 * 1024;
      },
    });
  };
}

const CREDITS_BAD: [string, unknown][] = [
  ["-1", -1],
  ["0", 0],
  ["1.5", 1.5],
  ["1e13", 1e13],
  ['"10"', "10"],
  ["2**53", 2 ** 53],
  ["10**12 + 1", 1e12 + 1],
  ["null", null],
  ["true", true],
  ["[10]", [10]],
  ["{}", {}],
];

const NAMES_BAD: [string, unknown][] = [
  ["empty", ""],
  ["blank", "   "],
  ["121 characters", "x".repeat(121)],
  ["a number", 42],
  ["null", null],
  ["an array", ["Sales"]],
  ["an object", { first: "Sales" }],
];

/** Control and invisible-formatting characters that have no place in a display name. */
const NAMES_CONTROL: [string, string][] = [
  ["NUL", "Sales\u0000"],
  ["a newline", "Sales\nTeam"],
  ["ESC (terminal escape)", "\u001b[31mSales"],
  ["DEL", "Sales\u007f"],
  ["a C1 control (NEL)", "Sales\u0085"],
  ["a right-to-left override", "Sales\u202efdp.exe"],
  ["a lone surrogate", "Sales\ud800"],
];

const LIST_QUERIES: [string, string][] = [
  ["limit=0", "?limit=0"],
  ["limit=-1", "?limit=-1"],
  ["limit=abc", "?limit=abc"],
  ["limit=1.5", "?limit=1.5"],
  ["limit=1000", "?limit=1000"],
  ["limit=201", "?limit=201"],
  ["limit=Infinity", "?limit=Infinity"],
  ["an empty limit", "?limit="],
  ["limit twice", "?limit=1&limit=2"],
  ["an empty cursor", "?cursor="],
  ["a 129-character cursor", `?cursor=${"c".repeat(129)}`],
  ["an unknown parameter", "?accountId=someone-else"],
];

const MALFORMED: [string, string][] = [
  ["truncated JSON", '{"name":'],
  ["unquoted keys", "{name: 1}"],
  ["trailing garbage", '{"name":"x"} trailing'],
  ["an empty body", ""],
  ["a bare word", "undefined"],
  ["single quotes", "{'name':'x'}"],
];

/** The JSON endpoints: how to reach each, and a valid body to spoil. */
interface Writer {
  label: string;
  method: string;
  path: (a: TestAccount) => string;
  auth: Auth;
  valid: (a: TestAccount) => Record<string, unknown>;
  /** The fields holding a display name. */
  names: string[];
}

const WRITERS: Writer[] = [
  {
    label: "POST /admin/v1/accounts",
    method: "POST",
    path: () => "/admin/v1/accounts",
    auth: "operator",
    valid: () => ({ id: newAccountId(), name: `${MARK} account`, plan: "starter" }),
    names: ["name"],
  },
  {
    label: "PATCH /admin/v1/accounts/{id}",
    method: "PATCH",
    path: (a) => `/admin/v1/accounts/${a.id}`,
    auth: "operator",
    valid: () => ({ name: `${MARK} renamed`, plan: "enterprise" }),
    names: ["name"],
  },
  {
    label: "POST /admin/v1/accounts/{id}/grants",
    method: "POST",
    path: (a) => `/admin/v1/accounts/${a.id}/grants`,
    auth: "operator",
    valid: () => ({ amount: 1000, source: "pack", note: MARK }),
    names: [],
  },
  {
    label: "POST /admin/v1/accounts/{id}/keys",
    method: "POST",
    path: (a) => `/admin/v1/accounts/${a.id}/keys`,
    auth: "operator",
    valid: () => ({ role: "admin", name: `${MARK} key` }),
    names: ["name"],
  },
  {
    label: "POST /v1/teams",
    method: "POST",
    path: () => "/v1/teams",
    auth: "admin",
    valid: () => ({ name: `${MARK} team` }),
    names: ["name"],
  },
  {
    label: "POST /v1/members",
    method: "POST",
    path: () => "/v1/members",
    auth: "admin",
    valid: (a) => ({ name: `${MARK} member`, teamId: a.teamId, seat: "core" }),
    names: ["name"],
  },
  {
    label: "POST /v1/keys",
    method: "POST",
    path: () => "/v1/keys",
    auth: "admin",
    valid: () => ({ role: "finance", name: `${MARK} key` }),
    names: ["name"],
  },
  {
    label: "PATCH /v1/teams/{id}",
    method: "PATCH",
    path: (a) => `/v1/teams/${a.teamId}`,
    auth: "admin",
    valid: () => ({ name: `${MARK} renamed team` }),
    names: ["name"],
  },
  {
    label: "PATCH /v1/members/{id}",
    method: "PATCH",
    path: (a) => `/v1/members/${a.memberId}`,
    auth: "admin",
    valid: () => ({ name: `${MARK} renamed member`, seat: "sales", budget: 100 }),
    names: ["name"],
  },
  {
    label: "PUT /v1/teams/{id}/rules",
    method: "PUT",
    path: (a) => `/v1/teams/${a.teamId}/rules`,
    auth: "admin",
    valid: () => ({
      allowedActions: ["enrichment.company"],
      allowedCategories: null,
      purpose: { required: true, allowed: ["audit"] },
      memberRateLimitPerMinute: 5,
      teamBudget: 100,
      memberBudget: null,
    }),
    names: [],
  },
];

const without = (o: Record<string, unknown>, field: string) =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== field));

/** Cases every JSON endpoint shares: shape, names, JSON syntax, content type, size. */
function commonCases(w: Writer): Case[] {
  const c = (name: string, body: Case["body"], extra: Partial<Case> = {}): Case => ({
    name: `${w.label}: ${name}`,
    method: w.method,
    path: w.path,
    auth: w.auth,
    body,
    ...extra,
  });
  const cases: Case[] = [
    c("an unknown field", (a) => ({ json: { ...w.valid(a), accountId: "someone-else" } })),
    c("a createdAt field", (a) => ({ json: { ...w.valid(a), createdAt: "2020-01-01T00:00:00Z" } })),
    c("a __proto__ field", (a) => ({
      raw: JSON.stringify(w.valid(a)).replace(/^\{/, '{"__proto__":{"admin":true},'),
    })),
    c("a JSON array", (a) => ({ json: [w.valid(a)] })),
    c("JSON null", () => ({ json: null })),
    c("a JSON string", () => ({ json: "name" })),
    c("a JSON number", () => ({ json: 42 })),
    ...MALFORMED.map(([label, raw]) => c(label, () => ({ raw }))),
    c("100 000 nested arrays", () => ({
      raw: `{"name":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
    })),
    c("text/plain", (a) => ({ raw: JSON.stringify(w.valid(a)) }), {
      contentType: "text/plain",
      status: 415,
    }),
    c("form-encoded", () => ({ raw: "name=x&plan=starter&role=admin&amount=5" }), {
      contentType: "application/x-www-form-urlencoded",
      status: 415,
    }),
    c("no Content-Type", (a) => ({ raw: JSON.stringify(w.valid(a)) }), {
      contentType: null,
      status: 415,
    }),
    c("a body over 1 MiB", (a) => ({ raw: bigJson(w.valid(a)) }), { status: 413 }),
    c("a streamed body over 1 MiB", (a) => ({ raw: streamOf(bigJson(w.valid(a))) }), {
      status: 413,
    }),
  ];
  for (const field of w.names) {
    for (const [label, value] of [...NAMES_BAD, ...NAMES_CONTROL]) {
      cases.push(c(`${field} ${label}`, (a) => ({ json: { ...w.valid(a), [field]: value } })));
    }
  }
  return cases;
}

const ACCOUNTS = WRITERS[0] as Writer;
const PATCH = WRITERS[1] as Writer;
const GRANTS = WRITERS[2] as Writer;
const BOOTSTRAP = WRITERS[3] as Writer;
const TEAMS = WRITERS[4] as Writer;
const MEMBERS = WRITERS[5] as Writer;
const KEYS = WRITERS[6] as Writer;
const TEAM_PATCH = WRITERS[7] as Writer;
const MEMBER_PATCH = WRITERS[8] as Writer;
const RULES = WRITERS[9] as Writer;

/** A case of `w` whose body is its valid body changed by `change`. */
function spoil(
  w: Writer,
  name: string,
  change: (valid: Record<string, unknown>, a: TestAccount) => unknown,
  extra: Partial<Case> = {},
): Case {
  return {
    name: `${w.label}: ${name}`,
    method: w.method,
    path: w.path,
    auth: w.auth,
    body: (a) => ({ json: change(w.valid(a), a) }),
    ...extra,
  };
}

/** A case that sends `w`'s valid body to another path. */
function elsewhere(w: Writer, name: string, path: Case["path"], status: number | number[]): Case {
  return {
    name: `${w.label}: ${name}`,
    method: w.method,
    path,
    auth: w.auth,
    body: (a) => ({ json: w.valid(a) }),
    status,
  };
}

const CASES: Case[] = [
  ...WRITERS.flatMap(commonCases),

  // Accounts.
  spoil(ACCOUNTS, "no name", (v) => without(v, "name")),
  spoil(ACCOUNTS, "no plan", (v) => without(v, "plan")),
  spoil(ACCOUNTS, "an unknown plan", (v) => ({ ...v, plan: "platinum" })),
  spoil(ACCOUNTS, "plan in capitals", (v) => ({ ...v, plan: "STARTER" })),
  spoil(ACCOUNTS, "billingAnchorDay 0", (v) => ({ ...v, billingAnchorDay: 0 })),
  spoil(ACCOUNTS, "billingAnchorDay 32", (v) => ({ ...v, billingAnchorDay: 32 })),
  spoil(ACCOUNTS, "billingAnchorDay 1.5", (v) => ({ ...v, billingAnchorDay: 1.5 })),
  spoil(ACCOUNTS, 'billingAnchorDay "5"', (v) => ({ ...v, billingAnchorDay: "5" })),
  spoil(ACCOUNTS, "an id in capitals", (v) => ({ ...v, id: newAccountId().toUpperCase() })),
  spoil(ACCOUNTS, "an id with '_' (breaks cg_<id>_<secret>)", (v) => ({
    ...v,
    id: `${newAccountId()}_x`,
  })),
  spoil(ACCOUNTS, "an id of 2 characters", (v) => ({ ...v, id: "ab" })),
  spoil(ACCOUNTS, "an id of 41 characters", (v) => ({
    ...v,
    id: `${newAccountId()}${"x".repeat(41)}`,
  })),
  spoil(ACCOUNTS, "an id with a slash", (v) => ({ ...v, id: `${newAccountId()}/x` })),
  spoil(ACCOUNTS, "a numeric id", (v) => ({ ...v, id: 12345 })),
  spoil(ACCOUNTS, "overagePolicy (not settable)", (v) => ({ ...v, overagePolicy: "allow" })),
  spoil(ACCOUNTS, "credits (not settable)", (v) => ({ ...v, credits: 1_000_000 })),
  spoil(ACCOUNTS, "an existing id with other settings", (v, a) => ({ ...v, id: a.id }), {
    status: 409,
  }),
  spoil(
    ACCOUNTS,
    "an existing id with the same settings",
    (_, a) => ({ id: a.id, name: `Test ${a.id}`, plan: "professional", billingAnchorDay: 1 }),
    { status: 409 },
  ),

  // Patching an account.
  spoil(PATCH, "an unknown plan", () => ({ plan: "platinum" })),
  spoil(PATCH, "plan null", () => ({ plan: null })),
  spoil(PATCH, "the id", () => ({ id: "someone-else" })),
  spoil(PATCH, "billingAnchorDay (not patchable)", () => ({ billingAnchorDay: 5 })),
  spoil(PATCH, "overagePolicy (not patchable)", () => ({ overagePolicy: "allow" })),
  elsewhere(PATCH, "an account that does not exist", () => `/admin/v1/accounts/${MISSING_ID}`, 404),
  elsewhere(PATCH, "a 65-character id", () => `/admin/v1/accounts/${"a".repeat(65)}`, 400),

  // Grants.
  ...CREDITS_BAD.map(([label, amount]) =>
    spoil(GRANTS, `amount ${label}`, (v) => ({ ...v, amount })),
  ),
  ...[
    ["-0", "-0"],
    ["1e999 (Infinity)", "1e999"],
    ["-1e999", "-1e999"],
    ["9007199254740993", "9007199254740993"],
  ].map(
    ([label, raw]): Case => ({
      name: `${GRANTS.label}: amount ${label}`,
      method: "POST",
      path: GRANTS.path,
      auth: "operator",
      body: () => ({ raw: `{"amount":${raw},"source":"pack"}` }),
    }),
  ),
  spoil(GRANTS, "no amount", (v) => without(v, "amount")),
  spoil(GRANTS, "no source", (v) => without(v, "source")),
  spoil(GRANTS, 'source "included" (issued by the period only)', (v) => ({
    ...v,
    source: "included",
  })),
  spoil(GRANTS, "an unknown source", (v) => ({ ...v, source: "gift" })),
  spoil(GRANTS, "priority -1", (v) => ({ ...v, priority: -1 })),
  spoil(GRANTS, "priority 1001", (v) => ({ ...v, priority: 1001 })),
  spoil(GRANTS, "priority 1.5", (v) => ({ ...v, priority: 1.5 })),
  spoil(GRANTS, 'priority "1"', (v) => ({ ...v, priority: "1" })),
  spoil(GRANTS, "expiresAt not a date", (v) => ({ ...v, expiresAt: "tomorrow" })),
  spoil(GRANTS, "expiresAt without a zone", (v) => ({ ...v, expiresAt: "2099-01-01T00:00:00" })),
  spoil(GRANTS, "expiresAt month 13", (v) => ({ ...v, expiresAt: "2099-13-01T00:00:00Z" })),
  spoil(GRANTS, "expiresAt as epoch millis", (v) => ({ ...v, expiresAt: 4_102_444_800_000 })),
  spoil(GRANTS, "expiresAt in the past", (v) => ({ ...v, expiresAt: "2000-01-01T00:00:00Z" })),
  spoil(GRANTS, "expiresAt before effectiveAt", (v) => ({
    ...v,
    effectiveAt: "2099-06-01T00:00:00Z",
    expiresAt: "2099-01-01T00:00:00Z",
  })),
  spoil(GRANTS, "a 501-character note", (v) => ({ ...v, note: "n".repeat(501) })),
  spoil(GRANTS, "remaining (not settable)", (v) => ({ ...v, remaining: 5 })),
  elsewhere(
    GRANTS,
    "an account that does not exist",
    () => `/admin/v1/accounts/${MISSING_ID}/grants`,
    404,
  ),
  elsewhere(
    GRANTS,
    "a 65-character account id",
    () => `/admin/v1/accounts/${"a".repeat(65)}/grants`,
    400,
  ),

  // Keys, bootstrapped by the operator or created by the account's admin.
  ...[BOOTSTRAP, KEYS].flatMap((w) => [
    spoil(w, "no role", (v) => without(v, "role")),
    spoil(w, "an unknown role", (v) => ({ ...v, role: "owner" })),
    spoil(w, "role in capitals", (v) => ({ ...v, role: "ADMIN" })),
    spoil(w, "a member key without memberId", (v) => ({ ...v, role: "member" })),
    spoil(w, "an admin key with a memberId", (v, a) => ({
      ...v,
      role: "admin",
      memberId: a.memberId,
    })),
    spoil(w, "a finance key with a memberId", (v, a) => ({
      ...v,
      role: "finance",
      memberId: a.memberId,
    })),
    spoil(w, "a member that does not exist", (v) => ({
      ...v,
      role: "member",
      memberId: "member_doesnotexist000000",
    })),
    spoil(w, "a 65-character memberId", (v) => ({
      ...v,
      role: "member",
      memberId: "m".repeat(65),
    })),
    spoil(w, "a chosen secret", (v, a) => ({ ...v, key: `cg_${a.id}_${"0".repeat(32)}` })),
    spoil(w, "a chosen hash", (v) => ({ ...v, hash: "0".repeat(64) })),
    spoil(w, "a chosen id", (v) => ({ ...v, id: "key_chosen" })),
  ]),
  elsewhere(
    BOOTSTRAP,
    "an account that does not exist",
    () => `/admin/v1/accounts/${MISSING_ID}/keys`,
    404,
  ),

  // Teams and members.
  spoil(TEAMS, "no name", () => ({})),
  spoil(TEAMS, "a chosen id", (v) => ({ ...v, id: "team_chosen" })),
  spoil(TEAMS, "rules (not settable here)", (v) => ({ ...v, rules: { allow: ["*"] } })),
  spoil(MEMBERS, "no teamId", (v) => without(v, "teamId")),
  spoil(MEMBERS, "no seat", (v) => without(v, "seat")),
  spoil(MEMBERS, "no name", (v) => without(v, "name")),
  spoil(MEMBERS, "an unknown seat", (v) => ({ ...v, seat: "gold" })),
  spoil(MEMBERS, "a team that does not exist", (v) => ({ ...v, teamId: "team_doesnotexist00000" })),
  spoil(MEMBERS, "a numeric teamId", (v) => ({ ...v, teamId: 7 })),
  spoil(MEMBERS, "a 65-character teamId", (v) => ({ ...v, teamId: "t".repeat(65) })),
  spoil(MEMBERS, "active false (not settable here)", (v) => ({ ...v, active: false })),

  // Renaming and moving teams and members.
  spoil(TEAM_PATCH, "no name", () => ({})),
  spoil(TEAM_PATCH, "a new id", (v) => ({ ...v, id: "team_chosen" })),
  elsewhere(
    TEAM_PATCH,
    "a team that does not exist",
    () => "/v1/teams/team_doesnotexist00000",
    404,
  ),
  elsewhere(TEAM_PATCH, "a 65-character id", () => `/v1/teams/${"t".repeat(65)}`, 400),
  spoil(MEMBER_PATCH, "an unknown seat", (v) => ({ ...v, seat: "gold" })),
  spoil(MEMBER_PATCH, 'active "false"', (v) => ({ ...v, active: "false" })),
  spoil(MEMBER_PATCH, "a team that does not exist", (v) => ({
    ...v,
    teamId: "team_doesnotexist00000",
  })),
  ...CREDITS_BAD.filter(([label]) => label !== "0" && label !== "null").map(([label, budget]) =>
    spoil(MEMBER_PATCH, `budget ${label}`, (v) => ({ ...v, budget })),
  ),
  elsewhere(MEMBER_PATCH, "a member that does not exist", () => "/v1/members/member_nope000", 404),

  // Team rules: every field is required; credits and limits are bounded integers.
  ...[
    "allowedActions",
    "allowedCategories",
    "purpose",
    "memberRateLimitPerMinute",
    "teamBudget",
    "memberBudget",
  ].map((field) => spoil(RULES, `no ${field}`, (v) => without(v, field))),
  ...CREDITS_BAD.filter(([label]) => label !== "0" && label !== "null").flatMap(
    ([label, value]) => [
      spoil(RULES, `teamBudget ${label}`, (v) => ({ ...v, teamBudget: value })),
      spoil(RULES, `memberBudget ${label}`, (v) => ({ ...v, memberBudget: value })),
    ],
  ),
  spoil(RULES, "memberRateLimitPerMinute 0", (v) => ({ ...v, memberRateLimitPerMinute: 0 })),
  spoil(RULES, "memberRateLimitPerMinute 1.5", (v) => ({ ...v, memberRateLimitPerMinute: 1.5 })),
  spoil(RULES, "an action id that is not one", (v) => ({ ...v, allowedActions: ["DROP TABLE"] })),
  spoil(RULES, "an unknown category", (v) => ({ ...v, allowedCategories: ["payroll"] })),
  spoil(RULES, "101 allowed actions", (v) => ({
    ...v,
    allowedActions: Array.from({ length: 101 }, () => "enrichment.company"),
  })),
  spoil(RULES, "a purpose with a newline", (v) => ({
    ...v,
    purpose: { required: true, allowed: ["audit\nx"] },
  })),
  spoil(RULES, "purpose.required as a string", (v) => ({
    ...v,
    purpose: { required: "yes", allowed: null },
  })),
  elsewhere(
    RULES,
    "a team that does not exist",
    () => "/v1/teams/team_doesnotexist00000/rules",
    404,
  ),

  // The account's policy, set by the operator.
  ...CREDITS_BAD.filter(([label]) => label !== "0" && label !== "null").flatMap(
    ([label, value]) => [
      spoil(PATCH, `monthlySpendCap ${label}`, () => ({ monthlySpendCap: value })),
      spoil(PATCH, `rolloverCap ${label}`, () => ({ rolloverCap: value })),
      spoil(PATCH, `overage.limit ${label}`, () => ({
        overage: { policy: "allow", limit: value },
      })),
      spoil(PATCH, `an action cap of ${label}`, () => ({
        actionCaps: { "enrichment.company": value },
      })),
    ],
  ),
  spoil(PATCH, "an unknown overage policy", () => ({ overage: { policy: "unlimited", limit: 0 } })),
  spoil(PATCH, "an action cap on a malformed action id", () => ({ actionCaps: { "../x": 5 } })),

  // Quotes (member keys): a known action and a unit count in range.
  ...[
    ["no action", ""],
    ["an unknown action", "?action=enrichment.nothing"],
    ["units=0", "?action=enrichment.company&units=0"],
    ["units=-1", "?action=enrichment.company&units=-1"],
    ["units=abc", "?action=enrichment.company&units=abc"],
    ["units=1.5", "?action=enrichment.company&units=1.5"],
    ["units over the action's maximum", "?action=enrichment.company&units=101"],
    ["units=1e10", "?action=enrichment.company&units=1e10"],
    ["an unknown parameter", "?action=enrichment.company&account=someone-else"],
    ["action twice", "?action=enrichment.company&action=ai.generate"],
  ].map(
    ([what, query]): Case => ({
      name: `GET /v1/quote: ${what}`,
      method: "GET",
      path: () => `/v1/quote${query}`,
      auth: "member",
      body: () => null,
    }),
  ),

  // List parameters.
  ...(
    [
      ["GET /admin/v1/accounts", "/admin/v1/accounts", "operator"],
      ["GET /v1/teams", "/v1/teams", "admin"],
      ["GET /v1/members", "/v1/members", "admin"],
      ["GET /v1/keys", "/v1/keys", "admin"],
    ] as const
  ).flatMap(([label, path, auth]) =>
    LIST_QUERIES.map(
      ([what, query]): Case => ({
        name: `${label}: ${what}`,
        method: "GET",
        path: () => `${path}${query}`,
        auth,
        body: () => null,
      }),
    ),
  ),

  // Reading and revoking by id.
  ...(
    [
      ["GET /admin/v1/accounts/{id}", "GET", "/admin/v1/accounts/", "operator"],
      ["DELETE /v1/keys/{id}", "DELETE", "/v1/keys/", "admin"],
    ] as const
  ).flatMap(([label, method, prefix, auth]) =>
    (
      [
        ["a 65-character id", "a".repeat(65), 400],
        ["an id that does not exist", "key_doesnotexist0000000", 404],
        ["an encoded NUL", "%00", [400, 404]],
        ["a Unicode id", "%D0%BA%D0%BB%D1%8E%D1%87", 404],
        ["an encoded slash", "a%2Fb", [400, 404]],
      ] as const
    ).map(
      ([what, id, status]): Case => ({
        name: `${label}: ${what}`,
        method,
        path: () => `${prefix}${id}`,
        auth,
        body: () => null,
        status: [...[status].flat()],
      }),
    ),
  ),

  // Methods the API does not have.
  ...(
    [
      ["PUT", "/admin/v1/accounts/{id}", "operator"],
      ["DELETE", "/admin/v1/accounts/{id}", "operator"],
      ["PUT", "/v1/teams", "admin"],
      ["DELETE", "/v1/teams", "admin"],
      ["PATCH", "/v1/keys/{key}", "admin"],
      ["POST", "/v1/balance", "admin"],
      ["DELETE", "/v1/balance", "admin"],
    ] as const
  ).map(
    ([method, path, auth]): Case => ({
      name: `${method} ${path} (no such operation)`,
      method,
      path: (a) => path.replace("{id}", a.id).replace("{key}", "key_x"),
      auth,
      body: () => (method === "DELETE" ? null : { json: { name: "x", plan: "enterprise" } }),
      status: [404, 405],
    }),
  ),
];

/** Every endpoint without credentials. */
const ANONYMOUS: Case[] = [
  ["POST", "/admin/v1/accounts"],
  ["GET", "/admin/v1/accounts"],
  ["GET", "/admin/v1/accounts/{id}"],
  ["PATCH", "/admin/v1/accounts/{id}"],
  ["POST", "/admin/v1/accounts/{id}/grants"],
  ["POST", "/admin/v1/accounts/{id}/keys"],
  ["POST", "/v1/teams"],
  ["GET", "/v1/teams"],
  ["POST", "/v1/members"],
  ["GET", "/v1/members"],
  ["POST", "/v1/keys"],
  ["GET", "/v1/keys"],
  ["DELETE", "/v1/keys/{key}"],
  ["GET", "/v1/balance"],
  ["GET", "/v1/account"],
  ["GET", "/v1/teams/{team}"],
  ["PATCH", "/v1/teams/{team}"],
  ["DELETE", "/v1/teams/{team}"],
  ["GET", "/v1/teams/{team}/rules"],
  ["PUT", "/v1/teams/{team}/rules"],
  ["GET", "/v1/members/{member}"],
  ["PATCH", "/v1/members/{member}"],
  ["DELETE", "/v1/members/{member}"],
  ["GET", "/v1/quote?action=enrichment.company"],
].map(
  ([method, path]): Case => ({
    name: `${method} ${path} without credentials`,
    method: method as string,
    path: (a) =>
      (path as string)
        .replace("{id}", a.id)
        .replace("{key}", "key_x")
        .replace("{team}", a.teamId)
        .replace("{member}", a.memberId),
    auth: "none",
    body: (a) =>
      method === "GET" || method === "DELETE"
        ? null
        : {
            json: {
              id: newAccountId(),
              name: MARK,
              plan: "starter",
              amount: 5,
              source: "pack",
              role: "admin",
              teamId: a.teamId,
              seat: "core",
            },
          },
    status: 401,
  }),
);

describe("bad input on the management API", { timeout: 120_000 }, () => {
  let acct: TestAccount;

  beforeAll(async () => {
    acct = await setupAccount();
  });

  /** Everything a bad request could have changed. */
  async function snapshot() {
    const read = async (path: string, headers: Record<string, string>) => {
      const res = await call(path, { headers });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    const admin = bearer(acct.adminKey);
    const [account, balance, teams, members, keys, team, rules, member, directory] =
      await Promise.all([
        read(`/admin/v1/accounts/${acct.id}`, OPERATOR),
        read("/v1/balance", admin),
        read("/v1/teams?limit=200", admin),
        read("/v1/members?limit=200", admin),
        read("/v1/keys?limit=200", admin),
        read(`/v1/teams/${acct.teamId}`, admin),
        read(`/v1/teams/${acct.teamId}/rules`, admin),
        read(`/v1/members/${acct.memberId}`, admin),
        env.DB.prepare(
          "SELECT * FROM accounts WHERE id = ? OR id LIKE ? OR name LIKE ? ORDER BY id",
        )
          .bind(acct.id, `${MARK}%`, `%${MARK}%`)
          .all(),
      ]);
    return {
      account,
      balance,
      teams,
      members,
      keys,
      team,
      rules,
      member,
      directory: directory.results,
    };
  }

  function request(c: Case): Promise<Response> {
    const headers = new Headers();
    if (c.auth === "operator") headers.set("authorization", OPERATOR.authorization);
    if (c.auth === "admin") headers.set("authorization", `Bearer ${acct.adminKey}`);
    if (c.auth === "member") headers.set("authorization", `Bearer ${acct.memberKey}`);
    const body = c.body(acct);
    let init: BodyInit | null = null;
    if (body !== null) {
      init =
        "json" in body
          ? JSON.stringify(body.json)
          : typeof body.raw === "string"
            ? body.raw
            : body.raw();
      const type = c.contentType === undefined ? "application/json" : c.contentType;
      if (type !== null) headers.set("content-type", type);
    }
    return call(c.path(acct), { method: c.method, headers, body: init });
  }

  for (const c of [...CASES, ...ANONYMOUS]) {
    it(c.name, async () => {
      const before = await snapshot();
      expect(before.account.status).toBe(200);
      const res = await request(c);
      const text = await res.text();
      const allowed = [c.status ?? 400].flat();
      expect(allowed, `${res.status} ${text.slice(0, 300)}`).toContain(res.status);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      const problem = JSON.parse(text) as ProblemBody;
      expect(problem).toMatchObject({
        status: res.status,
        code: expect.stringMatching(/^[a-z_]+$/),
        detail: expect.any(String),
        requestId: res.headers.get("x-request-id"),
      });
      expect(await snapshot()).toEqual(before);
    });
  }

  it("a body that is not JSON by its Content-Type gets 415 unsupported_media_type", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
      const res = await call("/v1/teams", {
        method: "POST",
        headers: { ...bearer(acct.adminKey), "content-type": type },
        body: JSON.stringify({ name: `${MARK} typed` }),
      });
      expect(res.status).toBe(415);
      expect(await res.json()).toMatchObject({ status: 415, code: "unsupported_media_type" });
    }
  });

  it("accepts ordinary Unicode in names (the refusals above are not about non-ASCII)", async () => {
    for (const name of ["Zoë Ångström", "営業チーム", "Équipe ✓", "Ventas 🚀"]) {
      const res = await call("/v1/teams", {
        method: "POST",
        headers: { ...bearer(acct.adminKey), "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      expect(res.status).toBe(201);
      expect(((await res.json()) as { name: string }).name).toBe(name);
    }
  });
});
