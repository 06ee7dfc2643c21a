/**
 * Issue 3, "each rule": the budgets and caps (402 budget_exhausted): team budget, member budget
 * (the team's default or the member's own), per-action monthly cap and account spend cap, each
 * admitting up to its limit exactly; and their order when two of them fail.
 */
import { describe, expect, it } from "vitest";
import { setupAccount } from "../support/api";
import {
  addMember,
  addTeam,
  api,
  drain,
  expectAdmitted,
  expectDenied,
  expectDeniedEvents,
  expectNothingHeld,
  one,
  patchAccount,
  putRules,
  teamSpend,
} from "./helpers";

describe("budgets and caps (402 budget_exhausted)", () => {
  it("team budget: admits up to the budget exactly, then refuses every member of the team", async () => {
    const acct = await setupAccount();
    const mate = await addMember(acct, acct.teamId, "Mate");
    const otherTeam = await addTeam(acct, "Ops");
    const outsider = await addMember(acct, otherTeam, "Out");
    await putRules(acct, acct.teamId, { teamBudget: 10 });

    await expectAdmitted(await drain(acct.memberKey, 9), 9);
    await expectAdmitted(await one(mate.key));
    const body = await expectDenied(
      await one(acct.memberKey),
      402,
      "budget_exhausted",
      "team_budget",
    );
    expect(body).toMatchObject({ limit: 10, used: 10, remaining: 0, credits: 1 });
    await expectDenied(await one(mate.key), 402, "budget_exhausted", "team_budget");
    await expectAdmitted(await one(outsider.key));
    expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: 10, held: 0 });
    await expectNothingHeld(acct, 11);
    await expectDeniedEvents(acct.id, "budget_exhausted", 2);
  });

  it("team budget: a call larger than what is left is refused whole", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { teamBudget: 10 });
    await expectAdmitted(await drain(acct.memberKey, 6), 6);
    const body = await expectDenied(
      await drain(acct.memberKey, 5),
      402,
      "budget_exhausted",
      "team_budget",
    );
    expect(body).toMatchObject({ limit: 10, used: 6, remaining: 4, credits: 5 });
    await expectAdmitted(await drain(acct.memberKey, 4), 4);
    expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: 10, held: 0 });
  });

  it("member budget: the team's default applies to each member separately", async () => {
    const acct = await setupAccount();
    const mate = await addMember(acct, acct.teamId, "Mate");
    await putRules(acct, acct.teamId, { memberBudget: 3 });
    for (let i = 0; i < 3; i++) await expectAdmitted(await one(acct.memberKey));
    const body = await expectDenied(
      await one(acct.memberKey),
      402,
      "budget_exhausted",
      "member_budget",
    );
    expect(body).toMatchObject({ limit: 3, used: 3, remaining: 0 });
    for (let i = 0; i < 3; i++) await expectAdmitted(await one(mate.key));
    await expectDenied(await one(mate.key), 402, "budget_exhausted", "member_budget");
    await expectNothingHeld(acct, 6);
    await expectDeniedEvents(acct.id, "budget_exhausted", 2);
  });

  it("member budget: a per-member override (PATCH /v1/members/{id}) replaces the team default, and null restores it", async () => {
    const acct = await setupAccount();
    const mate = await addMember(acct, acct.teamId, "Mate");
    await putRules(acct, acct.teamId, { memberBudget: 3 });
    const raised = await api(`/v1/members/${acct.memberId}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { budget: 5 },
    });
    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({ id: acct.memberId, budget: 5 });
    const lowered = await api(`/v1/members/${mate.id}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { budget: 1 },
    });
    expect(lowered.body).toMatchObject({ budget: 1 });

    for (let i = 0; i < 5; i++) await expectAdmitted(await one(acct.memberKey));
    const body = await expectDenied(
      await one(acct.memberKey),
      402,
      "budget_exhausted",
      "member_budget",
    );
    expect(body).toMatchObject({ limit: 5, used: 5 });
    await expectAdmitted(await one(mate.key));
    expect(
      await expectDenied(await one(mate.key), 402, "budget_exhausted", "member_budget"),
    ).toMatchObject({ limit: 1, used: 1 });

    // Back to the team's default of 3: the member has spent 5, so still refused; the mate gets 2 more.
    await api(`/v1/members/${mate.id}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { budget: null },
    });
    await expectAdmitted(await one(mate.key));
    await expectAdmitted(await one(mate.key));
    await expectDenied(await one(mate.key), 402, "budget_exhausted", "member_budget");
    await expectNothingHeld(acct, 8);
    await expectDeniedEvents(acct.id, "budget_exhausted", 3);
  });

  it("per-action monthly cap (operator actionCaps): caps that action for the whole account only", async () => {
    const acct = await setupAccount();
    const otherTeam = await addTeam(acct, "Ops");
    const outsider = await addMember(acct, otherTeam, "Out");
    const account = await patchAccount(acct.id, { actionCaps: { "test.one": 3 } });
    expect(account.policy).toMatchObject({ actionCaps: { "test.one": 3 } });
    await expectAdmitted(await one(acct.memberKey));
    await expectAdmitted(await one(outsider.key));
    await expectAdmitted(await one(acct.memberKey));
    const body = await expectDenied(await one(outsider.key), 402, "budget_exhausted", "action_cap");
    expect(body).toMatchObject({ limit: 3, used: 3, action: "test.one" });
    await expectDenied(await one(acct.memberKey), 402, "budget_exhausted", "action_cap");
    await expectAdmitted(await drain(acct.memberKey, 20), 20);
    await expectNothingHeld(acct, 23);
    await expectDeniedEvents(acct.id, "budget_exhausted", 2);
  });

  it("account monthly spend cap (operator monthlySpendCap): no call of any team passes it", async () => {
    const acct = await setupAccount();
    const otherTeam = await addTeam(acct, "Ops");
    const outsider = await addMember(acct, otherTeam, "Out");
    const account = await patchAccount(acct.id, { monthlySpendCap: 10 });
    expect(account.policy).toMatchObject({ monthlySpendCap: 10 });
    await expectAdmitted(await drain(acct.memberKey, 9), 9);
    await expectDenied(await drain(outsider.key, 2), 402, "budget_exhausted", "spend_cap");
    await expectAdmitted(await one(outsider.key));
    const body = await expectDenied(
      await one(acct.memberKey),
      402,
      "budget_exhausted",
      "spend_cap",
    );
    expect(body).toMatchObject({ limit: 10, used: 10, remaining: 0 });
    await expectNothingHeld(acct, 10);
    await expectDeniedEvents(acct.id, "budget_exhausted", 2);
  });
});

describe("the order of SPEC §4: when two rules fail, the earlier one decides", () => {
  it("team budget before member budget", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { teamBudget: 2, memberBudget: 2 });
    await expectAdmitted(await drain(acct.memberKey, 2), 2);
    await expectDenied(await one(acct.memberKey), 402, "budget_exhausted", "team_budget");
  });

  it("member budget before the per-action cap", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { memberBudget: 2 });
    await patchAccount(acct.id, { actionCaps: { "test.one": 2 } });
    await expectAdmitted(await one(acct.memberKey));
    await expectAdmitted(await one(acct.memberKey));
    await expectDenied(await one(acct.memberKey), 402, "budget_exhausted", "member_budget");
  });

  it("per-action cap before the account spend cap", async () => {
    const acct = await setupAccount();
    await patchAccount(acct.id, { actionCaps: { "test.one": 2 }, monthlySpendCap: 2 });
    await expectAdmitted(await one(acct.memberKey));
    await expectAdmitted(await one(acct.memberKey));
    await expectDenied(await one(acct.memberKey), 402, "budget_exhausted", "action_cap");
  });
});
