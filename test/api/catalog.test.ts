/** GET /v1/catalog: what the account's plan includes and costs, before anyone spends. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { bearer, jsonCall, setupAccount } from "../support/api";
import { demoCatalogWith } from "../support/test-catalog";

interface CatalogAction {
  id: string;
  price: Record<string, unknown>;
  seat: string | null;
  priceChanges: { from: string; price: Record<string, unknown> }[];
  plans?: string[];
}
interface AccountCatalog {
  plan: { id: string; name: string; includedCredits: number };
  seats: string[];
  categories: string[];
  included: CatalogAction[];
  notIncluded: CatalogAction[];
}

describe("GET /v1/catalog", () => {
  it("shows every role the plan's actions with prices, and the rest with the plans that have them", async () => {
    const acct = await setupAccount({ plan: "starter" });
    for (const key of [acct.memberKey, acct.financeKey, acct.adminKey]) {
      const res = await jsonCall<AccountCatalog>("/v1/catalog", { headers: bearer(key) });
      expect(res.status).toBe(200);
      expect(res.body.plan).toEqual({ id: "starter", name: "Starter", includedCredits: 500 });
      // What the console's forms offer: the configuration's seats (and none), its categories.
      expect(res.body.seats).toEqual(["core", "sales", "service", "none"]);
      expect(res.body.categories).toEqual([
        "enrichment",
        "prospecting",
        "ai",
        "record_refresh",
        "insights",
      ]);
      expect(res.body.included.map((a) => a.id)).toEqual([
        "enrichment.company",
        "enrichment.contact",
      ]);
      expect(res.body.included[0]?.price).toMatchObject({ credits: 10, per: 1 });
      const intent = res.body.notIncluded.find((a) => a.id === "prospecting.intent");
      expect(intent).toMatchObject({ seat: "sales", plans: ["professional", "enterprise"] });
      expect(res.body.notIncluded.find((a) => a.id === "ai.agent_conversation")?.plans).toEqual([
        "enterprise",
      ]);
    }
  });

  it("lists the price changes still to come, and prices each action as it is now", async () => {
    const now = Date.now();
    const past = new Date(now - 60_000).toISOString();
    const later = new Date(now + 86_400_000).toISOString();
    const app = createApp({
      catalog: demoCatalogWith(
        {
          actions: [
            {
              id: "test.repriced",
              name: "Repriced",
              category: "enrichment",
              method: "POST",
              path: "/v1/test/repriced",
              upstream: "demo",
              upstreamPath: "/enrich/companies",
              price: { credits: 4 },
              priceSchedule: [
                { from: past, price: { credits: 6 } },
                { from: later, price: { credits: 8 } },
              ],
            },
          ],
        },
        "a repriced action",
      ),
    });
    const acct = await setupAccount({ plan: "starter" });
    const ctx = createExecutionContext();
    const res = await app.fetch(
      new Request("https://gateway.test/v1/catalog", { headers: bearer(acct.memberKey) }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const body = (await res.json()) as AccountCatalog;
    expect(body.included.find((a) => a.id === "test.repriced")).toMatchObject({
      price: { credits: 6 },
      priceChanges: [{ from: later, price: { credits: 8 } }],
    });
  });
});
