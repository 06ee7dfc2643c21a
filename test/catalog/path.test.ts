import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizePath } from "../../src/catalog";

describe("normalizePath", () => {
  it.each([
    ["/", "/"],
    ["/v1/enrichment/companies", "/v1/enrichment/companies"],
    ["/v1/enrichment/companies/", "/v1/enrichment/companies"],
    ["/v1//enrichment/companies", "/v1/enrichment/companies"],
    ["//v1///enrichment//companies//", "/v1/enrichment/companies"],
    ["/v1/%2e%2e/admin", "/admin"],
    ["/v1/enrichment/%2e%2e/ai/generate", "/v1/ai/generate"],
    ["/v1/enrichment/%2E%2E/ai/generate", "/v1/ai/generate"],
    ["/v1/enrichment/.%2e/ai/generate", "/v1/ai/generate"],
    ["/v1/%2e/ai/./generate", "/v1/ai/generate"],
    ["/v1/ai/%67enerate", "/v1/ai/generate"],
    ["/v1/a/..", "/v1"],
    ["/V1/Enrichment/Companies", "/V1/Enrichment/Companies"],
    ["/v1/caf%C3%A9", "/v1/café"],
    ["/v1/a%20b", "/v1/a b"],
    ["/v1/.../x", "/v1/.../x"],
  ])("normalizes %s to %s", (raw, expected) => {
    expect(normalizePath(raw)).toEqual({ ok: true, path: expected });
  });

  it.each([
    ["/v1/enrichment%2Fcompanies", "encoded slash"],
    ["/v1/enrichment%2fcompanies", "encoded slash"],
    ["/v1/enrichment%5Ccompanies", "encoded slash or backslash"],
    ["/v1/enrichment%5ccompanies", "encoded slash or backslash"],
    ["/v1\\enrichment", "backslash"],
    ["/v1/%00/x", "control character"],
    ["/v1/a%0d%0aHost:x", "control character"],
    ["/v1/a%7f", "control character"],
    ["/v1/a%c2%85", "control character"],
    ["/v1/\u0001", "control character"],
    ["/v1/%zz", "malformed"],
    ["/v1/%2", "malformed"],
    ["/v1/100%", "malformed"],
    ["/v1/%C0%AF", "UTF-8"],
    ["/v1/%ff", "UTF-8"],
    ["/v1/%ed%a0%80", "UTF-8"],
    ["/v1/%252f", "double"],
    ["/v1/%25", "double"],
    ["/..", "above"],
    ["/v1/../..", "above"],
    ["/%2e%2e/v1", "above"],
    ["v1/enrichment", "start with /"],
    ["", "start with /"],
    [`/${"a".repeat(2048)}`, "longer than 2048"],
  ])("rejects %s (%s)", (raw, reason) => {
    const result = normalizePath(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).toContain(reason);
  });

  it("accepts a path of exactly 2048 characters", () => {
    expect(normalizePath(`/${"a".repeat(2047)}`).ok).toBe(true);
  });

  it("composes with the runtime's URL parser", () => {
    // Whatever the runtime already resolved, the result is the same single decode.
    const cases: [string, string][] = [
      ["https://gw.test/v1/enrichment/%2e%2e/ai/generate", "/v1/ai/generate"],
      ["https://gw.test/v1/enrichment/../ai/generate", "/v1/ai/generate"],
      ["https://gw.test/v1//enrichment/./companies/", "/v1/enrichment/companies"],
      ["https://gw.test/v1\\ai\\generate", "/v1/ai/generate"],
    ];
    for (const [url, expected] of cases) {
      expect(normalizePath(new URL(url).pathname)).toEqual({ ok: true, path: expected });
    }
    expect(normalizePath(new URL("https://gw.test/v1/ai%2fgenerate").pathname).ok).toBe(false);
  });
});

/** Path-ish strings built from the pieces attacks are made of. */
const pathPieces = fc
  .array(
    fc.constantFrom(
      "/",
      "//",
      ".",
      "..",
      "%2e",
      "%2E",
      "%2f",
      "%2F",
      "%5c",
      "%25",
      "%",
      "%00",
      "%41",
      "%C3%A9",
      "%C0%AF",
      "\\",
      "v1",
      "a",
      "A",
      "-",
      "~",
      " ",
      "?",
    ),
    { maxLength: 24 },
  )
  .map((pieces) => `/${pieces.join("")}`);

describe("normalizePath properties", () => {
  it("rejects or returns a canonical path that normalizes to itself", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          pathPieces,
          fc.string(),
          fc.string().map((s) => `/${s}`),
        ),
        (raw) => {
          const result = normalizePath(raw);
          if (!result.ok) return;
          const path = result.path;
          expect(path.startsWith("/")).toBe(true);
          expect(path).not.toContain("//");
          expect(path).not.toMatch(/%2f/i);
          expect(path).not.toContain("\\");
          expect(path.split("/").slice(1)).not.toContain(".");
          expect(path.split("/").slice(1)).not.toContain("..");
          if (path !== "/") expect(path.endsWith("/")).toBe(false);
          expect(normalizePath(path)).toEqual({ ok: true, path });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
