/**
 * A catalog for tests: the demo configuration's actions plus cheap, slow and failing ones on the
 * same upstream (the chaos front of the demo service), so races and faults are quick to set up.
 * Plans, seats and categories stay the demo's: the ledger under test is built with those.
 */
import demo from "../../creditgate.config.json";
import { createApp } from "../../src/app";
import { loadCatalog } from "../../src/catalog";
import { loadConfig } from "../../src/config/load";

const extra = [
  {
    id: "test.one",
    name: "One credit",
    category: "enrichment",
    method: "POST",
    path: "/v1/test/one",
    upstream: "demo",
    upstreamPath: "/enrich/companies",
    price: { credits: 1 },
  },
  {
    id: "test.drain",
    name: "Spend at once",
    category: "ai",
    method: "POST",
    path: "/v1/test/drain",
    upstream: "demo",
    upstreamPath: "/enrich/companies",
    price: { credits: 1, per: 1, unit: { from: "query", param: "credits" }, maxUnits: 1_000_000 },
    settlement: "on_request",
  },
  {
    id: "test.slow",
    name: "Short timeout",
    category: "insights",
    method: "POST",
    path: "/v1/test/slow",
    upstream: "demo",
    upstreamPath: "/enrich/companies",
    price: { credits: 7 },
    timeoutMs: 300,
  },
  {
    id: "test.metered",
    name: "Metered, one credit per unit",
    category: "ai",
    method: "POST",
    path: "/v1/test/metered",
    upstream: "demo",
    upstreamPath: "/ai/generate",
    price: {
      credits: 1,
      per: 1,
      unit: { from: "response_header", header: "X-Usage-Units" },
      maxUnits: 50,
    },
    settlement: "metered",
  },
  {
    id: "test.refused",
    name: "Unreachable upstream",
    category: "insights",
    method: "POST",
    path: "/v1/test/refused",
    upstream: "closed",
    upstreamPath: "/nothing",
    price: { credits: 3 },
  },
] as const;

type Definition = { id: string } & Record<string, unknown>;

/**
 * The demo's configuration with more upstreams and actions, which every plan includes (the
 * demo's actions may be changed first, e.g. to forward elsewhere). Plans, seats and categories
 * stay the demo's: the ledger under test is built with those.
 */
export function demoConfigWith(
  more: {
    upstreams?: readonly Definition[];
    actions: readonly Definition[];
    demoActions?: (action: (typeof demo.actions)[number]) => Definition;
  },
  source: string,
) {
  return loadConfig(
    {
      ...demo,
      plans: demo.plans.map((plan) => ({
        ...plan,
        includes: [...plan.includes, ...more.actions.map((a) => a.id)],
      })),
      upstreams: [...demo.upstreams, ...(more.upstreams ?? [])],
      actions: [...demo.actions.map(more.demoActions ?? ((a) => a)), ...more.actions],
    },
    source,
  );
}

/** `demoConfigWith` as a catalog. */
export function demoCatalogWith(more: Parameters<typeof demoConfigWith>[0], source: string) {
  return loadCatalog(demoConfigWith(more, source));
}

/** The demo's configuration with the extra actions above. */
export const testConfig = demoConfigWith(
  { upstreams: [{ id: "closed", url: "http://127.0.0.1:9" }], actions: extra },
  "the test configuration (test/support/test-catalog.ts)",
);

export const testCatalog = loadCatalog(testConfig);

export const testApp = createApp({ catalog: testCatalog });
