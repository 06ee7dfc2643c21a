/** The gateway's HTTP API as a client uses it, for the end-to-end tests. */

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One JSON call with a bearer token; bounded in time. */
export async function api<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Like `api`, but any status other than `expected` throws with what the gateway said. */
export async function expectApi<T = Record<string, unknown>>(
  expected: number,
  base: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<T> {
  const res = await api<T>(base, method, path, token, body);
  if (res.status !== expected) {
    throw new Error(
      `${method} ${path}: ${res.status}, expected ${expected}: ${res.text.slice(0, 500)}`,
    );
  }
  return res.body;
}

export interface SeededAccount {
  id: string;
  adminKey: string;
  financeKey: string;
  memberKey: string;
  /** The pack issued at seeding. */
  packId: string;
  packCredits: number;
}

export interface SeedOptions {
  plan: "starter" | "professional" | "enterprise";
  seat: "core" | "sales" | "service" | "none";
}

/** An account with one team, one member, admin/finance/member keys and a pack. */
export async function seedAccount(
  base: string,
  operatorToken: string,
  id: string,
  packCredits: number,
  options: SeedOptions = { plan: "starter", seat: "core" },
): Promise<SeededAccount> {
  const op = <T>(method: string, path: string, body?: unknown, status = 201) =>
    expectApi<T>(status, base, method, path, operatorToken, body);
  await op("POST", "/admin/v1/accounts", { id, name: `E2E ${id}`, plan: options.plan });
  const admin = await op<{ key: string }>("POST", `/admin/v1/accounts/${id}/keys`, {
    role: "admin",
  });
  const as = <T>(method: string, path: string, body?: unknown) =>
    expectApi<T>(201, base, method, path, admin.key, body);
  const finance = await as<{ key: string }>("POST", "/v1/keys", { role: "finance" });
  const team = await as<{ id: string }>("POST", "/v1/teams", { name: "E2E" });
  const member = await as<{ id: string }>("POST", "/v1/members", {
    name: "E2E member",
    teamId: team.id,
    seat: options.seat,
  });
  const key = await as<{ key: string }>("POST", "/v1/keys", {
    role: "member",
    memberId: member.id,
  });
  const pack = await op<{ id: string }>("POST", `/admin/v1/accounts/${id}/grants`, {
    amount: packCredits,
    source: "pack",
    note: "e2e",
  });
  return {
    id,
    adminKey: admin.key,
    financeKey: finance.key,
    memberKey: key.key,
    packId: pack.id,
    packCredits,
  };
}

export interface GrantView {
  id: string;
  amount: number;
  remaining: number;
  held: number;
  captured: number;
  expired: number;
  source: string;
}

export interface Balance {
  available: number;
  held: number;
  capturedThisPeriod: number;
  grants: GrantView[];
  holds: { count: number; oldestExpiresAt: string | null };
}

export interface OutboxState {
  pending: number;
  flushedEvents: number;
  flushWrites: number;
  failures: number;
  lastError: string | null;
  oldestPendingAt: string | null;
}

export async function balanceOf(base: string, account: SeededAccount): Promise<Balance> {
  return expectApi<Balance>(200, base, "GET", "/v1/balance", account.financeKey);
}

/** The operator's view of the account's outbox; reads nothing else of the ledger. */
export async function outboxOf(
  base: string,
  operatorToken: string,
  accountId: string,
): Promise<OutboxState> {
  const detail = await expectApi<{ outbox: OutboxState }>(
    200,
    base,
    "GET",
    `/admin/v1/accounts/${accountId}`,
    operatorToken,
  );
  return detail.outbox;
}
