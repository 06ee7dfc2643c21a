/**
 * Fail closed on the management API too: when the account's ledger cannot answer (unreachable,
 * overloaded, throwing), every route that needs it answers 503 `ledger_unavailable` as
 * problem+json, never a 500 and never a partial success. The ledger binding is replaced by one
 * whose objects authenticate keys as the real ones do and fail at everything else.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { bundledCatalog } from "../../src/catalog";
import { bearer, jsonCall, OPERATOR, setupAccount, type TestAccount } from "../support/api";

/** LEDGER whose stubs pass `authenticate` to the real object and fail every other call. */
function failingLedger(): DurableObjectNamespace {
  const real = env.LEDGER;
  return {
    idFromName: (name: string) => real.idFromName(name),
    get: (id: DurableObjectId) => {
      const stub = real.get(id);
      return new Proxy(
        {},
        {
          get(_, name) {
            if (name === "then") return undefined;
            if (name === "authenticate") return (hash: string) => stub.authenticate(hash);
            return async () => {
              throw new Error("Durable Object reset because its code was updated.");
            };
          },
        },
      );
    },
  } as unknown as DurableObjectNamespace;
}

async function send(path: string, init: RequestInit): Promise<Response> {
  const app = createApp({ catalog: bundledCatalog });
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`https://gateway.test${path}`, init),
    { ...env, LEDGER: failingLedger() },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

const json = (body: unknown) => ({
  "content-type": "application/json",
  body: JSON.stringify(body),
});

/** Routes that need the account's ledger, as admin or finance would call them. */
function routes(a: TestAccount): [string, string, Record<string, string>, string?][] {
  const admin = bearer(a.adminKey);
  const finance = bearer(a.financeKey);
  const team = json({ name: "Ops" });
  return [
    ["GET", "/v1/account", finance],
    ["GET", "/v1/teams", finance],
    ["POST", "/v1/teams", { ...admin, "content-type": team["content-type"] }, team.body],
    ["GET", `/v1/teams/${a.teamId}`, finance],
    ["DELETE", `/v1/teams/${a.teamId}`, admin],
    ["GET", "/v1/members", finance],
    ["GET", `/v1/members/${a.memberId}`, finance],
    ["GET", "/v1/keys", admin],
    ["GET", "/v1/balance", finance],
    ["GET", "/v1/alerts", finance],
    ["GET", "/v1/alerts/settings", finance],
    ["GET", "/v1/webhook", finance],
    ["GET", "/v1/webhook/deliveries", finance],
    ["GET", "/v1/usage/reconcile?period=current", finance],
    ["GET", `/admin/v1/accounts/${a.id}`, OPERATOR],
  ];
}

describe("a ledger that cannot answer", () => {
  it("gets 503 ledger_unavailable from every management route that needs it", async () => {
    const account = await setupAccount();
    const answers: string[] = [];
    for (const [method, path, headers, body] of routes(account)) {
      const res = await send(path, { method, headers, body });
      const problem = (await res.json()) as { code?: string };
      answers.push(`${method} ${path.split("?")[0]}: ${res.status} ${problem.code}`);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    expect(answers.filter((a) => !a.endsWith(": 503 ledger_unavailable"))).toEqual([]);
  });

  it("gets 503 when even authentication fails, and leaves nothing changed", async () => {
    const account = await setupAccount();
    const app = createApp({ catalog: bundledCatalog });
    const unreachable = {
      idFromName: (name: string) => env.LEDGER.idFromName(name),
      get: () => ({
        authenticate: async () => {
          throw new Error("Network connection lost.");
        },
      }),
    } as unknown as DurableObjectNamespace;
    const ctx = createExecutionContext();
    const res = await app.fetch(
      new Request("https://gateway.test/v1/teams", {
        method: "POST",
        headers: { ...bearer(account.adminKey), "content-type": "application/json" },
        body: JSON.stringify({ name: "Never" }),
      }),
      { ...env, LEDGER: unreachable },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe("ledger_unavailable");
    const teams = await jsonCall<{ data: { name: string }[] }>("/v1/teams", {
      headers: bearer(account.financeKey),
    });
    expect(teams.body.data.map((t) => t.name)).not.toContain("Never");
  });
});
