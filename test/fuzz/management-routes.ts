/**
 * The management routes as the fuzzer sees them: enumerated from the app's own route table and
 * OpenAPI registry, each paired with who may call it and what a valid request looks like. The
 * table below is the only hand-written part; a route the app gains without an entry here fails
 * the fuzz test by name, so new routes get fuzzed.
 */
import fc from "fast-check";
import type { z } from "zod";
import { setupAccount } from "../support/api";
import { app, send, url } from "./harness";
import { BODY_FIELDS, GRANT_SOURCES, type Refs, ROLES } from "./management-fields";

export type Principal = "operator" | "admin" | "finance" | "member";
export const PRINCIPALS: readonly Principal[] = ["operator", "admin", "finance", "member"];

/** One account to fuzz: keys of every role, and teams and members requests may name. */
export interface Fixture extends Refs {
  accountId: string;
  keys: Record<Principal, string>;
  revokedKey: string;
  victimTeamId: string;
  victimMemberId: string;
}

/** A route of the app, from its OpenAPI registry (which holds the zod schemas that validate). */
export interface Route {
  method: string;
  /** OpenAPI form: `/v1/teams/{id}`. */
  path: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodObject;
  /** Status -> schema of the JSON body (null: no body). */
  responses: Map<number, z.ZodType | null>;
}

export interface RouteSpec {
  /** Who may call it (SPEC §5, I6). */
  roles: readonly Principal[];
  /** The path parameter of a valid request; routes that delete get a fresh entity each time. */
  param?: (f: Fixture) => Promise<string>;
  /** Valid bodies. */
  body?: (f: Fixture) => fc.Arbitrary<Record<string, unknown>>;
}

export const OPERATOR_TOKEN = "test-operator-token";

async function post(f: Fixture, path: string, body: unknown): Promise<string> {
  const res = await send(
    new Request(url(path), {
      method: "POST",
      headers: { authorization: `Bearer ${f.keys.admin}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
  const created = (await res.json()) as { id?: string };
  if (res.status !== 201 || !created.id) throw new Error(`${path}: ${res.status}`);
  return created.id;
}

/** Creates the account to fuzz: setupAccount's, plus a team and member to change and a revoked key. */
export async function createFixture(): Promise<Fixture> {
  const acct = await setupAccount();
  const f: Fixture = {
    accountId: acct.id,
    keys: {
      operator: OPERATOR_TOKEN,
      admin: acct.adminKey,
      finance: acct.financeKey,
      member: acct.memberKey,
    },
    revokedKey: "",
    victimTeamId: "",
    victimMemberId: "",
    teamIds: [],
    memberIds: [],
  };
  f.victimTeamId = await post(f, "/v1/teams", { name: "Victim team" });
  f.victimMemberId = await post(f, "/v1/members", {
    name: "Victim",
    teamId: f.victimTeamId,
    seat: "sales",
  });
  f.teamIds = [acct.teamId, f.victimTeamId];
  f.memberIds = [acct.memberId, f.victimMemberId];
  const keyRes = await send(
    new Request(url("/v1/keys"), {
      method: "POST",
      headers: { authorization: `Bearer ${f.keys.admin}`, "content-type": "application/json" },
      body: JSON.stringify({ role: "finance" }),
    }),
  );
  const key = (await keyRes.json()) as { id: string; key: string };
  f.revokedKey = key.key;
  await send(
    new Request(url(`/v1/keys/${key.id}`), {
      method: "DELETE",
      headers: { authorization: `Bearer ${f.keys.admin}` },
    }),
  );
  return f;
}

/** Valid values of a body field, as management-fields.ts defines them. */
function pick(f: Fixture, field: string, route?: string): fc.Arbitrary<unknown> {
  const kind = BODY_FIELDS[`${route} ${field}`] ?? BODY_FIELDS[field];
  if (!kind) throw new Error(`management-fields.ts has no kind for body field ${field}`);
  return kind.valid(f);
}

const OUTCOMES = "POST /v1/outcomes";

/** A 32-bit FNV-1a digest in hex: enough to tell generated bodies apart. */
function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16);
}

/** A valid key request: admin or finance keys bind no member; member keys need one. */
const keyBody = (f: Fixture) =>
  fc.oneof(
    fc.record(
      { role: fc.constantFrom(...ROLES.filter((r) => r !== "member")), name: pick(f, "name") },
      { requiredKeys: ["role"] },
    ),
    fc.record(
      { role: fc.constant("member"), memberId: pick(f, "memberId"), name: pick(f, "name") },
      { requiredKeys: ["role", "memberId"] },
    ),
  );

const ADMIN: readonly Principal[] = ["admin"];
const READERS: readonly Principal[] = ["admin", "finance"];
const OPERATOR: readonly Principal[] = ["operator"];

/** Run-unique text in the names of accounts the fuzzer creates, to find them in the directory. */
export const MARK = `fz${Date.now().toString(36)}`;

export const ROUTE_SPECS: Record<string, RouteSpec> = {
  "POST /admin/v1/accounts": {
    roles: OPERATOR,
    body: (f) =>
      fc.record(
        {
          name: fc.constantFrom("Acme", "Zoë & Co", "営業").map((n) => `${MARK} ${n}`),
          plan: pick(f, "plan"),
          billingAnchorDay: pick(f, "billingAnchorDay"),
          id: pick(f, "id"),
        },
        { requiredKeys: ["name", "plan", "id"] },
      ),
  },
  "GET /admin/v1/accounts": { roles: OPERATOR },
  "GET /admin/v1/accounts/{id}": { roles: OPERATOR, param: async (f) => f.accountId },
  "PATCH /admin/v1/accounts/{id}": {
    roles: OPERATOR,
    param: async (f) => f.accountId,
    body: (f) =>
      fc.record(
        {
          name: pick(f, "name"),
          plan: pick(f, "plan"),
          overage: pick(f, "overage"),
          monthlySpendCap: pick(f, "monthlySpendCap"),
          rolloverCap: pick(f, "rolloverCap"),
          actionCaps: pick(f, "actionCaps"),
        },
        { requiredKeys: [] },
      ),
  },
  "PUT /admin/v1/accounts/{id}/add-ons": {
    roles: OPERATOR,
    param: async (f) => f.accountId,
    body: (f) => fc.record({ addOns: pick(f, "addOns") }),
  },
  "POST /admin/v1/accounts/{id}/grants": {
    roles: OPERATOR,
    param: async (f) => f.accountId,
    body: (f) =>
      fc.record(
        {
          amount: fc.integer({ min: 1, max: 1_000_000 }),
          source: fc.constantFrom(...GRANT_SOURCES),
          priority: pick(f, "priority"),
          effectiveAt: pick(f, "effectiveAt"),
          expiresAt: pick(f, "expiresAt"),
          note: pick(f, "note"),
        },
        { requiredKeys: ["amount", "source"] },
      ),
  },
  "POST /admin/v1/accounts/{id}/keys": {
    roles: OPERATOR,
    param: async (f) => f.accountId,
    body: keyBody,
  },
  "GET /admin/v1/catalog": { roles: OPERATOR },
  "POST /v1/teams": { roles: ADMIN, body: (f) => fc.record({ name: pick(f, "name") }) },
  "GET /v1/teams": { roles: READERS },
  "GET /v1/teams/{id}": { roles: READERS, param: async (f) => f.victimTeamId },
  "PATCH /v1/teams/{id}": {
    roles: ADMIN,
    param: async (f) => f.victimTeamId,
    body: (f) => fc.record({ name: pick(f, "name") }),
  },
  "DELETE /v1/teams/{id}": {
    roles: ADMIN,
    param: (f) => post(f, "/v1/teams", { name: "Doomed" }),
  },
  "GET /v1/teams/{id}/rules": { roles: READERS, param: async (f) => f.victimTeamId },
  "PUT /v1/teams/{id}/rules": {
    roles: ADMIN,
    param: async (f) => f.victimTeamId,
    body: (f) =>
      fc.record({
        allowedActions: pick(f, "allowedActions"),
        allowedCategories: pick(f, "allowedCategories"),
        purpose: pick(f, "purpose"),
        memberRateLimitPerMinute: pick(f, "memberRateLimitPerMinute"),
        teamBudget: pick(f, "teamBudget"),
        memberBudget: pick(f, "memberBudget"),
      }),
  },
  "POST /v1/members": {
    roles: ADMIN,
    body: (f) =>
      fc.record({ name: pick(f, "name"), teamId: pick(f, "teamId"), seat: pick(f, "seat") }),
  },
  "GET /v1/members": { roles: READERS },
  "GET /v1/members/{id}": { roles: READERS, param: async (f) => f.victimMemberId },
  "PATCH /v1/members/{id}": {
    roles: ADMIN,
    param: async (f) => f.victimMemberId,
    body: (f) =>
      fc.record(
        {
          name: pick(f, "name"),
          teamId: pick(f, "teamId"),
          seat: pick(f, "seat"),
          active: pick(f, "active"),
          budget: pick(f, "budget"),
        },
        { requiredKeys: [] },
      ),
  },
  "DELETE /v1/members/{id}": {
    roles: ADMIN,
    param: (f) => post(f, "/v1/members", { name: "Doomed", teamId: f.victimTeamId, seat: "none" }),
  },
  "POST /v1/keys": { roles: ADMIN, body: keyBody },
  "GET /v1/keys": { roles: ADMIN },
  "DELETE /v1/keys/{id}": {
    roles: ADMIN,
    param: (f) => post(f, "/v1/keys", { role: "finance" }),
  },
  "GET /v1/balance": { roles: ["admin", "finance", "member"] },
  "GET /v1/catalog": { roles: ["admin", "finance", "member"] },
  "GET /v1/quote": { roles: ["member"] },
  "GET /v1/account": { roles: READERS },
  "GET /v1/alerts": { roles: READERS },
  "GET /v1/alerts/settings": { roles: READERS },
  "PUT /v1/alerts/settings": {
    roles: ADMIN,
    body: (f) =>
      fc.record({
        thresholds: pick(f, "thresholds"),
        spike: pick(f, "spike"),
        forecast: pick(f, "forecast"),
        depleted: pick(f, "depleted"),
        deniedBurst: pick(f, "deniedBurst"),
      }),
  },
  "PUT /v1/webhook": {
    roles: ADMIN,
    body: (f) =>
      fc.record({ url: pick(f, "url"), secret: pick(f, "secret") }, { requiredKeys: ["url"] }),
  },
  "GET /v1/webhook": { roles: READERS },
  "DELETE /v1/webhook": { roles: ADMIN },
  "GET /v1/webhook/deliveries": { roles: READERS },
  "GET /v1/usage/events": { roles: ["admin", "finance", "member"] },
  "GET /v1/usage/summary": { roles: ["admin", "finance", "member"] },
  "GET /v1/usage/reconcile": { roles: READERS },
  "GET /v1/usage/value": { roles: ["admin", "finance", "member"] },
  "GET /v1/usage/attribution": { roles: ["admin", "finance", "member"] },
  "POST /v1/outcomes": {
    roles: ["admin", "member"],
    // The id is the body's own digest: a repeated id always comes with the same body (200), never
    // another one (422), so valid requests stay valid however often fast-check draws them.
    body: (f) =>
      fc
        .record(
          {
            kind: pick(f, "kind", OUTCOMES),
            recordKey: pick(f, "recordKey", OUTCOMES),
            requestId: pick(f, "requestId", OUTCOMES),
            value: pick(f, "value", OUTCOMES),
            occurredAt: pick(f, "occurredAt", OUTCOMES),
          },
          { requiredKeys: ["kind", "recordKey"] },
        )
        .map((b) => ({ id: `o-${digest(JSON.stringify(b))}`, ...b })),
  },
  "GET /v1/value/settings": { roles: READERS },
  "PUT /v1/value/settings": {
    roles: ADMIN,
    body: (f) =>
      fc.record(
        {
          hourlyCost: pick(f, "hourlyCost"),
          currency: pick(f, "currency"),
          creditPrice: pick(f, "creditPrice"),
        },
        { requiredKeys: ["hourlyCost", "currency"] },
      ),
  },
  "POST /admin/v1/accounts/{id}/demo-history": {
    roles: OPERATOR,
    param: async (f) => f.accountId,
    // The fixture's own member key; a day or two, so each valid call replays a handful of calls.
    body: (f) =>
      fc.record(
        {
          memberKeys: fc.constant([f.keys.member]),
          days: fc.integer({ min: 1, max: 2 }),
          seed: pick(f, "seed"),
        },
        { requiredKeys: ["memberKeys"] },
      ),
  },
  "GET /admin/v1/usage/archive": { roles: OPERATOR },
  "POST /admin/v1/usage/retention": {
    roles: OPERATOR,
    // Always the fixture's own account: a run over every account could touch other tests' rows.
    body: (f) =>
      fc.record(
        {
          olderThanDays: pick(f, "olderThanDays"),
          mode: pick(f, "mode"),
          accountId: fc.constant(f.accountId),
          dryRun: pick(f, "dryRun"),
        },
        { requiredKeys: ["olderThanDays", "mode", "accountId"] },
      ),
  },
};

/**
 * Public routes, with why this fuzzer leaves them out: it generates wrong credentials and
 * expects them refused, while these take none and give every caller the same answer.
 * test/api/openapi.test.ts and test/dashboard check them (any Authorization ignored, other methods problem+json)
 * and the isolation matrix probes them as `public`.
 */
export const PUBLIC_ROUTES: Record<string, string> = {
  "GET /openapi.json": "the API document: no input, no credentials, reads no account",
  "GET /docs": "the docs page (HTML): no input, no credentials, reads no account",
  "GET /dashboard": "the dashboard page (HTML): no data; the browser calls the APIs with a key",
  "GET /dashboard/{file}": "the dashboard's script and styles; test/dashboard checks other names",
};

/** Routes the registry documents, with their request and response schemas. */
export function registeredRoutes(): Route[] {
  return app.openAPIRegistry.definitions.flatMap((def) => {
    if (def.type !== "route") return [];
    const { method, path, request, responses } = def.route;
    if (PUBLIC_ROUTES[`${method.toUpperCase()} ${path}`]) return [];
    const json = (content: unknown): z.ZodType | null => {
      const media = (content as Record<string, { schema?: z.ZodType }> | undefined)?.[
        "application/json"
      ];
      return media?.schema ?? null;
    };
    const statuses = new Map<number, z.ZodType | null>();
    for (const [status, response] of Object.entries(responses)) {
      const content = "content" in response ? response.content : undefined;
      statuses.set(Number(status), json(content));
    }
    const body = json(request?.body?.content);
    return [
      {
        method: method.toUpperCase(),
        path,
        params: request?.params as z.ZodObject | undefined,
        query: request?.query as z.ZodObject | undefined,
        body: (body ?? undefined) as z.ZodObject | undefined,
        responses: statuses,
      },
    ];
  });
}

/** `METHOD /path/{param}` of every handler in the app's route table (middleware excluded). */
export function routeTable(routes: readonly { method: string; path: string }[]): string[] {
  const keys = routes
    .filter((r) => r.method !== "ALL")
    .map((r) => `${r.method} ${r.path.replaceAll(/:([A-Za-z0-9_]+)/g, "{$1}")}`)
    .filter((key) => !PUBLIC_ROUTES[key]);
  return [...new Set(keys)].sort();
}
