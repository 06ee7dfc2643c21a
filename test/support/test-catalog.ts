/**
 * A catalog for tests: the demo catalog's actions plus cheap, slow and failing ones on the same
 * upstream (the chaos front of the demo service), so races and faults are quick to set up.
 */
import { createApp } from "../../src/app";
import { demoCatalogDefinition, loadCatalog } from "../../src/catalog";

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
    minTier: "starter",
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
    minTier: "starter",
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
    minTier: "starter",
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
    minTier: "starter",
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
    minTier: "starter",
  },
] as const;

export const testCatalog = loadCatalog({
  upstreams: [...demoCatalogDefinition.upstreams, { id: "closed", url: "http://127.0.0.1:9" }],
  actions: [...demoCatalogDefinition.actions, ...extra],
});

export const testApp = createApp({ catalog: testCatalog });
