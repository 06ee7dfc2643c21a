import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import demo from "../../demo/upstream/index";

const BEARER = { Authorization: "Bearer upstream-secret-123" };

function call(path: string, init: RequestInit = {}): Promise<Response> {
  return demo.fetch(new Request(`http://upstream${path}`, init));
}

function post(path: string, body: unknown, headers: Record<string, string> = BEARER) {
  return call(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function body(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

function units(response: Response): number {
  return Number(response.headers.get("X-Usage-Units"));
}

describe("demo upstream routes", () => {
  it("enriches companies, one result per record", async () => {
    const records = [{ domain: "acme.com" }, { name: "Globex Corp" }, {}];
    const res = await post("/enrich/companies", { records });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: Record<string, unknown>[] };
    expect(results).toHaveLength(3);
    expect(results[0]).toMatchObject({ matched: true, domain: "acme.com", name: "Acme" });
    expect(results[0]?.industry).toEqual(expect.any(String));
    expect(results[0]?.employees).toEqual(expect.any(Number));
    expect(results[0]?.country).toEqual(expect.any(String));
    expect(results[1]).toMatchObject({ domain: "globexcorp.com", name: "Globex Corp" });
    expect(results[2]).toMatchObject({ matched: false });
  });

  it("answers the same input with the same data", async () => {
    const records = [{ domain: "initech.com" }];
    const first = await body(await post("/enrich/companies", { records }));
    const second = await body(await post("/enrich/companies", { records }));
    expect(second).toEqual(first);
  });

  it("enriches contacts", async () => {
    const records = [{ email: "jane.doe@acme.com" }, { name: "Bob" }];
    const res = await post("/enrich/contacts", { records });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: Record<string, unknown>[] };
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ email: "jane.doe@acme.com", company: "Acme" });
    expect(results[0]?.jobTitle).toEqual(expect.any(String));
    expect(results[0]?.seniority).toEqual(expect.any(String));
    expect(results[1]).toMatchObject({ name: "Bob", matched: true });
  });

  it("refreshes company records by id", async () => {
    const res = await post("/records/companies/refresh", { records: [{ id: "c1" }, { id: "c2" }] });
    expect(res.status).toBe(200);
    const { refreshed } = (await res.json()) as { refreshed: { id: string; updatedFields: [] }[] };
    expect(refreshed.map((r) => r.id)).toEqual(["c1", "c2"]);
    for (const r of refreshed) expect(Array.isArray(r.updatedFields)).toBe(true);
  });

  it("lists N companies showing intent, scored 0-100", async () => {
    const res = await call("/prospecting/intent?limit=7&topic=crm", { headers: BEARER });
    expect(res.status).toBe(200);
    const { companies } = (await res.json()) as {
      companies: { domain: string; intentScore: number; topics: string[] }[];
    };
    expect(companies).toHaveLength(7);
    for (const c of companies) {
      expect(c.domain).toMatch(/\./);
      expect(Number.isInteger(c.intentScore)).toBe(true);
      expect(c.intentScore).toBeGreaterThanOrEqual(0);
      expect(c.intentScore).toBeLessThanOrEqual(100);
      expect(c.topics).toContain("crm");
    }
  });

  it("generates text and reports the tokens used in X-Usage-Units", async () => {
    const prompt = "Write a two-line cold email to a VP of Sales about data quality.";
    const res = await post("/ai/generate", { prompt });
    expect(res.status).toBe(200);
    const { text, tokens } = (await res.json()) as { text: string; tokens: number };
    expect(text.length).toBeGreaterThan(0);
    const used = units(res);
    expect(Number.isInteger(used)).toBe(true);
    expect(used).toBeGreaterThanOrEqual(0);
    expect(used).toBeLessThanOrEqual(4000);
    expect(used).toBe(tokens);
    expect(units(await post("/ai/generate", { prompt }))).toBe(used);
  });

  it("never uses more tokens than maxTokens, nor more than 4000", async () => {
    const capped = await post("/ai/generate", { prompt: "x".repeat(400), maxTokens: 20 });
    expect(units(capped)).toBeLessThanOrEqual(20);
    const huge = await post("/ai/generate", { prompt: "y".repeat(100_000) });
    expect(units(huge)).toBe(4000);
  });

  it("starts an agent conversation", async () => {
    const res = await post("/ai/agents/prospector-1/conversations", { message: "Find leads" });
    expect(res.status).toBe(201);
    const reply = await body(res);
    expect(reply).toMatchObject({ agentId: "prospector-1" });
    expect(reply.conversationId).toMatch(/^conv_[0-9a-f]{8}$/);
    expect(reply.reply).toEqual(expect.any(String));
  });

  it("queries a smart property for the given records", async () => {
    const res = await post("/insights/smart-properties/fit-score/query", { recordIds: ["a", "b"] });
    expect(res.status).toBe(200);
    const result = (await res.json()) as { propertyId: string; values: { recordId: string }[] };
    expect(result.propertyId).toBe("fit-score");
    expect(result.values.map((v) => v.recordId)).toEqual(["a", "b"]);
  });
});

describe("demo upstream errors", () => {
  it.each([
    ["/enrich/companies", "{not json"],
    ["/enrich/companies", { records: "acme.com" }],
    ["/enrich/contacts", { records: [{ email: 42 }] }],
    ["/records/companies/refresh", { records: [{}] }],
    ["/ai/generate", { prompt: "" }],
    ["/ai/generate", { prompt: "hi", maxTokens: 0 }],
    ["/ai/agents/a1/conversations", []],
    ["/insights/smart-properties/p1/query", { recordIds: [1] }],
  ])("answers 400 with an error for a bad body on %s", async (path, payload) => {
    const res = await post(path, payload);
    expect(res.status).toBe(400);
    expect((await body(res)).error).toEqual(expect.any(String));
  });

  it("answers 400 for a bad limit", async () => {
    expect((await call("/prospecting/intent?limit=abc")).status).toBe(400);
    expect((await call("/prospecting/intent?limit=0")).status).toBe(400);
  });

  it("answers 404 for an unknown path", async () => {
    const res = await post("/enrich/planets", { records: [] });
    expect(res.status).toBe(404);
    expect((await body(res)).error).toEqual(expect.any(String));
  });

  it("answers 405 for a known path with the wrong method", async () => {
    const get = await call("/enrich/companies");
    expect(get.status).toBe(405);
    expect(get.headers.get("Allow")).toBe("POST");
    expect((await post("/prospecting/intent", {})).status).toBe(405);
  });
});

describe("demo upstream authentication marker", () => {
  it("says true when a bearer credential arrived, without echoing it", async () => {
    const res = await post("/enrich/companies", { records: [{ domain: "acme.com" }] });
    expect(res.headers.get("X-Demo-Authenticated")).toBe("true");
    const everything = JSON.stringify([...res.headers]) + (await res.text());
    expect(everything).not.toContain("upstream-secret-123");
  });

  it("says false without one, or with an empty bearer, on every status", async () => {
    const records = { records: [{ domain: "acme.com" }] };
    expect((await post("/enrich/companies", records, {})).headers.get("X-Demo-Authenticated")).toBe(
      "false",
    );
    const empty = { Authorization: "Bearer " };
    for (const res of [
      await post("/enrich/companies", records, empty),
      await post("/enrich/companies", "nope", {}),
      await call("/nowhere"),
      await call("/ai/generate"),
    ]) {
      expect(res.headers.get("X-Demo-Authenticated")).toBe("false");
    }
  });
});

describe("chaos upstream (the demo as the tests' gateway sees it)", () => {
  const chaos = (path: string, init: RequestInit = {}) =>
    env.DEMO_UPSTREAM.fetch(new Request(`http://upstream${path}`, init));

  it("answers the steered status, with usage units when asked", async () => {
    const res = await chaos("/ai/generate", {
      method: "POST",
      headers: { "x-chaos-status": "202", "x-chaos-usage-units": "17" },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get("X-Usage-Units")).toBe("17");
    expect(await body(res)).toMatchObject({ chaos: true, status: 202 });
    const failed = await chaos("/enrich/companies", { headers: { "x-chaos-status": "503" } });
    expect(failed.status).toBe(503);
    await failed.body?.cancel();
  });

  it("overrides the demo's usage units", async () => {
    const res = await chaos("/ai/generate", {
      method: "POST",
      headers: { "x-chaos-usage-units": "3" },
      body: JSON.stringify({ prompt: "hello there" }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Usage-Units")).toBe("3");
    expect((await body(res)).text).toEqual(expect.any(String));
  });

  it("echoes what arrived", async () => {
    const res = await chaos("/enrich/companies?a=1&b=two", {
      method: "POST",
      headers: { "x-chaos-echo": "1", "X-Creditgate-Account": "acc_1", ...BEARER },
      body: "raw body",
    });
    expect(await body(res)).toMatchObject({
      method: "POST",
      path: "/enrich/companies",
      query: { a: "1", b: "two" },
      body: "raw body",
      headers: { "x-creditgate-account": "acc_1", authorization: BEARER.Authorization },
    });
  });

  it("waits for the delay, then passes through to the demo", async () => {
    const started = Date.now();
    const res = await chaos("/prospecting/intent?limit=2", {
      headers: { "x-chaos-delay-ms": "50" },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(res.status).toBe(200);
    expect((await body(res)).companies).toHaveLength(2);
  });

  it("fails the caller's fetch when told to throw", async () => {
    await expect(
      chaos("/enrich/companies", { headers: { "x-chaos-throw": "1" } }),
    ).rejects.toThrow();
  });

  it("counts requests per path and resets the count", async () => {
    const path = `/chaos-count-${crypto.randomUUID()}`;
    const count = async () =>
      (await body(await chaos(`/__chaos/count?path=${encodeURIComponent(path)}`))).count;
    expect(await count()).toBe(0);
    await (await chaos(path)).body?.cancel();
    await (await chaos(path, { headers: { "x-chaos-status": "500" } })).body?.cancel();
    expect(await count()).toBe(2);
    await chaos(`/__chaos/reset?path=${encodeURIComponent(path)}`, { method: "POST" });
    expect(await count()).toBe(0);
  });
});
