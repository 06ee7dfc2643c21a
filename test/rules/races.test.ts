/**
 * Issue 3, races: 300 concurrent 1-credit calls from 3 members of one team never pass the team
 * budget, a member budget, the account spend cap or the overage limit: the admitted counts are
 * exact, and the counters, the balance and the usage events in D1 agree afterwards.
 */
import { describe, expect, it } from "vitest";
import { setupAccount, spend, type TestAccount } from "../support/api";
import {
  addMember,
  addTeam,
  balanceOf,
  counters,
  flushedEvents,
  patchAccount,
  putRules,
  teamSpend,
} from "./helpers";

interface Member {
  id: string;
  key: string;
}

interface Outcome {
  member: string;
  status: number;
  code: string | null;
  rule: string | null;
  charged: string | null;
}

/** The account's first member plus two more in the same team. */
async function threeMembers(acct: TestAccount): Promise<Member[]> {
  const b = await addMember(acct, acct.teamId, "Bo");
  const c = await addMember(acct, acct.teamId, "Cy");
  return [{ id: acct.memberId, key: acct.memberKey }, b, c];
}

/** `perMember` calls from each member, interleaved, all at once. */
async function race(
  members: Member[],
  perMember: number,
  headersFor: (i: number) => Record<string, string> = () => ({}),
): Promise<Outcome[]> {
  const calls = Array.from({ length: perMember }, (_, i) => members.map((m) => ({ m, i }))).flat();
  return Promise.all(
    calls.map(async ({ m, i }) => {
      const res = await spend(m.key, "/v1/test/one", headersFor(i));
      const text = await res.text();
      const body =
        res.headers.get("content-type") === "application/problem+json" ? JSON.parse(text) : {};
      return {
        member: m.id,
        status: res.status,
        code: body.code ?? null,
        rule: body.rule ?? null,
        charged: res.headers.get("x-credits-charged"),
      };
    }),
  );
}

function admittedBy(outcomes: Outcome[], members: Member[]) {
  return members.map((m) => outcomes.filter((o) => o.member === m.id && o.status === 200).length);
}

/** Member and team counters, and D1's captured events, all say the same. */
async function expectCountersMatchEvents(acct: TestAccount, members: Member[], admitted: number[]) {
  const rows = await counters(acct.id);
  const events = await flushedEvents(acct.id);
  const captured = events.filter((e) => e.outcome === "captured" && e.action === "test.one");
  for (const [i, m] of members.entries()) {
    const row = rows.find((r) => r.scope === "member" && r.scope_id === m.id);
    expect({ captured: row?.captured ?? 0, held: row?.held ?? 0 }).toEqual({
      captured: admitted[i],
      held: 0,
    });
    expect(captured.filter((e) => e.member_id === m.id)).toHaveLength(admitted[i] ?? -1);
  }
  expect(rows.every((r) => r.held === 0)).toBe(true);
  return events;
}

describe("races against budgets", () => {
  it("300 concurrent calls, team budget 100, member budgets 40: exactly 100 admitted, no member past 40", async () => {
    const acct = await setupAccount();
    const members = await threeMembers(acct);
    await putRules(acct, acct.teamId, { teamBudget: 100, memberBudget: 40 });

    const outcomes = await race(members, 100);
    const admitted = admittedBy(outcomes, members);
    expect(admitted.reduce((a, b) => a + b, 0)).toBe(100);
    for (const n of admitted) expect(n).toBeLessThanOrEqual(40);
    const denied = outcomes.filter((o) => o.status !== 200);
    expect(denied).toHaveLength(200);
    for (const d of denied) {
      expect(d.status).toBe(402);
      expect(d.code).toBe("budget_exhausted");
      expect(["team_budget", "member_budget"]).toContain(d.rule);
      expect(d.charged).toBe("0");
    }

    expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: 100, held: 0 });
    const b = await balanceOf(acct.adminKey);
    expect([b.available, b.held, b.capturedThisPeriod]).toEqual([2900, 0, 100]);
    const events = await expectCountersMatchEvents(acct, members, admitted);
    expect(events.filter((e) => e.outcome === "denied")).toHaveLength(200);
    expect(events.filter((e) => e.outcome === "denied").every((e) => e.credits === 0)).toBe(true);
  }, 90_000);

  it("the same with an account spend cap of 70: exactly 70 admitted", async () => {
    const acct = await setupAccount();
    const members = await threeMembers(acct);
    await putRules(acct, acct.teamId, { teamBudget: 100, memberBudget: 40 });
    await patchAccount(acct.id, { monthlySpendCap: 70 });

    const outcomes = await race(members, 100);
    const admitted = admittedBy(outcomes, members);
    expect(admitted.reduce((a, b) => a + b, 0)).toBe(70);
    for (const n of admitted) expect(n).toBeLessThanOrEqual(40);
    for (const d of outcomes.filter((o) => o.status !== 200)) {
      expect([d.status, d.code]).toEqual([402, "budget_exhausted"]);
      expect(["spend_cap", "member_budget"]).toContain(d.rule);
    }
    expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: 70, held: 0 });
    const b = await balanceOf(acct.adminKey);
    expect([b.available, b.held, b.capturedThisPeriod]).toEqual([2930, 0, 70]);
    await expectCountersMatchEvents(acct, members, admitted);
  }, 90_000);

  it("the same with overage allowed up to 25 after the grants are drained: exactly 25 admitted", async () => {
    const acct = await setupAccount({ plan: "starter" });
    const members = await threeMembers(acct);
    // Drain the included grant from another team, so the race's team budgets start empty.
    const ops = await addTeam(acct, "Ops");
    const drainer = await addMember(acct, ops, "Drainer");
    const drained = await spend(drainer.key, "/v1/test/drain?credits=500");
    expect(drained.headers.get("x-credits-charged")).toBe("500");
    await drained.arrayBuffer();
    await putRules(acct, acct.teamId, { teamBudget: 100, memberBudget: 40 });
    await patchAccount(acct.id, { overage: { policy: "allow", limit: 25 } });
    expect((await balanceOf(acct.adminKey)).overage).toEqual({
      policy: "allow",
      limit: 25,
      used: 0,
      available: 25,
    });

    const outcomes = await race(members, 100);
    const admitted = admittedBy(outcomes, members);
    expect(admitted.reduce((a, b) => a + b, 0)).toBe(25);
    for (const d of outcomes.filter((o) => o.status !== 200)) {
      expect([d.status, d.code, d.rule]).toEqual([402, "insufficient_credits", "balance"]);
    }
    const b = await balanceOf(acct.adminKey);
    expect(b.overage).toEqual({ policy: "allow", limit: 25, used: 25, available: 0 });
    expect([b.available, b.held, b.capturedThisPeriod]).toEqual([0, 0, 525]);
    expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: 25, held: 0 });
    await expectCountersMatchEvents(acct, members, admitted);
  }, 90_000);

  it("with a third of the calls failing upstream, voids give budget back and nothing passes it", async () => {
    const acct = await setupAccount();
    const members = await threeMembers(acct);
    await putRules(acct, acct.teamId, { teamBudget: 100, memberBudget: 40 });

    const failing = (i: number): Record<string, string> =>
      i % 3 === 0 ? { "x-chaos-status": "500" } : {};
    const outcomes = await race(members, 100, failing);
    const charged = members.map(
      (m) => outcomes.filter((o) => o.member === m.id && o.status === 200).length,
    );
    const total = charged.reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(100);
    for (const n of charged) expect(n).toBeLessThanOrEqual(40);
    for (const o of outcomes.filter((x) => x.status === 500)) expect(o.charged).toBe("0");
    for (const o of outcomes.filter((x) => x.status !== 200 && x.status !== 500)) {
      expect([o.status, o.code]).toEqual([402, "budget_exhausted"]);
    }
    expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: total, held: 0 });
    await expectCountersMatchEvents(acct, members, charged);
    // What the voids gave back is spendable again, exactly up to the budgets: calling one by
    // one until refused fills the team budget to 100 (three members can spend 120).
    for (const m of members) {
      for (;;) {
        const res = await spend(m.key, "/v1/test/one");
        await res.arrayBuffer();
        if (res.status !== 200) break;
      }
    }
    expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: 100, held: 0 });
  }, 90_000);
});
