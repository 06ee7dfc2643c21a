/**
 * The value report under a configuration that declares no `value` (test/alt/alt.config.json)
 * and no manual minutes: the report is refused with 409 until an admin sets a whole value of
 * the account's own (currency, hourly cost and credit price together), then counts the credits
 * with no manual work.
 */
import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";

const OPERATOR = "Bearer test-operator-token";

/** One call with `authorization` (the operator's, or `Bearer` + an account key). */
async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  authorization: string,
  json?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await exports.default.fetch(
    new Request(`https://gateway.test${path}`, {
      method,
      headers: {
        authorization,
        ...(json === undefined ? {} : { "content-type": "application/json" }),
      },
      body: json === undefined ? undefined : JSON.stringify(json),
    }),
  );
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

type Problem = { code: string; detail: string; field?: string };

it("refuses the report without a value, and takes one only whole", async () => {
  const id = `alt-value-${Date.now().toString(36)}`;
  const created = await api("POST", "/admin/v1/accounts", OPERATOR, {
    id,
    name: "Alt value",
    plan: "pro",
  });
  expect(created.status).toBe(201);
  const admin = await api<{ key: string }>("POST", `/admin/v1/accounts/${id}/keys`, OPERATOR, {
    role: "admin",
  });
  const key = `Bearer ${admin.body.key}`;

  const none = await api<Problem>("GET", "/v1/usage/value", key);
  expect(none.status).toBe(409);
  expect(none.body).toMatchObject({ code: "conflict", field: "value" });
  expect(none.body.detail).toMatch(/declares no value.*PUT \/v1\/value\/settings/);

  const settings = await api("GET", "/v1/value/settings", key);
  expect(settings.body).toEqual({
    hourlyCost: null,
    currency: null,
    creditPrice: null,
    configuration: null,
    effective: null,
  });
  // Nothing to fall back on: every figure is needed.
  for (const [json, field] of [
    [{ hourlyCost: 50, currency: null, creditPrice: 0.5 }, "currency"],
    [{ hourlyCost: 50, currency: "EUR" }, "creditPrice"],
    [{ hourlyCost: null, currency: "EUR", creditPrice: 0.5 }, "hourlyCost"],
  ] as const) {
    const refused = await api<Problem>("PUT", "/v1/value/settings", key, json);
    expect(refused.status, JSON.stringify(json)).toBe(400);
    expect(refused.body.field).toBe(field);
    expect(refused.body.detail).toMatch(/configuration declares no value/);
  }
  expect((await api("GET", "/v1/value/settings", key)).body).toEqual(settings.body);

  const whole = { hourlyCost: 50, currency: "EUR", creditPrice: 0.5 };
  const set = await api("PUT", "/v1/value/settings", key, whole);
  expect(set.status).toBe(200);
  expect(set.body).toMatchObject({ ...whole, configuration: null, effective: whole });

  // 12 credits of geo.lookup, which declares no manual minutes.
  await env.DB.prepare(
    `INSERT INTO usage_rollups (account_id, day, period_start, team_id, member_id, action,
       category, outcome, events, units, credits)
     VALUES (?, '2026-11-02', '2026-11-01T00:00:00.000Z', '', '', 'geo.lookup', 'geo',
       'captured', 1, 4, 12)`,
  )
    .bind(id)
    .run();
  const value = await api<{ currency: string; totals: Record<string, unknown> }>(
    "GET",
    "/v1/usage/value",
    key,
  );
  expect(value.status).toBe(200);
  expect(value.body).toMatchObject({
    currency: "EUR",
    withoutManualMinutes: ["geo.lookup"],
    totals: { credits: 12, creditCost: 6, manualMinutes: 0, manualCost: 0, ratio: 0 },
  });
});
