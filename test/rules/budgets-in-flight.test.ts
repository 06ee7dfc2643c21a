/**
 * Issue 3, "each rule": budgets and calls in flight. A held call counts against every budget
 * until its void gives it back; a metered call holds its estimate, and its overrun past the
 * hold stops at the budgets as they are when it settles.
 */
import { describe, expect, it } from "vitest";
import { setupAccount, spend, type TestAccount } from "../support/api";
import {
  addTeam,
  api,
  counters,
  drain,
  expectAdmitted,
  expectDenied,
  flushedEvents,
  one,
  patchAccount,
  putRules,
  teamSpend,
  waitFor,
} from "./helpers";

describe("holds in flight count against budgets and are released on void", () => {
  const cases: {
    rule: string;
    setup: (acct: TestAccount) => Promise<void>;
  }[] = [
    {
      rule: "team_budget",
      setup: async (acct) => void (await putRules(acct, acct.teamId, { teamBudget: 1 })),
    },
    {
      rule: "member_budget",
      setup: async (acct) => void (await putRules(acct, acct.teamId, { memberBudget: 1 })),
    },
    {
      rule: "action_cap",
      setup: async (acct) => void (await patchAccount(acct.id, { actionCaps: { "test.one": 1 } })),
    },
    {
      rule: "spend_cap",
      setup: async (acct) => void (await patchAccount(acct.id, { monthlySpendCap: 1 })),
    },
  ];

  for (const { rule, setup } of cases) {
    it(`${rule}: a call in flight holds its credits against it; its void gives them back`, async () => {
      const acct = await setupAccount();
      await setup(acct);
      const inFlight = one(acct.memberKey, { "x-chaos-delay-ms": "1500", "x-chaos-status": "500" });
      await waitFor(async () => (await teamSpend(acct, acct.teamId)).held === 1);

      const body = await expectDenied(await one(acct.memberKey), 402, "budget_exhausted", rule);
      expect(body).toMatchObject({ limit: 1, used: 1, remaining: 0 });

      const failed = await inFlight;
      expect(failed.status).toBe(500);
      expect(failed.headers.get("x-credits-charged")).toBe("0");
      await failed.arrayBuffer();
      expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: 0, held: 0 });

      await expectAdmitted(await one(acct.memberKey));
      await expectDenied(await one(acct.memberKey), 402, "budget_exhausted", rule);
      expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: 1, held: 0 });
      const events = await flushedEvents(acct.id);
      expect(events.map((e) => [e.outcome, e.reason, e.credits])).toEqual([
        ["denied", "budget_exhausted", 0],
        ["voided", "upstream_status", 0],
        ["captured", null, 1],
        ["denied", "budget_exhausted", 0],
      ]);
    }, 20_000);
  }

  it("a metered call holds its estimate against the team budget and captures only what it used", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { teamBudget: 60 });
    const metered = spend(acct.memberKey, "/v1/test/metered", {
      "x-chaos-delay-ms": "1500",
      "x-chaos-status": "200",
      "x-chaos-usage-units": "7",
    });
    await waitFor(async () => (await teamSpend(acct, acct.teamId)).held === 50);
    await expectDenied(await drain(acct.memberKey, 11), 402, "budget_exhausted", "team_budget");
    await expectAdmitted(await drain(acct.memberKey, 10), 10);
    await expectAdmitted(await metered, 7);
    expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: 17, held: 0 });
    await expectAdmitted(await drain(acct.memberKey, 43), 43);
    await expectDenied(await one(acct.memberKey), 402, "budget_exhausted", "team_budget");
  }, 20_000);
});

describe("metered overrun past the hold stops at the budgets", () => {
  /** A metered call (holds 50) whose upstream reports 60 units after 1.5 s. */
  const overrun = (key: string) =>
    spend(key, "/v1/test/metered", {
      "x-chaos-delay-ms": "1500",
      "x-chaos-status": "200",
      "x-chaos-usage-units": "60",
    });

  async function memberSpend(acct: TestAccount, memberId: string) {
    const rows = await counters(acct.id);
    const row = rows.find((r) => r.scope === "member" && r.scope_id === memberId);
    return { captured: row?.captured ?? 0, held: row?.held ?? 0 };
  }

  it("without budgets, a report past the estimate is charged in full", async () => {
    const acct = await setupAccount();
    await expectAdmitted(await overrun(acct.memberKey), 60);
    expect(await memberSpend(acct, acct.memberId)).toEqual({ captured: 60, held: 0 });
  }, 20_000);

  it("a member budget set while the call is in flight caps what the overrun may add", async () => {
    const acct = await setupAccount();
    const metered = overrun(acct.memberKey);
    await waitFor(async () => (await teamSpend(acct, acct.teamId)).held === 50);
    await putRules(acct, acct.teamId, { memberBudget: 55 });
    await expectAdmitted(await metered, 55);
    expect(await memberSpend(acct, acct.memberId)).toEqual({ captured: 55, held: 0 });
  }, 20_000);

  // Was a defect (budgetRoom took the default of the member's team at admission), fixed in src.
  it("metered overrun after a team move: the member's current budget still caps it", async () => {
    const acct = await setupAccount();
    const strict = await addTeam(acct, "Strict");
    await putRules(acct, strict, { memberBudget: 50 });
    const metered = overrun(acct.memberKey);
    await waitFor(async () => (await teamSpend(acct, acct.teamId)).held === 50);
    const moved = await api(`/v1/members/${acct.memberId}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { teamId: strict },
    });
    expect(moved.status).toBe(200);
    const res = await metered;
    expect(res.headers.get("x-credits-charged")).toBe("50");
    await res.arrayBuffer();
    expect(await memberSpend(acct, acct.memberId)).toEqual({ captured: 50, held: 0 });
  }, 20_000);
});
