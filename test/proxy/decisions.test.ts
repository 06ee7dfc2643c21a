import { describe, expect, it } from "vitest";
import type { ProblemBody } from "../support/api";
import {
  balance,
  bearer,
  call,
  enrich,
  jsonCall,
  OPERATOR,
  setupAccount,
  spend,
} from "../support/api";

async function problem(res: Response): Promise<ProblemBody> {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as ProblemBody;
  expect(body.requestId).toBe(res.headers.get("x-request-id"));
  return body;
}

describe("admission decisions (SPEC §4)", () => {
  it("refuses an action outside the account's plan with 403 plan_excludes_action", async () => {
    const acct = await setupAccount({ plan: "starter" });
    const res = await call("/v1/records/companies/refresh", {
      method: "POST",
      headers: { ...bearer(acct.memberKey), "content-type": "application/json" },
      body: JSON.stringify({ records: [{ id: "r1" }] }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("x-credits-charged")).toBe("0");
    expect(await problem(res)).toMatchObject({
      code: "plan_excludes_action",
      action: "record_refresh.company",
      credits: 5,
      rule: "plan",
      plan: "starter",
      includedIn: ["professional", "enterprise"],
    });
  });

  it("admits the same action once the operator upgrades the plan, on the next request", async () => {
    const acct = await setupAccount({ plan: "starter" });
    const patched = await jsonCall(`/admin/v1/accounts/${acct.id}`, {
      method: "PATCH",
      headers: OPERATOR,
      json: { plan: "professional" },
    });
    expect(patched.body).toMatchObject({ plan: "professional" });
    const res = await call("/v1/records/companies/refresh", {
      method: "POST",
      headers: { ...bearer(acct.memberKey), "content-type": "application/json" },
      body: JSON.stringify({ records: [{ id: "r1" }, { id: "r2" }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-credits-charged")).toBe("10");
  });

  it("refuses a member without the required seat with 403 seat_required", async () => {
    const core = await setupAccount({ seat: "core" });
    const res = await call("/v1/prospecting/intent?limit=3", { headers: bearer(core.memberKey) });
    expect(res.status).toBe(403);
    expect(await problem(res)).toMatchObject({ code: "seat_required", rule: "seat", credits: 30 });

    const sales = await setupAccount({ seat: "sales" });
    const ok = await call("/v1/prospecting/intent?limit=3", { headers: bearer(sales.memberKey) });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-credits-charged")).toBe("30");
    expect(((await ok.json()) as { companies: unknown[] }).companies).toHaveLength(3);
  });

  it("refuses a call the balance cannot cover with 402 insufficient_credits and holds nothing", async () => {
    const acct = await setupAccount({ plan: "starter" });
    await spend(acct.memberKey, "/v1/test/drain?credits=495");
    const res = await enrich(acct.memberKey, 1);
    expect(res.status).toBe(402);
    expect(await problem(res)).toMatchObject({
      code: "insufficient_credits",
      credits: 10,
      available: 5,
      rule: "balance",
    });
    const b = await balance(acct.memberKey);
    expect([b.available, b.held]).toEqual([5, 0]);
  });

  it("spends a pack once the included credits are gone, in priority order", async () => {
    const acct = await setupAccount({ plan: "starter" });
    await jsonCall(`/admin/v1/accounts/${acct.id}/grants`, {
      method: "POST",
      headers: OPERATOR,
      json: { amount: 50, source: "pack" },
    });
    await spend(acct.memberKey, "/v1/test/drain?credits=495");
    const res = await enrich(acct.memberKey, 2);
    expect(res.status).toBe(200);
    const b = (await balance(acct.memberKey)) as unknown as {
      available: number;
      grants: { source: string; remaining: number }[];
    };
    expect(b.available).toBe(35);
    expect(b.grants.map((g) => [g.source, g.remaining])).toEqual([["pack", 35]]);
  });

  it("quotes a dry run without holding, charging or calling the upstream", async () => {
    const acct = await setupAccount();
    const res = await enrich(acct.memberKey, 4, { "x-credit-dry-run": "true" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      dryRun: true,
      allowed: true,
      action: "enrichment.company",
      units: 4,
      credits: 40,
    });
    expect(res.headers.get("x-credits-charged")).toBe("0");
    expect(res.headers.get("x-credits-quote")).toBe("40");
    const b = await balance(acct.memberKey);
    expect([b.available, b.held, b.capturedThisPeriod]).toEqual([3000, 0, 0]);

    const denied = await call("/v1/ai/agents/a1/conversations", {
      method: "POST",
      headers: {
        ...bearer(acct.memberKey),
        "x-credit-dry-run": "true",
        "content-type": "application/json",
      },
      body: "{}",
    });
    expect(denied.status).toBe(403);
    expect((await problem(denied)).code).toBe("plan_excludes_action");
  });

  it("rejects bad units before asking the ledger", async () => {
    const acct = await setupAccount();
    const cases: [string, RequestInit][] = [
      ["/v1/enrichment/companies", { method: "POST", body: JSON.stringify({ records: [] }) }],
      ["/v1/enrichment/companies", { method: "POST", body: JSON.stringify({ records: "x" }) }],
      ["/v1/enrichment/companies", { method: "POST", body: "{not json" }],
      [
        "/v1/enrichment/companies",
        { method: "POST", body: JSON.stringify({ records: Array(101).fill({}) }) },
      ],
      ["/v1/prospecting/intent?limit=0", {}],
      ["/v1/prospecting/intent?limit=101", {}],
      ["/v1/prospecting/intent", {}],
      [
        "/v1/enrichment/companies",
        { method: "POST", body: JSON.stringify({ records: [{}], Records: [{}, {}, {}] }) },
      ],
    ];
    for (const [path, init] of cases) {
      const res = await call(path, {
        ...init,
        headers: { ...bearer(acct.memberKey), "content-type": "application/json" },
      });
      expect(res.status, path).toBe(400);
      expect(["invalid_units", "bad_request"]).toContain((await problem(res)).code);
    }
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(0);
  });

  it("adds the credit headers, the request id and Server-Timing to a proxied answer", async () => {
    const acct = await setupAccount();
    const res = await enrich(acct.memberKey, 1);
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get("server-timing")).toMatch(/^gateway;dur=\d+, upstream;dur=\d+$/);
    expect(res.headers.get("x-demo-authenticated")).toBe("true");
  });

  it("refuses a body over the action's limit with 413 whatever Content-Length claims", async () => {
    const acct = await setupAccount();
    const before = await balance(acct.memberKey);
    const big = new TextEncoder().encode(
      JSON.stringify({ records: [{ domain: "a.example", pad: "x".repeat(1_100_000) }] }),
    );
    for (const declared of [null, "10", String(big.length)]) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < big.length; at += 64 * 1024)
            controller.enqueue(big.subarray(at, at + 64 * 1024));
          controller.close();
        },
      });
      const headers: Record<string, string> = {
        ...bearer(acct.memberKey),
        "content-type": "application/json",
      };
      if (declared !== null) headers["content-length"] = declared;
      const res = await call("/v1/enrichment/companies", { method: "POST", headers, body });
      expect(res.status, `content-length ${declared}`).toBe(413);
      expect(await problem(res)).toMatchObject({ code: "payload_too_large" });
    }
    expect(await balance(acct.memberKey)).toEqual(before);
  });

  it("lists the catalog for the operator", async () => {
    const res = await jsonCall<{
      actions: { id: string; plans: string[]; settlement: string }[];
      plans: { id: string; includedCredits: number }[];
    }>("/admin/v1/catalog", { headers: OPERATOR });
    expect(res.status).toBe(200);
    expect(res.body.actions.map((a) => a.id)).toEqual([
      "enrichment.company",
      "enrichment.contact",
      "record_refresh.company",
      "prospecting.intent",
      "ai.generate",
      "ai.agent_conversation",
      "insights.smart_property",
    ]);
    expect(res.body.actions.find((a) => a.id === "ai.generate")).toMatchObject({
      settlement: "metered",
      plans: ["professional", "enterprise"],
    });
    expect(res.body.plans.map((p) => [p.id, p.includedCredits])).toEqual([
      ["starter", 500],
      ["professional", 3000],
      ["enterprise", 5000],
    ]);
  });
});
