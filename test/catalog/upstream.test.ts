import { describe, expect, it } from "vitest";
import { bundledCatalog, upstreamPath } from "../../src/catalog";

function demoAction(id: string) {
  const action = bundledCatalog.action(id);
  if (!action) throw new Error(`no demo action ${id}`);
  return action;
}

describe("upstreamPath", () => {
  it("forwards to the template, not to the client's path", () => {
    expect(upstreamPath(demoAction("enrichment.company"), {})).toBe("/enrich/companies");
  });

  it("fills params from the match", () => {
    const match = bundledCatalog.resolve("POST", "/v1/ai/agents/agt_7/conversations");
    if (match.kind !== "action") throw new Error("expected a match");
    expect(upstreamPath(match.action, match.params)).toBe("/ai/agents/agt_7/conversations");
  });

  it("percent-encodes param values", () => {
    const action = demoAction("insights.smart_property");
    expect(upstreamPath(action, { propertyId: "a b/c?d" })).toBe(
      "/insights/smart-properties/a%20b%2Fc%3Fd/query",
    );
  });

  it("refuses a missing, empty or dot-segment param", () => {
    const action = demoAction("ai.agent_conversation");
    expect(() => upstreamPath(action, {})).toThrow(/agentId/);
    expect(() => upstreamPath(action, { agentId: "" })).toThrow(/agentId/);
    expect(() => upstreamPath(action, { agentId: ".." })).toThrow(/agentId/);
    expect(() => upstreamPath(action, { agentId: "." })).toThrow(/agentId/);
  });
});
