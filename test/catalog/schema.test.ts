import { describe, expect, it } from "vitest";
import { demoCatalog, demoCatalogDefinition, describeAction, loadCatalog } from "../../src/catalog";

const demoUpstream = { id: "demo", binding: "DEMO_UPSTREAM" };

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
    minTier: "starter",
    ...overrides,
  };
}

/** The message loadCatalog throws for these actions (and upstreams). */
function loadError(actions: unknown[], upstreams: unknown[] = [demoUpstream]): string {
  try {
    loadCatalog({ upstreams, actions });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("expected the catalog to be rejected");
}

describe("demo catalog", () => {
  it("loads with the seven actions and one upstream", () => {
    expect(demoCatalog.actions.map((a) => a.id)).toEqual([
      "enrichment.company",
      "enrichment.contact",
      "record_refresh.company",
      "prospecting.intent",
      "ai.generate",
      "ai.agent_conversation",
      "insights.smart_property",
    ]);
    expect([...demoCatalog.upstreams.keys()]).toEqual(["demo"]);
    expect(demoCatalog.upstreams.get("demo")?.credential?.secretEnv).toBe("DEMO_UPSTREAM_TOKEN");
  });

  it("applies defaults for settlement, timeout and body size", () => {
    const company = demoCatalog.action("enrichment.company");
    expect(company).toMatchObject({ settlement: "on_success", timeoutMs: 10_000 });
    expect(company?.maxBodyBytes).toBe(1024 * 1024);
    expect(demoCatalog.action("ai.generate")).toMatchObject({
      settlement: "metered",
      timeoutMs: 30_000,
    });
    expect(demoCatalog.action("nope.nope")).toBeUndefined();
  });

  it("freezes the loaded actions so prices cannot change at run time", () => {
    const company = demoCatalog.action("enrichment.company");
    expect(Object.isFrozen(company)).toBe(true);
    expect(Object.isFrozen(company?.price)).toBe(true);
  });

  it("describes actions for the operator without upstream details", () => {
    const agent = demoCatalog.action("ai.agent_conversation");
    if (!agent) throw new Error("missing action");
    expect(describeAction(agent)).toEqual({
      id: "ai.agent_conversation",
      name: "AI agent conversation",
      category: "ai",
      method: "POST",
      path: "/v1/ai/agents/:agentId/conversations",
      price: { credits: 100 },
      settlement: "on_request",
      minTier: "enterprise",
      seat: "core",
      timeoutMs: 10_000,
    });
    const generate = demoCatalog.action("ai.generate");
    if (!generate) throw new Error("missing action");
    const described = describeAction(generate);
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
    const catalog = loadCatalog({ upstreams: [demoUpstream], actions: [action()] });
    expect(catalog.actions[0]).toMatchObject({ settlement: "on_success", timeoutMs: 10_000 });
  });

  it("keeps the demo definition a plain object", () => {
    expect(demoCatalogDefinition.actions).toHaveLength(7);
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
    const catalog = loadCatalog({
      upstreams: [demoUpstream],
      actions: [action(), action({ id: "enrichment.other", method: "PUT" })],
    });
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
    const message = loadError([action({ category: "other", minTier: "free" })]);
    expect(message).toMatch(/^invalid catalog \(2 issue\(s\)\):/);
    expect(message).toMatch(/actions\[0\]\.category/);
    expect(message).toMatch(/actions\[0\]\.minTier/);
  });
});
