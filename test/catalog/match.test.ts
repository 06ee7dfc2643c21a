import { describe, expect, it } from "vitest";
import { bundledCatalog, normalizePath } from "../../src/catalog";

function resolvedId(method: string, path: string): string | null {
  const match = bundledCatalog.resolve(method, path);
  return match.kind === "action" ? match.action.id : null;
}

describe("Catalog.resolve", () => {
  it("resolves every demo action at its own method and path", () => {
    expect(resolvedId("POST", "/v1/enrichment/companies")).toBe("enrichment.company");
    expect(resolvedId("POST", "/v1/enrichment/contacts")).toBe("enrichment.contact");
    expect(resolvedId("POST", "/v1/records/companies/refresh")).toBe("record_refresh.company");
    expect(resolvedId("GET", "/v1/prospecting/intent")).toBe("prospecting.intent");
    expect(resolvedId("POST", "/v1/ai/generate")).toBe("ai.generate");
    expect(resolvedId("POST", "/v1/ai/agents/agt_1/conversations")).toBe("ai.agent_conversation");
    expect(resolvedId("POST", "/v1/insights/smart-properties/p-9/query")).toBe(
      "insights.smart_property",
    );
  });

  it("returns the matched params", () => {
    expect(
      bundledCatalog.resolve("POST", "/v1/ai/agents/agent.v2~x_y-z/conversations"),
    ).toMatchObject({ kind: "action", params: { agentId: "agent.v2~x_y-z" } });
  });

  it("answers method_not_allowed with the allowed methods", () => {
    expect(bundledCatalog.resolve("GET", "/v1/enrichment/companies")).toEqual({
      kind: "method_not_allowed",
      allow: ["POST"],
    });
    expect(bundledCatalog.resolve("DELETE", "/v1/ai/agents/a1/conversations")).toEqual({
      kind: "method_not_allowed",
      allow: ["POST"],
    });
  });

  it("does not treat HEAD as GET", () => {
    expect(bundledCatalog.resolve("HEAD", "/v1/prospecting/intent")).toEqual({
      kind: "method_not_allowed",
      allow: ["GET"],
    });
  });

  it("matches methods case-sensitively", () => {
    expect(bundledCatalog.resolve("post", "/v1/ai/generate").kind).toBe("method_not_allowed");
  });

  it.each([
    "/",
    "/v1",
    "/v1/enrichment",
    "/v1/enrichment/companies/extra",
    "/v1/Enrichment/Companies",
    "/V1/enrichment/companies",
    "/v1/enrichment/companies/",
    "/v1//enrichment/companies",
    "v1/enrichment/companies",
    "/v1/ai/agents//conversations",
    "/v1/ai/agents/../conversations",
    "/v1/ai/agents/./conversations",
    "/v1/ai/agents/a b/conversations",
    "/v1/ai/agents/a%2Fb/conversations",
    "/v1/ai/agents/a:b/conversations",
    `/v1/ai/agents/${"a".repeat(129)}/conversations`,
  ])("finds no action for %s", (path) => {
    expect(bundledCatalog.resolve("POST", path)).toEqual({ kind: "none" });
  });

  it("accepts a param of 128 characters", () => {
    expect(resolvedId("POST", `/v1/ai/agents/${"a".repeat(128)}/conversations`)).toBe(
      "ai.agent_conversation",
    );
  });

  it("resolves mixed-case paths only after normalization, and then not at all", () => {
    const normalized = normalizePath("/V1/Enrichment/Companies");
    expect(normalized).toEqual({ ok: true, path: "/V1/Enrichment/Companies" });
    if (normalized.ok) expect(bundledCatalog.resolve("POST", normalized.path).kind).toBe("none");
  });

  it("resolves an encoded dot-segment trick to the action it really names", () => {
    const normalized = normalizePath("/v1/enrichment/%2e%2e/ai/generate");
    if (!normalized.ok) throw new Error(normalized.detail);
    expect(resolvedId("POST", normalized.path)).toBe("ai.generate");
  });

  it("looks actions up by id", () => {
    expect(bundledCatalog.action("ai.generate")?.path).toBe("/v1/ai/generate");
    expect(bundledCatalog.action("AI.GENERATE")).toBeUndefined();
  });
});
