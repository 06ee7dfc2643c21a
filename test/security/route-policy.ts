/**
 * The expected access of every mounted route, in ONE table keyed by "METHOD path" (the path as
 * Hono lists it in `app.routes`, `:id` for a parameter). The isolation matrix enumerates the
 * app's routes and fails on any route this table does not name, so a new route cannot ship
 * without a declared policy and a probe that exercises it.
 */
import type { Role } from "../../src/ledger/contract";

export type Access =
  /** `Authorization: Bearer $OPERATOR_TOKEN` only; any account key gets 401. */
  | { kind: "operator" }
  /** Account keys of these roles; other roles 403, the operator token and bad keys 401. */
  | { kind: "account"; roles: readonly Role[] }
  /** The priced proxy: the matrix probes every catalog action, member keys only. */
  | { kind: "proxy" }
  /** No credentials: every principal, and any Authorization at all, gets the same answer. */
  | { kind: "public" };

/** The ids of one account a request can name; `scratch` is made fresh for each cell. */
export interface Subject {
  id: string;
  teamId: string;
  memberId: string;
  /** A team, member or key created just before the call, for routes that consume one. */
  scratch: string;
}

export interface Probe {
  path: string;
  body?: unknown;
  /** The status when the caller holds the access the route declares. */
  status: number;
}

export interface RoutePolicy {
  access: Access;
  /** What each call consumes, created in the target account before the state snapshot. */
  scratch?: "team" | "member" | "key";
  /** A request about the caller's own account (`target` is A), expected to succeed. */
  own?: (target: Subject) => Probe;
  /** The same request aimed at the other account (`target` is B): its ids in path and body. */
  other?: (target: Subject) => Probe;
}

const admin: Access = { kind: "account", roles: ["admin"] };
const readers: Access = { kind: "account", roles: ["admin", "finance"] };
const operator: Access = { kind: "operator" };

/** Rules that change nothing, so an admitted PUT leaves later proxy cells working. */
const OPEN_RULES = {
  allowedActions: null,
  allowedCategories: null,
  purpose: { required: false, allowed: null },
  memberRateLimitPerMinute: null,
  teamBudget: null,
  memberBudget: null,
};
/** Rules that would lock a team out, were they let through. */
const STRICT_RULES = { ...OPEN_RULES, allowedActions: [], teamBudget: 0, memberBudget: 0 };

let fresh = 0;
/** A new account id the operator may create (valid under ACCOUNT_ID_PATTERN). */
const freshAccountId = () => `mx-${Date.now().toString(36)}-${++fresh}`;

/** A request with no id to swap: B is named only in the headers (which every call sends). */
const sameFor = (path: string, status: number, body?: unknown) => ({
  own: () => ({ path, status, body }),
  other: () => ({ path, status, body }),
});

let outcomes = 0;
const outcomeReport = () => ({
  id: `matrix-outcome-${Date.now().toString(36)}-${++outcomes}`,
  kind: "meeting_booked",
  recordKey: "acme.com",
});

export const ROUTE_POLICY: Record<string, RoutePolicy> = {
  // ---- operator, /admin/v1 ---------------------------------------------------------------
  "POST /admin/v1/accounts": {
    access: operator,
    own: () => ({
      path: "/admin/v1/accounts",
      body: { id: freshAccountId(), name: "Matrix", plan: "starter" },
      status: 201,
    }),
    // Creating an account under B's id must not overwrite B.
    other: (b) => ({
      path: "/admin/v1/accounts",
      body: { id: b.id, name: "Hijacked", plan: "enterprise", billingAnchorDay: 28 },
      status: 409,
    }),
  },
  "GET /admin/v1/accounts": { access: operator, ...sameFor("/admin/v1/accounts", 200) },
  "GET /admin/v1/accounts/:id": {
    access: operator,
    own: (t) => ({ path: `/admin/v1/accounts/${t.id}`, status: 200 }),
    other: (t) => ({ path: `/admin/v1/accounts/${t.id}`, status: 200 }),
  },
  "PATCH /admin/v1/accounts/:id": {
    access: operator,
    own: (t) => ({ path: `/admin/v1/accounts/${t.id}`, body: { rolloverCap: 0 }, status: 200 }),
    other: (t) => ({ path: `/admin/v1/accounts/${t.id}`, body: { rolloverCap: 0 }, status: 200 }),
  },
  "PUT /admin/v1/accounts/:id/add-ons": {
    access: operator,
    own: (t) => ({ path: `/admin/v1/accounts/${t.id}/add-ons`, body: { addOns: [] }, status: 200 }),
    other: (t) => ({
      path: `/admin/v1/accounts/${t.id}/add-ons`,
      body: { addOns: [] },
      status: 200,
    }),
  },
  "POST /admin/v1/accounts/:id/grants": {
    access: operator,
    own: (t) => grantProbe(t),
    other: (t) => grantProbe(t),
  },
  "POST /admin/v1/accounts/:id/keys": {
    access: operator,
    own: (t) => ({ path: `/admin/v1/accounts/${t.id}/keys`, body: { role: "admin" }, status: 201 }),
    other: (t) => ({
      path: `/admin/v1/accounts/${t.id}/keys`,
      body: { role: "admin" },
      status: 201,
    }),
  },
  "GET /admin/v1/catalog": { access: operator, ...sameFor("/admin/v1/catalog", 200) },
  // Demo only: with a key of no account the operator's call is refused before anything moves
  // (test/demo/history.test.ts replays real history).
  "POST /admin/v1/accounts/:id/demo-history": {
    access: operator,
    own: (t) => demoHistoryProbe(t),
    other: (t) => demoHistoryProbe(t),
  },

  // ---- account keys, /v1 -----------------------------------------------------------------
  "GET /v1/account": { access: readers, ...sameFor("/v1/account", 200) },
  "GET /v1/balance": {
    access: { kind: "account", roles: ["admin", "finance", "member"] },
    own: () => ({ path: "/v1/balance", status: 200 }),
    // The query names B too: the balance is always the key's own account's.
    other: (t) => ({ path: `/v1/balance?accountId=${t.id}&account=${t.id}`, status: 200 }),
  },
  "GET /v1/catalog": {
    access: { kind: "account", roles: ["admin", "finance", "member"] },
    own: () => ({ path: "/v1/catalog", status: 200 }),
    // The query names B too: the catalog is always the key's own account's plan's.
    other: (t) => ({ path: `/v1/catalog?accountId=${t.id}`, status: 200 }),
  },
  "GET /v1/quote": {
    access: { kind: "account", roles: ["member"] },
    ...sameFor("/v1/quote?action=enrichment.company&units=2", 200),
  },

  "POST /v1/teams": { access: admin, ...sameFor("/v1/teams", 201, { name: "Matrix team" }) },
  "GET /v1/teams": { access: readers, ...sameFor("/v1/teams?limit=200", 200) },
  "GET /v1/teams/:id": {
    access: readers,
    own: (t) => ({ path: `/v1/teams/${t.teamId}`, status: 200 }),
    other: (t) => ({ path: `/v1/teams/${t.teamId}`, status: 404 }),
  },
  "PATCH /v1/teams/:id": {
    access: admin,
    own: (t) => ({ path: `/v1/teams/${t.teamId}`, body: { name: "Sales" }, status: 200 }),
    other: (t) => ({ path: `/v1/teams/${t.teamId}`, body: { name: "Intruded" }, status: 404 }),
  },
  "DELETE /v1/teams/:id": {
    access: admin,
    scratch: "team",
    own: (t) => ({ path: `/v1/teams/${t.scratch}`, status: 204 }),
    other: (t) => ({ path: `/v1/teams/${t.scratch}`, status: 404 }),
  },
  "GET /v1/teams/:id/rules": {
    access: readers,
    own: (t) => ({ path: `/v1/teams/${t.teamId}/rules`, status: 200 }),
    other: (t) => ({ path: `/v1/teams/${t.teamId}/rules`, status: 404 }),
  },
  "PUT /v1/teams/:id/rules": {
    access: admin,
    own: (t) => ({ path: `/v1/teams/${t.teamId}/rules`, body: OPEN_RULES, status: 200 }),
    other: (t) => ({ path: `/v1/teams/${t.teamId}/rules`, body: STRICT_RULES, status: 404 }),
  },

  "POST /v1/members": {
    access: admin,
    own: (t) => ({
      path: "/v1/members",
      body: { name: "Matrix member", teamId: t.teamId, seat: "core" },
      status: 201,
    }),
    // A's admin naming B's team: the team does not exist in A's ledger.
    other: (t) => ({
      path: "/v1/members",
      body: { name: "Intruder", teamId: t.teamId, seat: "core" },
      status: 400,
    }),
  },
  "GET /v1/members": { access: readers, ...sameFor("/v1/members?limit=200", 200) },
  "GET /v1/members/:id": {
    access: readers,
    own: (t) => ({ path: `/v1/members/${t.memberId}`, status: 200 }),
    other: (t) => ({ path: `/v1/members/${t.memberId}`, status: 404 }),
  },
  "PATCH /v1/members/:id": {
    access: admin,
    scratch: "member",
    own: (t) => ({ path: `/v1/members/${t.scratch}`, body: { active: false }, status: 200 }),
    other: (t) => ({
      path: `/v1/members/${t.memberId}`,
      body: { active: false, seat: "none", budget: 0 },
      status: 404,
    }),
  },
  "DELETE /v1/members/:id": {
    access: admin,
    scratch: "member",
    own: (t) => ({ path: `/v1/members/${t.scratch}`, status: 204 }),
    other: (t) => ({ path: `/v1/members/${t.scratch}`, status: 404 }),
  },

  "POST /v1/keys": {
    access: admin,
    own: () => ({ path: "/v1/keys", body: { role: "finance" }, status: 201 }),
    // A's admin minting a key bound to B's member: no such member in A's ledger.
    other: (t) => ({
      path: "/v1/keys",
      body: { role: "member", memberId: t.memberId },
      status: 400,
    }),
  },
  "GET /v1/keys": { access: admin, ...sameFor("/v1/keys?limit=200", 200) },
  "DELETE /v1/keys/:id": {
    access: admin,
    scratch: "key",
    own: (t) => ({ path: `/v1/keys/${t.scratch}`, status: 200 }),
    other: (t) => ({ path: `/v1/keys/${t.scratch}`, status: 404 }),
  },

  // A's keys filtering on B's team or member: the filter applies inside A's own usage only.
  "GET /v1/usage/events": {
    access: { kind: "account", roles: ["admin", "finance", "member"] },
    own: () => ({ path: "/v1/usage/events?limit=5", status: 200 }),
    other: (t) => ({ path: `/v1/usage/events?team=${t.teamId}&format=csv`, status: 200 }),
  },
  "GET /v1/usage/summary": {
    access: { kind: "account", roles: ["admin", "finance", "member"] },
    own: () => ({ path: "/v1/usage/summary?group_by=team,action", status: 200 }),
    other: (t) => ({ path: `/v1/usage/summary?team=${t.teamId}&group_by=member`, status: 200 }),
  },
  "GET /v1/usage/reconcile": { access: readers, ...sameFor("/v1/usage/reconcile", 200) },
  "GET /v1/usage/attribution": {
    access: { kind: "account", roles: ["admin", "finance", "member"] },
    ...sameFor("/v1/usage/attribution?group_by=member", 200),
  },
  // Each report a new id, so every admitted cell records one (201); B is named only in headers.
  "POST /v1/outcomes": {
    access: { kind: "account", roles: ["admin", "member"] },
    own: () => ({ path: "/v1/outcomes", status: 201, body: outcomeReport() }),
    other: () => ({ path: "/v1/outcomes", status: 201, body: outcomeReport() }),
  },
  "GET /v1/usage/value": {
    access: { kind: "account", roles: ["admin", "finance", "member"] },
    ...sameFor("/v1/usage/value?group_by=member", 200),
  },
  "GET /v1/value/settings": { access: readers, ...sameFor("/v1/value/settings", 200) },
  // Clearing the account's value settings: what the configuration says stays in force.
  "PUT /v1/value/settings": {
    access: admin,
    ...sameFor("/v1/value/settings", 200, { hourlyCost: null, currency: null }),
  },
  "GET /admin/v1/usage/archive": {
    access: operator,
    ...sameFor("/admin/v1/usage/archive", 200),
  },
  "POST /admin/v1/usage/retention": {
    access: operator,
    // A dry run: the operator may name any account, and nothing changes.
    own: (t) => retentionProbe(t),
    other: (t) => retentionProbe(t),
  },

  "GET /v1/alerts": { access: readers, ...sameFor("/v1/alerts?limit=5", 200) },
  "GET /v1/alerts/settings": { access: readers, ...sameFor("/v1/alerts/settings", 200) },
  // The settings are the key's own account's, whatever else the request names.
  "PUT /v1/alerts/settings": {
    access: admin,
    ...sameFor("/v1/alerts/settings", 200, {
      thresholds: [50, 80, 100],
      spike: { enabled: true, factor: 3, floorCredits: 100 },
      forecast: { enabled: true },
      depleted: { enabled: true },
      deniedBurst: { enabled: true, count: 20, windowMinutes: 5 },
    }),
  },

  "PUT /v1/webhook": {
    access: admin,
    ...sameFor("/v1/webhook", 200, { url: "https://hooks.test/in/matrix" }),
  },
  "GET /v1/webhook": { access: readers, ...sameFor("/v1/webhook", 200) },
  "DELETE /v1/webhook": { access: admin, ...sameFor("/v1/webhook", 204) },
  "GET /v1/webhook/deliveries": {
    access: readers,
    ...sameFor("/v1/webhook/deliveries?limit=5", 200),
  },

  // ---- public: the API document and its page (GET only, read nothing of any account) -------
  "GET /openapi.json": { access: { kind: "public" }, ...sameFor("/openapi.json", 200) },
  "GET /docs": { access: { kind: "public" }, ...sameFor("/docs", 200) },
  // The dashboard's page and files: the data behind them needs a key, sent by the browser.
  "GET /dashboard": { access: { kind: "public" }, ...sameFor("/dashboard", 200) },
  "GET /dashboard/:file": { access: { kind: "public" }, ...sameFor("/dashboard/app.js", 200) },

  // ---- everything else: the priced proxy (default deny; probed per catalog action) --------
  "ALL /*": { access: { kind: "proxy" } },
};

function retentionProbe(t: Subject): Probe {
  return {
    path: "/admin/v1/usage/retention",
    body: { olderThanDays: 3650, mode: "delete", accountId: t.id, dryRun: true },
    status: 200,
  };
}

function demoHistoryProbe(t: Subject): Probe {
  return {
    path: `/admin/v1/accounts/${t.id}/demo-history`,
    body: { memberKeys: ["cg_zz-nobody_secret"], days: 1 },
    status: 400,
  };
}

function grantProbe(t: Subject): Probe {
  return {
    path: `/admin/v1/accounts/${t.id}/grants`,
    body: { amount: 1, source: "promo" },
    status: 201,
  };
}
