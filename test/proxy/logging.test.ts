import { afterEach, describe, expect, it, vi } from "vitest";
import { call, enrich, setupAccount, spend } from "../support/api";

afterEach(() => vi.restoreAllMocks());

function captureLogs() {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  });
  return lines;
}

describe("request log", () => {
  it("writes one JSON line per request with the decision, and never a key or secret", async () => {
    const acct = await setupAccount();
    const lines = captureLogs();
    const ok = await enrich(acct.memberKey, 2);
    const failed = await spend(acct.memberKey, "/v1/test/one", { "x-chaos-status": "500" });
    const badKey = await call("/v1/enrichment/companies", {
      method: "POST",
      headers: {
        authorization: `Bearer ${acct.memberKey.slice(0, -1)}x`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ records: [{}] }),
    });
    expect(badKey.status).toBe(401);

    expect(lines).toHaveLength(3);
    const [first, second, third] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({
      requestId: ok.headers.get("x-request-id"),
      account: acct.id,
      action: "enrichment.company",
      decision: "forwarded",
      credits: 20,
      upstreamStatus: 200,
      status: 200,
    });
    expect(typeof first?.gatewayMs).toBe("number");
    expect(second).toMatchObject({
      requestId: failed.headers.get("x-request-id"),
      credits: 0,
      upstreamStatus: 500,
    });
    expect(third).toMatchObject({ status: 401, decision: "denied", reason: "invalid_key" });

    const secrets = [
      acct.memberKey,
      acct.adminKey,
      acct.memberKey.split("_").at(-1) ?? "",
      "test-upstream-secret",
    ];
    for (const line of lines) for (const secret of secrets) expect(line).not.toContain(secret);
  });
});
