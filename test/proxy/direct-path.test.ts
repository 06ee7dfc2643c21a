/**
 * The request path skips Hono for paths that Hono could only route to the proxy
 * (`isProxyOnlyPath`). These tests pin that no management route or middleware is skipped that
 * way, and that a priced call answers the same either way: same headers, same log line, same
 * charge.
 */
import { describe, expect, it, vi } from "vitest";
import { isProxyOnlyPath } from "../../src/app";
import { balance, bearer, callTest, setupAccount } from "../support/api";
import { testApp } from "../support/test-catalog";

/** A concrete path for a route pattern: every parameter and wildcard filled in. */
function sample(pattern: string): string {
  return pattern.replace(/:[^/]+|\{[^}]+\}|\*/g, "x") || "/";
}

describe("isProxyOnlyPath", () => {
  it("leaves every management route and middleware to Hono", () => {
    const patterns = testApp.routes.map((r) => r.path).filter((p) => p !== "*" && p !== "/*");
    expect(patterns.length).toBeGreaterThan(40);
    for (const pattern of patterns) {
      const path = sample(pattern);
      expect(isProxyOnlyPath(path), `${pattern} -> ${path}`).toBe(false);
      expect(isProxyOnlyPath(`${path}/deeper`), `${pattern} + /deeper`).toBe(false);
      expect(isProxyOnlyPath(path.toUpperCase()), `${pattern} upper case`).toBe(false);
    }
  });

  it("takes plain catalog paths and nothing Hono would read differently", () => {
    expect(isProxyOnlyPath("/v1/enrichment/companies")).toBe(true);
    expect(isProxyOnlyPath("/v1/ai/generate")).toBe(true);
    for (const path of [
      "/",
      "/v1",
      "/v1/",
      "/v1/teams",
      "/v1/Teams/t_1",
      "/v1/%74eams",
      "/v1//teams",
      "/v1/./teams",
      "/v1/enrichment/companies/",
      "/v1/enrichment/../teams",
      "/admin/v1/accounts",
      "/docs",
      "/openapi.json",
      "/dashboard/app.js",
    ]) {
      expect(isProxyOnlyPath(path), path).toBe(false);
    }
  });
});

describe("a priced call, directly or through Hono", () => {
  it("answers and charges the same, with one log line each", async () => {
    const account = await setupAccount({ plan: "professional" });
    const before = (await balance(account.adminKey)).available;
    const lines: Record<string, unknown>[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
      if (typeof line === "string" && line.startsWith("{")) lines.push(JSON.parse(line));
    });
    // A different record each: with dedupe, a record enriched already would not be charged.
    const send = (path: string, domain: string) =>
      callTest(path, {
        method: "POST",
        headers: { ...bearer(account.memberKey), "content-type": "application/json" },
        body: JSON.stringify({ records: [{ domain }] }),
      });
    try {
      // The first is plain (direct); the second has an escaped letter, so Hono routes it.
      const direct = await send("/v1/enrichment/companies", "acme.com");
      const routed = await send("/v1/enrichment/compani%65s", "globex.com");
      expect(isProxyOnlyPath("/v1/enrichment/compani%65s")).toBe(false);
      for (const res of [direct, routed]) {
        expect(res.status).toBe(200);
        expect(res.headers.get("x-credits-charged")).toBe("10");
        expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.headers.get("server-timing")).toMatch(/^gateway;dur=\d+, upstream;dur=\d+$/);
      }
      const ids = [direct, routed].map((r) => r.headers.get("x-request-id"));
      const logged = ids.map((id) => lines.filter((l) => l.requestId === id));
      for (const entries of logged) {
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatchObject({
          method: "POST",
          status: 200,
          account: account.id,
          action: "enrichment.company",
          decision: "forwarded",
          credits: 10,
        });
        expect(typeof entries[0]?.gatewayMs).toBe("number");
      }
      expect(Object.keys(logged[0]?.[0] ?? {})).toEqual(Object.keys(logged[1]?.[0] ?? {}));
    } finally {
      spy.mockRestore();
    }
    expect((await balance(account.adminKey)).available).toBe(before - 20);
  });

  it("renders a refusal the same way", async () => {
    const res = await callTest("/v1/enrichment/companies", {
      method: "POST",
      headers: { authorization: "Bearer nope", "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const body = (await res.json()) as { code: string; requestId: string };
    expect(body.code).toBe("invalid_key");
    expect(body.requestId).toBe(res.headers.get("x-request-id"));
  });
});
