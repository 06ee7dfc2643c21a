/**
 * The demo history (`POST /admin/v1/accounts/{id}/demo-history`): weeks of calls replayed
 * through the ledger's own decisions leave books that agree everywhere, as real traffic would:
 * the balance, the usage in D1, the reconciliation and the alerts. Off unless DEMO_HISTORY.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { bundledCatalog } from "../../src/catalog";
import { addMember } from "../rules/helpers";
import {
  bearer,
  jsonCall,
  ledger,
  OPERATOR,
  type ProblemBody,
  setupAccount,
  type TestAccount,
} from "../support/api";

const DAY = 86_400_000;

/** An account whose period began about three weeks ago, with a sales rep and a marketer. */
async function demoAccount(): Promise<{ acct: TestAccount; keys: string[] }> {
  const anchor = Math.min(28, new Date(Date.now() - 22 * DAY).getUTCDate());
  const acct = await setupAccount({ seat: "sales", billingAnchorDay: anchor });
  const marketer = await addMember(acct, acct.teamId, "Grace", "core");
  return { acct, keys: [acct.memberKey, marketer.key] };
}

const replay = (id: string, json: unknown) =>
  jsonCall<{ from: string; calls: number; admitted: number; denied: number } & ProblemBody>(
    `/admin/v1/accounts/${id}/demo-history`,
    { method: "POST", headers: OPERATOR, json },
  );

describe("the demo history", () => {
  it("lays weeks of usage whose books agree: balance, D1, reconciliation and alerts", async () => {
    const { acct, keys } = await demoAccount();
    const before = await jsonCall<{ available: number }>("/v1/balance", {
      headers: bearer(acct.financeKey),
    });
    const res = await replay(acct.id, { memberKeys: keys, days: 21, seed: 7 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.calls).toBeGreaterThan(100);
    expect(res.body.admitted + res.body.denied).toBe(res.body.calls);
    expect(res.body.denied).toBeGreaterThan(0);

    const reconcile = await jsonCall<{ verdict: string; ledger: { total: number } }>(
      "/v1/usage/reconcile?flush=true",
      { headers: bearer(acct.financeKey) },
    );
    expect(reconcile.body.verdict).toBe("balanced");
    const summary = await jsonCall<{
      groups: { key: { day: string }; credits: number; denials: number }[];
      totals: { credits: number; calls: number; denials: number };
    }>(`/v1/usage/summary?group_by=day&from=${res.body.from.slice(0, 10)}`, {
      headers: bearer(acct.financeKey),
    });
    expect(summary.body.groups.length).toBeGreaterThanOrEqual(14);
    expect(summary.body.totals.denials).toBe(res.body.denied);
    const balance = await jsonCall<{
      available: number;
      held: number;
      capturedThisPeriod: number;
      forecast: { burnRate: { last7Days: number } };
    }>("/v1/balance", { headers: bearer(acct.financeKey) });
    // Every credit charged by the history left the balance, and nothing is left held.
    expect(balance.body.held).toBe(0);
    expect(balance.body.capturedThisPeriod).toBe(summary.body.totals.credits);
    expect(before.body.available - balance.body.available).toBe(summary.body.totals.credits);
    // Burn rates measure the history, not an account a minute old.
    expect(balance.body.forecast.burnRate.last7Days).toBeGreaterThan(20);
    expect(balance.body.forecast.burnRate.last7Days).toBeLessThan(1000);

    const denied = await jsonCall<{ data: { reason: string | null }[] }>(
      "/v1/usage/events?outcome=denied&limit=100",
      { headers: bearer(acct.financeKey) },
    );
    const reasons = new Set(denied.body.data.map((e) => e.reason));
    expect(reasons.size).toBeGreaterThan(0);
    const alerts = await jsonCall<{ data: { kind: string; firedAt: string }[] }>("/v1/alerts", {
      headers: bearer(acct.financeKey),
    });
    expect(alerts.body.data.some((a) => a.kind === "threshold")).toBe(true);
    expect(alerts.body.data.every((a) => Date.parse(a.firedAt) < Date.now())).toBe(true);
  });

  it("is the same history for the same seed", async () => {
    const a = await demoAccount();
    const b = await demoAccount();
    const ra = await replay(a.acct.id, { memberKeys: a.keys, days: 10, seed: 3 });
    const rb = await replay(b.acct.id, { memberKeys: b.keys, days: 10, seed: 3 });
    expect(ra.status).toBe(200);
    expect([rb.body.calls, rb.body.admitted]).toEqual([ra.body.calls, ra.body.admitted]);
  });

  it("refuses keys of another account and bad bodies, changing nothing", async () => {
    const { acct, keys } = await demoAccount();
    const other = await demoAccount();
    for (const json of [
      { memberKeys: other.keys },
      { memberKeys: [] },
      { memberKeys: keys, days: 0 },
      { memberKeys: keys, days: 61 },
      { memberKeys: keys, extra: 1 },
    ]) {
      const res = await replay(acct.id, json);
      expect(res.status, JSON.stringify(json)).toBe(400);
    }
    expect((await replay("no-such-account", { memberKeys: keys })).status).toBe(404);
    const events = await jsonCall<{ data: unknown[] }>("/v1/usage/events?limit=10", {
      headers: bearer(acct.financeKey),
    });
    await ledger(acct.id).flush();
    expect(events.body.data).toEqual([]);
  });

  it("answers 404 to every request when DEMO_HISTORY is not set, and its ledgers refuse", async () => {
    const { acct, keys } = await demoAccount();
    const app = createApp({ catalog: bundledCatalog });
    for (const body of [{ memberKeys: keys }, { nonsense: true }]) {
      const ctx = createExecutionContext();
      const res = await app.fetch(
        new Request(`https://gw.test/admin/v1/accounts/${acct.id}/demo-history`, {
          method: "POST",
          headers: { ...OPERATOR, "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
        { ...env, DEMO_HISTORY: undefined },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
  });
});
