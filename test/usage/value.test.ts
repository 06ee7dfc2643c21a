/**
 * The value report (issue 16) through the real worker: `GET /v1/usage/value` against a hand
 * computation over events written to D1 as the flush writes them (per-unit and per-call
 * actions, a deduplicated call, voided and denied calls, an action the configuration does not
 * declare, an archived day, a call outside the range), grouped by action, team and member; the
 * account's own settings over the configuration's (`/v1/value/settings`); real calls whose
 * records dedupe skipped; and bad input, refused with a problem that names the field and
 * changing nothing.
 *
 * The demo configuration's value: a credit costs 0.01 USD, an hour 45 USD; manual minutes:
 * enrichment.company and .contact 6 per unit, prospecting.intent 10 per unit, ai.generate 2 per
 * call, insights.smart_property 15 per call.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../../src/ledger/object";
import type { UsageEvent } from "../../src/usage/event";
import { insertUsageEvents } from "../../src/usage/flush";
import {
  bearer,
  enrichRecords,
  jsonCall,
  ledger,
  type ProblemBody,
  setupAccount,
  type TestAccount,
} from "../support/api";
import { secondMember } from "./support";

interface Measures {
  credits: number;
  units: number;
  calls: number;
  creditsSaved: number;
  creditCost: number;
  manualMinutes: number;
  manualHours: number;
  manualCost: number;
  ratio: number | null;
}
type Group = Measures & { action?: string; teamId?: string | null; memberId?: string | null };
interface Report {
  groupBy: string;
  from: string | null;
  to: string | null;
  currency: string;
  creditPrice: number;
  hourlyCost: number;
  groups: Group[];
  totals: Measures;
  withoutManualMinutes: string[];
}
interface Settings {
  hourlyCost: number | null;
  currency: string | null;
  creditPrice: number | null;
  configuration: { creditPrice: number; hourlyCost: number; currency: string } | null;
  effective: { creditPrice: number; hourlyCost: number; currency: string } | null;
}

const RANGE = "from=2026-11-01&to=2026-12-01";

function report(key: string, query: string) {
  return jsonCall<Report>(`/v1/usage/value?${query}`, { headers: bearer(key) });
}

function putSettings(key: string, json: unknown) {
  return jsonCall<Settings & ProblemBody>("/v1/value/settings", {
    method: "PUT",
    headers: bearer(key),
    json,
  });
}

let seq = 0;

/** A usage event as the flush writes it; captured, in the range, unless told. */
function event(
  acct: { id: string },
  who: { teamId: string; memberId: string },
  fields: Partial<UsageEvent> & Pick<UsageEvent, "action" | "units" | "credits">,
): UsageEvent {
  seq += 1;
  return {
    id: `evt_value_${acct.id}_${seq}`,
    accountId: acct.id,
    seq,
    occurredAt: "2026-11-10T12:00:00.000Z",
    periodStart: "2026-11-01T00:00:00.000Z",
    requestId: `req-value-${seq}`,
    teamId: who.teamId,
    memberId: who.memberId,
    keyId: "key_value",
    category: fields.action.split(".")[0] ?? "",
    outcome: "captured",
    reason: null,
    heldCredits: fields.credits,
    grants: "[]",
    purpose: null,
    idempotencyKey: null,
    upstreamStatus: 200,
    durationMs: 1,
    price: null,
    recordsCharged: null,
    recordsSkipped: null,
    creditsSaved: null,
    tags: null,
    recordKeys: null,
    ...fields,
  };
}

/**
 * Ada (team Sales) and Bo (team Ops): the events of the hand computation, and an archived day
 * of Bo's (usage_rollups) with a denied row that must not count.
 */
async function seed(acct: TestAccount) {
  const bo = await secondMember(acct);
  const ada = { teamId: acct.teamId, memberId: acct.memberId };
  const boWho = { teamId: bo.teamId, memberId: bo.memberId };
  const company = "enrichment.company";
  await insertUsageEvents(env.DB, [
    // 4 records charged, 2 skipped (20 credits saved).
    event(acct, ada, { action: company, units: 4, credits: 40, creditsSaved: 20 }),
    // Every record skipped: nothing charged, no work, 30 credits saved.
    event(acct, ada, {
      action: company,
      units: 0,
      credits: 0,
      reason: "deduplicated",
      creditsSaved: 30,
    }),
    // Per call: the tokens are not the work.
    event(acct, ada, { action: "ai.generate", units: 1500, credits: 15 }),
    event(acct, ada, { action: "ai.generate", units: 300, credits: 3 }),
    // No longer in the configuration: credits count, minutes do not.
    event(acct, ada, { action: "legacy.lookup", units: 1, credits: 7 }),
    event(acct, boWho, { action: "prospecting.intent", units: 5, credits: 50 }),
    event(acct, boWho, { action: "insights.smart_property", units: 1, credits: 10 }),
    // Not captured: nothing counts.
    event(acct, boWho, { action: company, units: 2, credits: 0, outcome: "voided" }),
    event(acct, boWho, { action: company, units: 3, credits: 0, outcome: "denied" }),
    // Outside the range, on either side.
    event(acct, ada, {
      action: company,
      units: 100,
      credits: 1000,
      occurredAt: "2026-10-31T23:59:59.999Z",
    }),
    event(acct, ada, {
      action: company,
      units: 100,
      credits: 1000,
      occurredAt: "2026-12-01T00:00:00.000Z",
    }),
  ]);
  await env.DB.batch(
    (["captured", "denied"] as const).map((outcome) =>
      env.DB.prepare(
        `INSERT INTO usage_rollups (account_id, day, period_start, team_id, member_id, action,
           category, outcome, events, units, credits) VALUES (?, '2026-11-02', ?, ?, ?,
           'enrichment.contact', 'enrichment', ?, 2, 3, ?)`,
      ).bind(
        acct.id,
        "2026-11-01T00:00:00.000Z",
        bo.teamId,
        bo.memberId,
        outcome,
        outcome === "captured" ? 30 : 0,
      ),
    ),
  );
  return { bo };
}

/**
 * By hand, at 0.01 USD a credit and 45 USD an hour:
 *
 * | action                  | credits | work            | minutes | hours | credit cost | manual cost | ratio  |
 * | enrichment.company      | 40      | 4 units x 6     | 24      | 0.4   | 0.40        | 18.00       | 45     |
 * | ai.generate             | 18      | 2 calls x 2     | 4       | 0.07  | 0.18        | 3.00        | 16.67  |
 * | legacy.lookup           | 7       | not declared    | 0       | 0     | 0.07        | 0           | 0      |
 * | prospecting.intent      | 50      | 5 units x 10    | 50      | 0.83  | 0.50        | 37.50       | 75     |
 * | insights.smart_property | 10      | 1 call x 15     | 15      | 0.25  | 0.10        | 11.25       | 112.5  |
 * | enrichment.contact      | 30      | 3 units x 6     | 18      | 0.3   | 0.30        | 13.50       | 45     |
 * | total                   | 155     |                 | 111     | 1.85  | 1.55        | 83.25       | 53.71  |
 */
const BY_ACTION: Group[] = [
  {
    action: "ai.generate",
    credits: 18,
    units: 1800,
    calls: 2,
    creditsSaved: 0,
    creditCost: 0.18,
    manualMinutes: 4,
    manualHours: 0.07,
    manualCost: 3,
    ratio: 16.67,
  },
  {
    action: "enrichment.company",
    credits: 40,
    units: 4,
    calls: 1,
    creditsSaved: 50,
    creditCost: 0.4,
    manualMinutes: 24,
    manualHours: 0.4,
    manualCost: 18,
    ratio: 45,
  },
  {
    action: "enrichment.contact",
    credits: 30,
    units: 3,
    calls: 2,
    creditsSaved: 0,
    creditCost: 0.3,
    manualMinutes: 18,
    manualHours: 0.3,
    manualCost: 13.5,
    ratio: 45,
  },
  {
    action: "insights.smart_property",
    credits: 10,
    units: 1,
    calls: 1,
    creditsSaved: 0,
    creditCost: 0.1,
    manualMinutes: 15,
    manualHours: 0.25,
    manualCost: 11.25,
    ratio: 112.5,
  },
  {
    action: "legacy.lookup",
    credits: 7,
    units: 1,
    calls: 1,
    creditsSaved: 0,
    creditCost: 0.07,
    manualMinutes: 0,
    manualHours: 0,
    manualCost: 0,
    ratio: 0,
  },
  {
    action: "prospecting.intent",
    credits: 50,
    units: 5,
    calls: 1,
    creditsSaved: 0,
    creditCost: 0.5,
    manualMinutes: 50,
    manualHours: 0.83,
    manualCost: 37.5,
    ratio: 75,
  },
];
const TOTALS: Measures = {
  credits: 155,
  units: 1814,
  calls: 8,
  creditsSaved: 50,
  creditCost: 1.55,
  manualMinutes: 111,
  manualHours: 1.85,
  manualCost: 83.25,
  ratio: 53.71,
};
/** Ada: enrichment.company, ai.generate, legacy.lookup. Bo: the rest. */
const ADA: Measures = {
  credits: 65,
  units: 1805,
  calls: 4,
  creditsSaved: 50,
  creditCost: 0.65,
  manualMinutes: 28,
  manualHours: 0.47,
  manualCost: 21,
  ratio: 32.31,
};
const BO: Measures = {
  credits: 90,
  units: 9,
  calls: 4,
  creditsSaved: 0,
  creditCost: 0.9,
  manualMinutes: 83,
  manualHours: 1.38,
  manualCost: 62.25,
  ratio: 69.17,
};

/** The account's ledger row as stored: what a refused request must leave as it was. */
function storedRow(accountId: string) {
  return runInDurableObject(ledger(accountId), (_obj: AccountLedger, state) =>
    state.storage.sql.exec("SELECT value_settings, updated_at FROM account").one(),
  );
}

describe("GET /v1/usage/value", () => {
  it("matches the hand computation by action, team and member, at the configuration's value", async () => {
    const acct = await setupAccount();
    const { bo } = await seed(acct);

    const byAction = await report(acct.financeKey, `${RANGE}&group_by=action`);
    expect(byAction.status, JSON.stringify(byAction.body)).toBe(200);
    expect(byAction.body).toMatchObject({
      groupBy: "action",
      from: "2026-11-01T00:00:00.000Z",
      to: "2026-12-01T00:00:00.000Z",
      currency: "USD",
      creditPrice: 0.01,
      hourlyCost: 45,
      withoutManualMinutes: ["legacy.lookup"],
    });
    expect(byAction.body.groups).toEqual(BY_ACTION);
    expect(byAction.body.totals).toEqual(TOTALS);

    const byTeam = await report(acct.adminKey, `${RANGE}&group_by=team`);
    expect(byTeam.status).toBe(200);
    const teams = new Map(byTeam.body.groups.map(({ teamId, ...m }) => [teamId, m]));
    expect(Object.fromEntries(teams)).toEqual({ [acct.teamId]: ADA, [bo.teamId]: BO });
    expect(byTeam.body.totals).toEqual(TOTALS);

    const byMember = await report(acct.financeKey, `${RANGE}&group_by=member`);
    const members = new Map(byMember.body.groups.map(({ memberId, ...m }) => [memberId, m]));
    expect(Object.fromEntries(members)).toEqual({ [acct.memberId]: ADA, [bo.memberId]: BO });

    // Grouping by action is the default; without a range, the calls outside it count too.
    const all = await report(acct.financeKey, "");
    expect(all.body.groupBy).toBe("action");
    expect(all.body.totals.credits).toBe(155 + 2000);
    expect(all.body.totals.manualMinutes).toBe(111 + 200 * 6);
  });

  it("shows a member key only its own calls", async () => {
    const acct = await setupAccount();
    await seed(acct);
    const own = await report(acct.memberKey, `${RANGE}&group_by=team`);
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect(own.body.groups).toEqual([{ teamId: acct.teamId, ...ADA }]);
    expect(own.body.totals).toEqual(ADA);
  });

  it("uses the account's own settings over the configuration's, and clears back to them", async () => {
    const acct = await setupAccount();
    await seed(acct);
    const config = { creditPrice: 0.01, hourlyCost: 45, currency: "USD" };

    const before = await jsonCall<Settings>("/v1/value/settings", {
      headers: bearer(acct.financeKey),
    });
    expect(before.body).toEqual({
      hourlyCost: null,
      currency: null,
      creditPrice: null,
      configuration: config,
      effective: config,
    });

    // Another currency, with its own credit price and hourly cost.
    const eur = await putSettings(acct.adminKey, {
      hourlyCost: 60,
      currency: "EUR",
      creditPrice: 0.02,
    });
    expect(eur.status, JSON.stringify(eur.body)).toBe(200);
    expect(eur.body.effective).toEqual({ creditPrice: 0.02, hourlyCost: 60, currency: "EUR" });
    const inEur = await report(acct.financeKey, RANGE);
    expect(inEur.body).toMatchObject({ currency: "EUR", creditPrice: 0.02, hourlyCost: 60 });
    // 155 credits x 0.02 = 3.10; 111 minutes at 60 an hour = 111.00; 111 / 3.1 = 35.806...
    expect(inEur.body.totals).toMatchObject({
      credits: 155,
      creditCost: 3.1,
      manualMinutes: 111,
      manualCost: 111,
      ratio: 35.81,
    });

    // The configuration's currency and credit price, the account's hourly cost.
    const own = await putSettings(acct.adminKey, { hourlyCost: 90, currency: null });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ hourlyCost: 90, currency: null, creditPrice: null });
    expect(own.body.effective).toEqual({ creditPrice: 0.01, hourlyCost: 90, currency: "USD" });
    const inUsd = await report(acct.financeKey, RANGE);
    // 111 minutes at 90 an hour = 166.50; 166.5 / 1.55 = 107.419...
    expect(inUsd.body.totals).toMatchObject({ creditCost: 1.55, manualCost: 166.5, ratio: 107.42 });
    const ai = inUsd.body.groups.find((g) => g.action === "ai.generate");
    expect(ai).toMatchObject({ manualMinutes: 4, manualCost: 6, ratio: 33.33 });

    const cleared = await putSettings(acct.adminKey, {
      hourlyCost: null,
      currency: null,
      creditPrice: null,
    });
    expect(cleared.body).toEqual(before.body);
    expect((await storedRow(acct.id)).value_settings).toBeNull();
    expect((await report(acct.financeKey, RANGE)).body.totals).toEqual(TOTALS);
  });

  it("counts real calls' records and the credits dedupe saved", async () => {
    const acct = await setupAccount();
    const domains = (names: string[]) => names.map((d) => ({ domain: `${d}.${acct.id}.example` }));
    // Two new records; then one new and two enriched (20 credits saved); then only enriched
    // ones: the upstream is not called, nothing is charged, 20 credits saved, no work.
    for (const records of [
      ["a", "b"],
      ["a", "b", "c"],
      ["a", "c"],
    ]) {
      const res = await enrichRecords(acct.memberKey, domains(records));
      expect(res.status).toBe(200);
    }
    await ledger(acct.id).flush();
    const value = await report(acct.financeKey, "group_by=action");
    expect(value.status).toBe(200);
    expect(value.body.groups).toEqual([
      {
        action: "enrichment.company",
        credits: 30,
        units: 3,
        calls: 2,
        creditsSaved: 40,
        creditCost: 0.3,
        manualMinutes: 18,
        manualHours: 0.3,
        manualCost: 13.5,
        ratio: 45,
      },
    ]);
    expect(value.body.withoutManualMinutes).toEqual([]);
  });
});

describe("bad input to the value report and its settings", () => {
  it("refuses a bad query with a problem naming the field", async () => {
    const acct = await setupAccount();
    for (const query of [
      "group_by=day",
      "group_by=action,team",
      "group_by=",
      "from=2026-12-01&to=2026-11-01",
      "from=yesterday",
      "from=1999-12-31",
      "limit=5",
    ]) {
      const res = await report(acct.financeKey, query);
      expect(res.status, query).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const body = res.body as unknown as ProblemBody & {
        issues?: { path: string }[];
        field?: string;
      };
      expect(body.code).toBe("validation_failed");
      const named = [body.field, ...(body.issues ?? []).map((i) => i.path)];
      const field = query.split("=")[0];
      expect(named, query).toContain(field === "limit" ? "(root)" : field);
    }
  });

  it("refuses bad settings, naming the field and why, and changes nothing", async () => {
    const acct = await setupAccount();
    const set = await putSettings(acct.adminKey, { hourlyCost: 50, currency: null });
    expect(set.status).toBe(200);
    const before = await storedRow(acct.id);
    expect(before.value_settings).toBe('{"hourlyCost":50}');

    const cases: [unknown, string, RegExp?][] = [
      // Another currency needs a credit price in it: the configuration's is in USD.
      [{ hourlyCost: 60, currency: "EUR" }, "creditPrice", /creditPrice in EUR.*USD/],
      [{ hourlyCost: 60, currency: "EUR", creditPrice: null }, "creditPrice", /USD/],
      // ... and an hourly cost in it.
      [{ hourlyCost: null, currency: "GBP", creditPrice: 0.01 }, "hourlyCost", /GBP.*USD/],
      [{ hourlyCost: 60, currency: "usd" }, "currency"],
      [{ hourlyCost: 60, currency: "EURO" }, "currency"],
      [{ hourlyCost: 60, currency: "XYZ", creditPrice: 1 }, "currency"],
      [{ hourlyCost: 60, currency: 840 }, "currency"],
      [{ hourlyCost: 0, currency: null }, "hourlyCost"],
      [{ hourlyCost: -45, currency: null }, "hourlyCost"],
      [{ hourlyCost: "45", currency: null }, "hourlyCost"],
      [{ hourlyCost: 2_000_000, currency: null }, "hourlyCost"],
      [{ hourlyCost: 45, currency: null, creditPrice: 0 }, "creditPrice"],
      [{ currency: "USD" }, "hourlyCost"],
      [{ hourlyCost: 45 }, "currency"],
      [{ hourlyCost: 45, currency: "USD", extra: 1 }, "(root)"],
    ];
    for (const [json, field, why] of cases) {
      const res = await putSettings(acct.adminKey, json);
      const label = JSON.stringify(json);
      expect(res.status, label).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const body = res.body as ProblemBody & { issues?: { path: string }[]; field?: string };
      const named = [body.field, ...(body.issues ?? []).map((i) => i.path)];
      expect(named, label).toContain(field);
      if (why) expect(body.detail, label).toMatch(why);
    }
    // Only an admin sets them; finance reads them.
    const valid = { hourlyCost: 70, currency: null };
    expect((await putSettings(acct.financeKey, valid)).status).toBe(403);
    expect((await putSettings(acct.memberKey, valid)).status).toBe(403);
    const memberRead = await jsonCall("/v1/value/settings", { headers: bearer(acct.memberKey) });
    expect(memberRead.status).toBe(403);

    expect(await storedRow(acct.id)).toEqual(before);
    const after = await jsonCall<Settings>("/v1/value/settings", {
      headers: bearer(acct.financeKey),
    });
    expect(after.body).toMatchObject({ hourlyCost: 50, currency: null, creditPrice: null });
    expect(after.body.effective).toEqual({ creditPrice: 0.01, hourlyCost: 50, currency: "USD" });
  });
});
