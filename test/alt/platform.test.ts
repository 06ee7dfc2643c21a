/**
 * The gateway built with a configuration that has nothing in common with the demo's
 * (test/alt/alt.config.json: plans free and pro, seats editor and viewer, geo and nlp actions,
 * an upstream reached by URL with an injected API key, a metered action that reports
 * `X-Tokens-Used`, a scheduled price, an add-on), driven end to end through the real worker:
 * plan and seat gating, pricing by body and query, metering, scheduled prices, add-ons, plan
 * changes and the plans' policy defaults.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const OPERATOR = { authorization: "Bearer test-operator-token" };
let counter = 0;

async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  auth: Record<string, string>,
  json?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await exports.default.fetch(
    new Request(`https://gateway.test${path}`, {
      method,
      headers: {
        ...auth,
        ...(json === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      body: json === undefined ? undefined : JSON.stringify(json),
    }),
  );
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

const key = (k: string) => ({ authorization: `Bearer ${k}` });

/** An account on `plan`, with a team, an editor and a viewer, each with a key, and admin/finance keys. */
async function platformAccount(plan: "free" | "pro") {
  counter += 1;
  const id = `alt-${Date.now().toString(36)}-${counter}`;
  const created = await api("POST", "/admin/v1/accounts", OPERATOR, { id, name: "Alt", plan });
  expect(created.status).toBe(201);
  const admin = await api<{ key: string }>("POST", `/admin/v1/accounts/${id}/keys`, OPERATOR, {
    role: "admin",
  });
  const a = key(admin.body.key);
  const finance = await api<{ key: string }>("POST", "/v1/keys", a, { role: "finance" });
  const team = await api<{ id: string }>("POST", "/v1/teams", a, { name: "Maps" });
  const person = async (seat: string) => {
    const member = await api<{ id: string }>("POST", "/v1/members", a, {
      name: seat,
      teamId: team.body.id,
      seat,
    });
    expect(member.status).toBe(201);
    const k = await api<{ key: string }>("POST", "/v1/keys", a, {
      role: "member",
      memberId: member.body.id,
    });
    return k.body.key;
  };
  return {
    id,
    admin: a,
    finance: key(finance.body.key),
    editor: key(await person("editor")),
    viewer: key(await person("viewer")),
  };
}

describe("a platform of its own (test/alt/alt.config.json)", () => {
  it("knows its own seats and plans, and none of the demo's", async () => {
    const acct = await platformAccount("free");
    const demoPlan = await api("POST", "/admin/v1/accounts", OPERATOR, {
      name: "Demo",
      plan: "professional",
    });
    expect(demoPlan.status).toBe(400);
    const demoSeat = await api("POST", "/v1/members", acct.admin, {
      name: "Ada",
      teamId: "x",
      seat: "sales",
    });
    expect(demoSeat.status).toBe(400);
    const demoAction = await api("POST", "/v1/enrichment/companies", acct.editor, {
      records: [{}],
    });
    expect(demoAction.status).toBe(404);
  });

  it("gates by plan and by seat, naming the plans that would include the action", async () => {
    const free = await platformAccount("free");
    const refused = await api<{ code: string; plan: string; includedIn: string[] }>(
      "POST",
      "/v1/nlp/summarize",
      free.editor,
      { text: "hello" },
    );
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      code: "plan_excludes_action",
      plan: "free",
      includedIn: ["pro"],
    });
    const pro = await platformAccount("pro");
    const viewer = await api<{ code: string }>("POST", "/v1/nlp/summarize", pro.viewer, {
      text: "hello",
    });
    expect(viewer.body.code).toBe("seat_required");
    const editor = await api("POST", "/v1/nlp/summarize", pro.editor, { text: "hello" });
    expect(editor.status).toBe(200);
  });

  it("prices by a body array and by blocks of a query count, and injects the API key", async () => {
    const acct = await platformAccount("pro");
    const lookup = await api<{ saw: { authorization: string | null; account: string } }>(
      "POST",
      "/v1/geo/lookup",
      acct.viewer,
      {
        points: [
          [1, 2],
          [3, 4],
          [5, 6],
          [7, 8],
        ],
      },
    );
    expect(lookup.status).toBe(200);
    expect(lookup.headers.get("x-credits-charged")).toBe("12");
    // The upstream accepted the injected key; the client's Authorization never reached it.
    expect(lookup.body.saw).toMatchObject({ authorization: null, account: acct.id });
    const route = await api<{ saw: { path: string } }>(
      "GET",
      "/v1/geo/routes/alps?stops=5",
      acct.viewer,
    );
    expect(route.headers.get("x-credits-charged")).toBe("15");
    expect(route.body.saw.path).toBe("/route/alps");
    const tooMany = await api<{ code: string }>("GET", "/v1/geo/routes/alps?stops=11", acct.viewer);
    expect(tooMany.body.code).toBe("invalid_units");
  });

  it("meters by the header the price names, at the scheduled price in force", async () => {
    const acct = await platformAccount("pro");
    const res = await api(
      "POST",
      "/v1/nlp/summarize",
      acct.editor,
      { text: "long" },
      {
        "x-alt-tokens": "2500",
      },
    );
    expect(res.status).toBe(200);
    // 2,500 tokens at 3 credits per 1,000 (the entry of 2026 in force, not the base 2): 9.
    expect(res.headers.get("x-credits-charged")).toBe("9");
    const catalog = await api<{
      included: { id: string; price: { credits: number }; priceChanges: { from: string }[] }[];
    }>("GET", "/v1/catalog", acct.finance);
    const summarize = catalog.body.included.find((a) => a.id === "nlp.summarize");
    expect(summarize?.price.credits).toBe(3);
    expect(summarize?.priceChanges.map((c) => c.from)).toEqual(["2099-01-01T00:00:00Z"]);
  });

  it("issues add-ons and the plans' credits, and moves between plans as billing systems do", async () => {
    const acct = await platformAccount("free");
    const available = async () =>
      (await api<{ available: number }>("GET", "/v1/balance", acct.finance)).body.available;
    expect(await available()).toBe(100);
    const boost = await api("PUT", `/admin/v1/accounts/${acct.id}/add-ons`, OPERATOR, {
      addOns: [{ id: "boost", quantity: 2 }],
    });
    expect(boost.status).toBe(200);
    expect(await available()).toBe(1100);

    const up = await api("PATCH", `/admin/v1/accounts/${acct.id}`, OPERATOR, { plan: "pro" });
    expect(up.body).toMatchObject({ plan: "pro", pendingPlan: null });
    expect(await available()).toBe(3000);
    // The pro plan's policy defaults are the account's: rollover and an overage allowance.
    const account = await api<{ policy: Record<string, unknown> }>(
      "GET",
      "/v1/account",
      acct.finance,
    );
    expect(account.body.policy).toMatchObject({
      rolloverCap: 200,
      overage: { policy: "allow", limit: 100 },
    });
    const nlp = await api("POST", "/v1/nlp/summarize", acct.editor, { text: "now allowed" });
    expect(nlp.status).toBe(200);

    const down = await api("PATCH", `/admin/v1/accounts/${acct.id}`, OPERATOR, { plan: "free" });
    expect(down.body).toMatchObject({ plan: "pro", pendingPlan: { plan: "free" } });
    const stillPro = await api("POST", "/v1/nlp/summarize", acct.editor, { text: "until the end" });
    expect(stillPro.status).toBe(200);
    const unknown = await api("PUT", `/admin/v1/accounts/${acct.id}/add-ons`, OPERATOR, {
      addOns: [{ id: "capacity_pack", quantity: 1 }],
    });
    expect(unknown.status).toBe(400);
  });
});
