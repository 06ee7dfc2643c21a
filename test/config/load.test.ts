import { describe, expect, it } from "vitest";
import demo from "../../creditgate.config.json";
import { bundledCatalog, describeAction, loadCatalog } from "../../src/catalog";
import { config as bundled } from "../../src/config/bundled";
import { loadConfig } from "../../src/config/load";
import { priceAt, upcomingPrices } from "../../src/config/price";

const demoUpstream = { id: "demo", binding: "DEMO_UPSTREAM" };
const CATEGORIES = ["enrichment", "prospecting", "ai", "record_refresh", "insights"];

/** A configuration around these actions: the demo's seats and categories, one plan with all. */
function file(actions: unknown[], upstreams: unknown[] = [demoUpstream], more = {}) {
  return {
    seats: ["core", "sales", "service"],
    categories: CATEGORIES,
    plans: [{ id: "all", name: "All", includedCredits: 100, includes: CATEGORIES }],
    upstreams,
    actions,
    ...more,
  };
}

function action(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "enrichment.company",
    name: "Company enrichment",
    category: "enrichment",
    method: "POST",
    path: "/v1/enrichment/companies",
    upstream: "demo",
    upstreamPath: "/enrich/companies",
    price: { credits: 10 },
    ...overrides,
  };
}

/** The message loadConfig throws for these actions (and upstreams, and other fields). */
function loadError(actions: unknown[], upstreams: unknown[] = [demoUpstream], more = {}): string {
  try {
    loadConfig(file(actions, upstreams, more), "test.json");
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("expected the configuration to be rejected");
}

describe("the demo configuration", () => {
  it("loads with the seven actions and one upstream", () => {
    expect(bundledCatalog.actions.map((a) => a.id)).toEqual([
      "enrichment.company",
      "enrichment.contact",
      "record_refresh.company",
      "prospecting.intent",
      "ai.generate",
      "ai.agent_conversation",
      "insights.smart_property",
    ]);
    expect([...bundledCatalog.upstreams.keys()]).toEqual(["demo"]);
    expect(bundledCatalog.upstreams.get("demo")?.credential?.secretEnv).toBe("DEMO_UPSTREAM_TOKEN");
  });

  it("applies defaults for settlement, timeout and body size", () => {
    const company = bundledCatalog.action("enrichment.company");
    expect(company).toMatchObject({ settlement: "on_success", timeoutMs: 10_000 });
    expect(company?.maxBodyBytes).toBe(1024 * 1024);
    expect(bundledCatalog.action("ai.generate")).toMatchObject({
      settlement: "metered",
      timeoutMs: 30_000,
    });
    expect(bundledCatalog.action("nope.nope")).toBeUndefined();
  });

  it("freezes the loaded actions so prices cannot change at run time", () => {
    const company = bundledCatalog.action("enrichment.company");
    expect(Object.isFrozen(company)).toBe(true);
    expect(Object.isFrozen(company?.price)).toBe(true);
  });

  it("describes actions for the operator without upstream details", () => {
    const agent = bundledCatalog.action("ai.agent_conversation");
    if (!agent) throw new Error("missing action");
    expect(describeAction(bundledCatalog, agent)).toEqual({
      id: "ai.agent_conversation",
      name: "AI agent conversation",
      category: "ai",
      method: "POST",
      path: "/v1/ai/agents/:agentId/conversations",
      price: { credits: 100 },
      settlement: "on_request",
      plans: ["enterprise"],
      seat: "core",
      timeoutMs: 10_000,
    });
    const generate = bundledCatalog.action("ai.generate");
    if (!generate) throw new Error("missing action");
    const described = describeAction(bundledCatalog, generate);
    expect(described).not.toHaveProperty("seat");
    expect(described).not.toHaveProperty("upstream");
    expect(described.price).toEqual({
      credits: 1,
      per: 100,
      unit: { from: "response_header", header: "X-Usage-Units" },
      maxUnits: 4000,
    });
  });

  it("loads a definition that leaves the defaults out", () => {
    const catalog = loadCatalog(loadConfig(file([action()]), "test.json"));
    expect(catalog.actions[0]).toMatchObject({ settlement: "on_success", timeoutMs: 10_000 });
  });

  it("is the file at the root, and gives each action to the plans that include it", () => {
    expect(demo.actions).toHaveLength(7);
    expect(bundled.plans.map((p) => [p.id, p.includedCredits])).toEqual([
      ["starter", 500],
      ["professional", 3000],
      ["enterprise", 5000],
    ]);
    // The plans that replaced the tiers: each action is in the plans from its old tier up.
    const plans = Object.fromEntries(
      bundled.actions.map((a) => [a.id, bundled.plansIncluding(a).join(" ")]),
    );
    expect(plans).toEqual({
      "enrichment.company": "starter professional enterprise",
      "enrichment.contact": "starter professional enterprise",
      "record_refresh.company": "professional enterprise",
      "prospecting.intent": "professional enterprise",
      "ai.generate": "professional enterprise",
      "ai.agent_conversation": "enterprise",
      "insights.smart_property": "enterprise",
    });
  });
});

describe("catalog validation", () => {
  it("rejects an unknown field, naming it and where it is", () => {
    const message = loadError([action({ prce: 1 })]);
    expect(message).toMatch(/actions\[0\]/);
    expect(message).toMatch(/prce/);
  });

  it("rejects an unknown field inside a price", () => {
    expect(loadError([action({ price: { credits: 1, discount: 2 } })])).toMatch(
      /actions\[0\]\.price.*discount/,
    );
  });

  it("rejects a duplicate action id", () => {
    const message = loadError([action(), action({ path: "/v1/other" })]);
    expect(message).toMatch(/actions\[1\]\.id: duplicate action id "enrichment\.company"/);
  });

  it("rejects the same method and path twice", () => {
    const message = loadError([action(), action({ id: "enrichment.other" })]);
    expect(message).toMatch(
      /actions\[1\]\.path: .*duplicate route POST \/v1\/enrichment\/companies/,
    );
  });

  it("rejects routes that differ only in parameter names", () => {
    const message = loadError([
      action({ id: "a.x", path: "/a/:x", upstreamPath: "/a" }),
      action({ id: "a.y", path: "/a/:y", upstreamPath: "/a" }),
    ]);
    expect(message).toMatch(/duplicate route POST \/a\/:y conflicts with "a\.x"/);
  });

  it("rejects a parameter that overlaps a literal route of the same method", () => {
    const message = loadError([
      action({ id: "a.x", path: "/a/:x", upstreamPath: "/a" }),
      action({ id: "a.b", path: "/a/b", upstreamPath: "/a" }),
    ]);
    expect(message).toMatch(/ambiguous route POST \/a\/b/);
  });

  it("accepts the same path under different methods", () => {
    const actions = [action(), action({ id: "enrichment.other", method: "PUT" })];
    const catalog = loadCatalog(loadConfig(file(actions), "test.json"));
    expect(catalog.actions).toHaveLength(2);
  });

  it("rejects an action whose upstream is not declared", () => {
    expect(loadError([action({ upstream: "missing" })])).toMatch(
      /actions\[0\]\.upstream: .*upstream "missing" is not declared/,
    );
  });

  it("rejects an upstream template parameter the path does not have", () => {
    const message = loadError([action({ path: "/v1/a/:agentId", upstreamPath: "/a/:propertyId" })]);
    expect(message).toMatch(/actions\[0\]\.upstreamPath: .*":propertyId" which is not a parameter/);
  });

  it("rejects a metered action whose units do not come from a response header", () => {
    const message = loadError([
      action({
        settlement: "metered",
        price: { credits: 1, unit: { from: "body", field: "records" }, maxUnits: 10 },
      }),
    ]);
    expect(message).toMatch(
      /actions\[0\]\.settlement: .*"metered" and a price unit from "response_header"/,
    );
  });

  it("rejects response-header units on an action that is not metered", () => {
    const message = loadError([
      action({
        price: {
          credits: 1,
          unit: { from: "response_header", header: "X-Usage-Units" },
          maxUnits: 9,
        },
      }),
    ]);
    expect(message).toMatch(/actions\[0\]\.settlement: .*settlement is "on_success"/);
  });

  it("rejects a negative price", () => {
    expect(loadError([action({ price: { credits: -1 } })])).toMatch(
      /actions\[0\]\.price\.credits: Too small/,
    );
  });

  it("rejects credits that are not an integer", () => {
    expect(loadError([action({ price: { credits: 1.5 } })])).toMatch(
      /actions\[0\]\.price\.credits: .*int/,
    );
  });

  it("rejects a per-unit price of zero credits", () => {
    const price = { credits: 0, unit: { from: "body", field: "records" }, maxUnits: 5 };
    expect(loadError([action({ price })])).toMatch(/actions\[0\]\.price\.credits: Too small/);
  });

  it("rejects a hold above 10^12 credits", () => {
    const price = { credits: 1_000_000, unit: { from: "body", field: "r" }, maxUnits: 10_000_000 };
    expect(loadError([action({ price })])).toMatch(/largest hold \(10000000000000 credits\)/);
  });

  it("rejects an upstream with both a binding and a url, or neither", () => {
    expect(loadError([action()], [{ id: "demo", binding: "X", url: "https://x.test" }])).toMatch(
      /upstreams\[0\]: .*exactly one of "binding" or "url"/,
    );
    expect(loadError([action()], [{ id: "demo" }])).toMatch(/exactly one of/);
  });

  it("rejects an upstream url that is not http or https", () => {
    expect(loadError([action()], [{ id: "demo", url: "ftp://x.test" }])).toMatch(
      /upstreams\[0\]\.url: must be an http or https URL/,
    );
  });

  it("rejects malformed ids and paths", () => {
    expect(loadError([action({ id: "Enrichment.Company" })])).toMatch(/actions\[0\]\.id/);
    expect(loadError([action({ path: "/v1/Enrichment" })])).toMatch(/actions\[0\]\.path/);
    expect(loadError([action({ path: "/v1/x/" })])).toMatch(/actions\[0\]\.path/);
    expect(loadError([action({ upstreamPath: "/a/../admin" })])).toMatch(
      /actions\[0\]\.upstreamPath/,
    );
  });

  it("rejects a timeout outside 100..55000 ms and a body limit above 10 MiB", () => {
    expect(loadError([action({ timeoutMs: 99 })])).toMatch(/actions\[0\]\.timeoutMs/);
    expect(loadError([action({ timeoutMs: 55_001 })])).toMatch(/actions\[0\]\.timeoutMs/);
    expect(loadError([action({ maxBodyBytes: 10 * 1024 * 1024 + 1 })])).toMatch(/maxBodyBytes/);
  });

  it("lists every issue, one per line", () => {
    const message = loadError([action({ category: "other", seat: "free" })]);
    expect(message).toMatch(/^invalid configuration test\.json \(2 issue\(s\)\):/);
    expect(message).toMatch(/actions\[0\]\.category: .*"other" is not one of categories/);
    expect(message).toMatch(/actions\[0\]\.seat: .*"free" is not one of seats/);
  });
});

describe("references between the file's ids", () => {
  it("names both ends of a plan's include that resolves to nothing", () => {
    const plans = [{ id: "basic", name: "Basic", includedCredits: 1, includes: ["ai", "ai.nope"] }];
    expect(loadError([action()], [demoUpstream], { plans })).toMatch(
      /plans\[0\]\.includes\[1\]: plan "basic" includes "ai\.nope", which is neither a category \(enrichment, .*\) nor an action \("enrichment\.company"\)/,
    );
  });

  it("refuses duplicate seats, categories and plans, and a declared seat `none`", () => {
    expect(loadError([action()], [demoUpstream], { seats: ["core", "core"] })).toMatch(
      /seats\[1\]: duplicate seat id "core" \(first at seats\[0\]\)/,
    );
    expect(loadError([action()], [demoUpstream], { seats: ["none"] })).toMatch(
      /seats\[0\]: "none" is the seat of a member without one/,
    );
    expect(loadError([action()], [demoUpstream], { categories: [...CATEGORIES, "ai"] })).toMatch(
      /categories\[5\]: duplicate category id "ai"/,
    );
    const plan = { id: "p", name: "P", includedCredits: 0, includes: [] };
    expect(loadError([action()], [demoUpstream], { plans: [plan, plan] })).toMatch(
      /plans\[1\]\.id: duplicate plan id "p"/,
    );
  });

  it("refuses ids outside [a-z][a-z0-9_]* and a configuration without plans or categories", () => {
    expect(loadError([action()], [demoUpstream], { seats: ["Sales"] })).toMatch(/seats\[0\]/);
    expect(loadError([action()], [demoUpstream], { plans: [] })).toMatch(/plans: /);
    expect(loadError([action()], [demoUpstream], { categories: [] })).toMatch(/categories: /);
    expect(loadError([action()], [demoUpstream], { tiers: [] })).toMatch(/tiers/);
  });

  it("lets a plan include nothing, or an action of a category it does not include", () => {
    const plans = [
      { id: "none_at_all", name: "Nothing", includedCredits: 0, includes: [] },
      { id: "one", name: "One", includedCredits: 10, includes: ["enrichment.company"] },
    ];
    const config = loadConfig(file([action()], [demoUpstream], { plans }), "test.json");
    expect(config.plansIncluding({ id: "enrichment.company", category: "enrichment" })).toEqual([
      "one",
    ]);
    expect(config.plan("one")?.includedCredits).toBe(10);
    expect(config.plan("nope")).toBeUndefined();
  });
});

describe("scheduled prices", () => {
  const at = (iso: string) => Date.parse(iso);
  const scheduled = (priceSchedule: unknown) => action({ price: { credits: 10 }, priceSchedule });

  it("loads a schedule in time order and prices each moment by the latest entry begun", () => {
    const schedule = [
      { from: "2027-01-01T00:00:00Z", price: { credits: 12 } },
      { from: "2027-06-01T00:00:00Z", price: { credits: 15 } },
    ];
    const config = loadConfig(file([scheduled(schedule)]), "test.json");
    const [loaded] = config.actions;
    if (!loaded) throw new Error("no action");
    expect(priceAt(loaded, at("2026-12-31T23:59:59.999Z"))).toEqual({ credits: 10 });
    expect(priceAt(loaded, at("2027-01-01T00:00:00Z"))).toEqual({ credits: 12 });
    expect(priceAt(loaded, at("2027-07-01T00:00:00Z"))).toEqual({ credits: 15 });
    expect(upcomingPrices(loaded, at("2027-02-01T00:00:00Z"))).toEqual([schedule[1]]);
  });

  it("refuses entries out of time order, a different unit, and a time that is not ISO", () => {
    expect(
      loadError([
        scheduled([
          { from: "2027-06-01T00:00:00Z", price: { credits: 12 } },
          { from: "2027-01-01T00:00:00Z", price: { credits: 15 } },
        ]),
      ]),
    ).toMatch(/actions\[0\]\.priceSchedule\[1\]\.from: .*in time order/);
    const perRecord = { credits: 1, per: 1, unit: { from: "body", field: "records" }, maxUnits: 5 };
    expect(loadError([scheduled([{ from: "2027-01-01T00:00:00Z", price: perRecord }])])).toMatch(
      /actions\[0\]\.priceSchedule\[0\]\.price: .*counts units as `price` does/,
    );
    expect(loadError([scheduled([{ from: "next year", price: { credits: 1 } }])])).toMatch(
      /actions\[0\]\.priceSchedule\[0\]\.from/,
    );
  });
});

describe("dedupe and value", () => {
  const bodyPrice = {
    credits: 10,
    per: 1,
    unit: { from: "body", field: "records" },
    maxUnits: 100,
  };

  it("loads the demo's dedupe rules, manual minutes and value", () => {
    const config = loadConfig(demo);
    const byId = new Map(config.actions.map((a) => [a.id, a]));
    expect(byId.get("enrichment.company")?.dedupe).toEqual({ key: "domain", windowDays: 30 });
    expect(byId.get("enrichment.contact")?.dedupe).toEqual({ key: "email", windowDays: 30 });
    expect(byId.get("record_refresh.company")?.dedupe).toEqual({ key: "id", windowDays: 7 });
    expect(byId.get("ai.generate")).toMatchObject({ manualMinutes: 2, manualPer: "call" });
    expect(byId.get("enrichment.company")).toMatchObject({ manualMinutes: 6, manualPer: "unit" });
    expect(config.value).toEqual({ creditPrice: 0.01, hourlyCost: 45, currency: "USD" });
    expect(loadConfig(file([action()])).value).toBeNull();
  });

  it("refuses dedupe on an action whose units are not the records of a body array", () => {
    expect(loadError([action({ dedupe: { key: "domain", windowDays: 30 } })])).toMatch(
      /actions\[0\]\.dedupe: action "enrichment\.company": dedupe needs a price whose units are the records of a body array/,
    );
    const query = action({
      method: "GET",
      price: { credits: 1, per: 1, unit: { from: "query", param: "limit" }, maxUnits: 5 },
      dedupe: { key: "domain", windowDays: 30 },
    });
    expect(loadError([query])).toMatch(/the unit is from "query"/);
  });

  it("refuses a group whose actions disagree on the window, naming both", () => {
    const message = loadError([
      action({ price: bodyPrice, dedupe: { key: "domain", windowDays: 30, group: "companies" } }),
      action({
        id: "enrichment.other",
        path: "/v1/other",
        price: bodyPrice,
        dedupe: { key: "domain", windowDays: 7, group: "companies" },
      }),
    ]);
    expect(message).toMatch(
      /actions\[1\]\.dedupe\.windowDays: .*group "companies" has windowDays 30 at "enrichment\.company" \(actions\[0\]\) and 7 here/,
    );
  });

  it("refuses a bad key, window, group, manual minutes or value", () => {
    const bad = (dedupe: unknown) => loadError([action({ price: bodyPrice, dedupe })]);
    expect(bad({ key: "a b", windowDays: 30 })).toMatch(/dedupe\.key/);
    expect(bad({ key: "domain", windowDays: 0 })).toMatch(/dedupe\.windowDays/);
    expect(bad({ key: "domain", windowDays: 1.5 })).toMatch(/dedupe\.windowDays/);
    expect(bad({ key: "domain", windowDays: 30, group: "Bad Group" })).toMatch(/dedupe\.group/);
    expect(bad({ key: "domain", windowDays: 30, extra: 1 })).toMatch(/dedupe.*extra/);
    expect(loadError([action({ manualMinutes: -1 })])).toMatch(/actions\[0\]\.manualMinutes/);
    expect(loadError([action({ manualPer: "hour" })])).toMatch(/actions\[0\]\.manualPer/);
    const value = (v: unknown) => loadError([action()], [demoUpstream], { value: v });
    expect(value({ creditPrice: 0, hourlyCost: 45, currency: "USD" })).toMatch(
      /value\.creditPrice/,
    );
    expect(value({ creditPrice: 0.01, hourlyCost: 45, currency: "usd" })).toMatch(
      /value\.currency/,
    );
  });
});
