/**
 * Scheduled price changes (`priceSchedule`): a call is priced by the entry in force when it
 * comes in, its hold and its capture alike, even when a change begins while it is in flight;
 * the usage event records that price, so finance can explain any charge after prices change.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { bearer, jsonCall, ledger, setupAccount } from "../support/api";
import { demoCatalogWith } from "../support/test-catalog";

const iso = (ms: number) => new Date(ms).toISOString();
const tokens = (maxUnits: number, credits: number) => ({
  credits,
  per: 10,
  unit: { from: "response_header" as const, header: "X-Usage-Units" },
  maxUnits,
});

/** A gateway whose two actions change price: one changed an hour ago, one does in `inMs`. */
function gatewayWithSchedules(inMs: number) {
  const now = Date.now();
  const catalog = demoCatalogWith(
    {
      actions: [
        {
          id: "test.scheduled",
          name: "Repriced an hour ago, again in an hour",
          category: "enrichment",
          method: "POST",
          path: "/v1/test/scheduled",
          upstream: "demo",
          upstreamPath: "/enrich/companies",
          price: { credits: 5 },
          priceSchedule: [
            { from: iso(now - 3_600_000), price: { credits: 7 } },
            { from: iso(now + 3_600_000), price: { credits: 9 } },
          ],
        },
        {
          id: "test.scheduled_tokens",
          name: "Metered, repriced soon",
          category: "ai",
          method: "POST",
          path: "/v1/test/scheduled-tokens",
          upstream: "demo",
          upstreamPath: "/enrich/companies",
          price: tokens(1000, 1),
          priceSchedule: [{ from: iso(now + inMs), price: tokens(1000, 5) }],
          settlement: "metered",
        },
      ],
    },
    "scheduled prices",
  );
  const app = createApp({ catalog });
  return async (path: string, key: string, headers: Record<string, string> = {}) => {
    const ctx = createExecutionContext();
    const res = await app.fetch(
      new Request(`https://gateway.test${path}`, {
        method: "POST",
        headers: { ...bearer(key), "content-type": "application/json", ...headers },
        // What the demo's upstream path wants; these actions price per call, not per record.
        body: JSON.stringify({ records: [{ domain: "acme.example" }] }),
      }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return res;
  };
}

async function eventsOf(accountId: string, financeKey: string) {
  await ledger(accountId).flush();
  const res = await jsonCall<{ data: { action: string; credits: number; price: unknown }[] }>(
    "/v1/usage/events?limit=100",
    { headers: bearer(financeKey) },
  );
  return res.body.data;
}

describe("scheduled prices", () => {
  it("charge the entry in force and record it on the usage event", async () => {
    const acct = await setupAccount({ plan: "professional" });
    const post = gatewayWithSchedules(3_600_000);
    const res = await post("/v1/test/scheduled", acct.memberKey);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("x-credits-charged")).toBe("7");
    const [event] = await eventsOf(acct.id, acct.financeKey);
    expect(event).toMatchObject({ action: "test.scheduled", credits: 7, price: { credits: 7 } });
  });

  it("price a call in flight when the price changes at the price it was admitted at", async () => {
    const acct = await setupAccount({ plan: "professional" });
    // The new price (5 per 10 tokens) begins 300 ms in; the upstream answers after 900 ms.
    const post = gatewayWithSchedules(300);
    const slow = { "x-chaos-delay-ms": "900", "x-chaos-usage-units": "100" };
    const inFlight = await post("/v1/test/scheduled-tokens", acct.memberKey, slow);
    expect(inFlight.status).toBe(200);
    expect(inFlight.headers.get("x-credits-charged")).toBe("10");
    // The next call comes in after the change: 100 tokens at 5 per 10.
    const after = await post("/v1/test/scheduled-tokens", acct.memberKey, {
      "x-chaos-usage-units": "100",
    });
    expect(after.headers.get("x-credits-charged")).toBe("50");
    const events = await eventsOf(acct.id, acct.financeKey);
    expect(events.map((e) => [e.credits, (e.price as { credits: number }).credits])).toEqual([
      [10, 1],
      [50, 5],
    ]);
  });
});
