/**
 * Issue 3, rule changes under load: team rules PUT (and member budgets PATCHed) between and
 * during bursts of concurrent calls take effect for the next request and never corrupt the
 * counters. Calls started after a change returned are checked against the new rule exactly:
 * on_request calls (`/v1/test/drain`) are captured at admission, so the usage events in D1, in
 * ledger order, tell what the team had spent when each of them was admitted.
 */
import { describe, expect, it } from "vitest";
import { setupAccount, spend, type TestAccount } from "../support/api";
import {
  addMember,
  addTeam,
  api,
  balanceOf,
  counters,
  type EventRow,
  flushedEvents,
  putRules,
  teamSpend,
} from "./helpers";

type Member = { id: string; key: string };

interface Call {
  member: string;
  path: string;
  status: number;
  code: string | null;
  rule: string | null;
  requestId: string | null;
}

async function call(
  member: { id: string; key: string },
  path: string,
  headers: Record<string, string> = {},
): Promise<Call> {
  const res = await spend(member.key, path, headers);
  const text = await res.text();
  const problem =
    res.headers.get("content-type") === "application/problem+json" ? JSON.parse(text) : {};
  return {
    member: member.id,
    path,
    status: res.status,
    code: problem.code ?? null,
    rule: problem.rule ?? null,
    requestId: res.headers.get("x-request-id"),
  };
}

const DRAIN1 = "/v1/test/drain?credits=1";
const ONE = "/v1/test/one";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the scope had captured right after each captured event, by request id, in ledger order. */
function runningTotals(events: EventRow[], keep: (e: EventRow) => boolean): Map<string, number> {
  const totals = new Map<string, number>();
  let sum = 0;
  for (const e of events) {
    if (e.outcome !== "captured" || !keep(e)) continue;
    sum += e.credits;
    totals.set((e as EventRow & { request_id: string }).request_id, sum);
  }
  return totals;
}

/** Counters of every team and member equal the captured usage events in D1; nothing held. */
async function expectCountersMatchD1(acct: TestAccount) {
  const events = await flushedEvents(acct.id);
  const rows = await counters(acct.id);
  const period = Math.max(...rows.map((r) => r.period_start));
  const current = rows.filter((r) => r.period_start === period);
  expect(current.filter((r) => r.held !== 0)).toEqual([]);
  const captured = events.filter((e) => e.outcome === "captured");
  const sumBy = (pick: (e: EventRow) => string | null, id: string) =>
    captured.filter((e) => pick(e) === id).reduce((s, e) => s + e.credits, 0);
  for (const r of current) {
    const expected =
      r.scope === "team"
        ? sumBy((e) => e.team_id, r.scope_id)
        : r.scope === "member"
          ? sumBy((e) => e.member_id, r.scope_id)
          : r.scope === "action"
            ? sumBy((e) => e.action, r.scope_id)
            : captured.reduce((s, e) => s + e.credits, 0);
    expect(r.captured, `${r.scope} ${r.scope_id}`).toBe(expected);
  }
  const b = await balanceOf(acct.adminKey);
  const total = captured.reduce((s, e) => s + e.credits, 0);
  expect([b.held, b.capturedThisPeriod, b.available]).toEqual([0, total, 3000 - total]);
  return events;
}

describe("rule changes under load", () => {
  it("team budgets lowered during a burst and raised between bursts: the next calls obey them exactly, counters stay exact", async () => {
    const acct = await setupAccount();
    const a = [
      { id: acct.memberId, key: acct.memberKey },
      await addMember(acct, acct.teamId, "A2"),
    ];
    const teamB = await addTeam(acct, "B");
    const b = [await addMember(acct, teamB, "B1"), await addMember(acct, teamB, "B2")];
    await putRules(acct, acct.teamId, { teamBudget: 200 });
    await putRules(acct, teamB, { teamBudget: 200 });

    // Burst 1: team A spends at admission, team B holds while a slow upstream answers (and a
    // quarter of B's calls fail and are voided). Both budgets drop to 25 in the middle.
    const burst1 = [
      ...Array.from({ length: 60 }, (_, i) => call(a[i % 2] as Member, DRAIN1)),
      ...Array.from({ length: 60 }, (_, i) =>
        call(b[i % 2] as Member, ONE, {
          "x-chaos-delay-ms": "50",
          ...(i % 4 === 0 ? { "x-chaos-status": "500" } : {}),
        }),
      ),
    ];
    await sleep(20);
    await Promise.all([
      putRules(acct, acct.teamId, { teamBudget: 25 }),
      putRules(acct, teamB, { teamBudget: 25 }),
    ]);
    const probes1 = await Promise.all(
      Array.from({ length: 30 }, (_, i) => call(a[i % 2] as Member, DRAIN1)),
    );
    await Promise.all(burst1);
    for (const p of probes1.filter((x) => x.status !== 200)) {
      expect([p.status, p.code, p.rule]).toEqual([402, "budget_exhausted", "team_budget"]);
    }
    const events = await flushedEvents(acct.id);
    const totals = runningTotals(events, (e) => e.team_id === acct.teamId);
    for (const p of probes1.filter((x) => x.status === 200)) {
      expect(totals.get(p.requestId ?? "")).toBeLessThanOrEqual(25);
    }

    // Between bursts: raise each budget to exactly 30 (A) and 20 (B) above what is spent.
    const spentA = (await teamSpend(acct, acct.teamId)).captured;
    const spentB = (await teamSpend(acct, teamB)).captured;
    await putRules(acct, acct.teamId, { teamBudget: spentA + 30 });
    await putRules(acct, teamB, { teamBudget: spentB + 20 });
    const burst2 = await Promise.all([
      ...Array.from({ length: 50 }, (_, i) => call(a[i % 2] as Member, DRAIN1)),
      ...Array.from({ length: 50 }, (_, i) =>
        call(b[i % 2] as Member, ONE, { "x-chaos-delay-ms": "20" }),
      ),
    ]);
    expect(burst2.filter((c) => c.path === DRAIN1 && c.status === 200)).toHaveLength(30);
    expect(burst2.filter((c) => c.path === ONE && c.status === 200)).toHaveLength(20);
    expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: spentA + 30, held: 0 });
    expect(await teamSpend(acct, teamB)).toEqual({ captured: spentB + 20, held: 0 });

    // Opened wide, then lowered during a burst to what was spent before it: nothing started
    // after the change passes, and the burst's own calls stop at the change.
    const spent3A = spentA + 30;
    const spent3B = spentB + 20;
    await putRules(acct, acct.teamId, { teamBudget: 1000 });
    await putRules(acct, teamB, { teamBudget: 1000 });
    const burst3 = [
      ...Array.from({ length: 40 }, (_, i) => call(a[i % 2] as Member, DRAIN1)),
      ...Array.from({ length: 40 }, (_, i) =>
        call(b[i % 2] as Member, ONE, { "x-chaos-delay-ms": "50" }),
      ),
    ];
    await sleep(10);
    await Promise.all([
      putRules(acct, acct.teamId, { teamBudget: spent3A }),
      putRules(acct, teamB, { teamBudget: spent3B }),
    ]);
    const probes3 = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => call(a[i % 2] as Member, DRAIN1)),
      ...Array.from({ length: 20 }, (_, i) => call(b[i % 2] as Member, ONE)),
    ]);
    const burst3Done = await Promise.all(burst3);
    for (const p of probes3) {
      expect([p.status, p.code, p.rule]).toEqual([402, "budget_exhausted", "team_budget"]);
    }
    for (const d of burst3Done.filter((x) => x.status !== 200)) {
      expect([d.status, d.code, d.rule]).toEqual([402, "budget_exhausted", "team_budget"]);
    }
    const admitted3A = burst3Done.filter((c) => c.path === DRAIN1 && c.status === 200).length;
    const admitted3B = burst3Done.filter((c) => c.path === ONE && c.status === 200).length;
    expect(await teamSpend(acct, acct.teamId)).toEqual({
      captured: spent3A + admitted3A,
      held: 0,
    });
    expect(await teamSpend(acct, teamB)).toEqual({ captured: spent3B + admitted3B, held: 0 });
    await expectCountersMatchD1(acct);
  }, 90_000);

  it("allow-lists swapped during a burst: calls started after the PUT follow the new list", async () => {
    const acct = await setupAccount();
    const a = [
      { id: acct.memberId, key: acct.memberKey },
      await addMember(acct, acct.teamId, "A2"),
    ];
    await putRules(acct, acct.teamId, { allowedCategories: ["ai"] });

    for (const [round, categories] of [
      ["enrichment"],
      ["ai"],
      ["enrichment", "ai"],
      [],
    ].entries()) {
      const burst = Array.from({ length: 40 }, (_, i) =>
        call(a[i % 2] as Member, i % 2 === 0 ? DRAIN1 : ONE, { "x-chaos-delay-ms": "30" }),
      );
      await sleep(10);
      await putRules(acct, acct.teamId, {
        allowedCategories: categories as ("ai" | "enrichment")[],
      });
      const probes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => call(a[i % 2] as Member, i < 10 ? DRAIN1 : ONE)),
      );
      await Promise.all(burst);
      for (const p of probes) {
        const category = p.path === DRAIN1 ? "ai" : "enrichment";
        if (categories.includes(category)) expect(p.status, `round ${round}`).toBe(200);
        else
          expect([p.status, p.code, p.rule], `round ${round}`).toEqual([
            403,
            "team_not_allowed",
            "team_allowed",
          ]);
      }
    }
    await expectCountersMatchD1(acct);
  }, 90_000);

  it("member budgets PATCHed during a burst: the member's next calls obey the new budget exactly", async () => {
    const acct = await setupAccount();
    const a1 = { id: acct.memberId, key: acct.memberKey };
    const a2 = await addMember(acct, acct.teamId, "A2");
    await putRules(acct, acct.teamId, { memberBudget: 100 });

    const burst = Array.from({ length: 80 }, (_, i) => call(i % 2 ? a2 : a1, DRAIN1));
    await sleep(15);
    const patched = await api(`/v1/members/${a1.id}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { budget: 12 },
    });
    expect(patched.status).toBe(200);
    const probes = await Promise.all(Array.from({ length: 20 }, () => call(a1, DRAIN1)));
    await Promise.all(burst);
    const events = await expectCountersMatchD1(acct);
    const totals = runningTotals(events, (e) => e.member_id === a1.id);
    for (const p of probes) {
      if (p.status === 200) expect(totals.get(p.requestId ?? "")).toBeLessThanOrEqual(12);
      else expect([p.status, p.rule]).toEqual([402, "member_budget"]);
    }
    // The teammate kept the team default of 100 and got all 40 of its calls.
    expect(events.filter((e) => e.member_id === a2.id && e.outcome === "captured")).toHaveLength(
      40,
    );
  }, 60_000);

  it("a storm of PUTs during mixed traffic with holds and voids never corrupts the counters", async () => {
    const acct = await setupAccount();
    const a = [
      { id: acct.memberId, key: acct.memberKey },
      await addMember(acct, acct.teamId, "A2"),
    ];
    const teamB = await addTeam(acct, "B");
    const b = [await addMember(acct, teamB, "B1")];
    const traffic = Array.from({ length: 180 }, (_, i) => {
      const m = (i % 3 === 2 ? b[0] : a[i % 2]) as Member;
      if (i % 5 === 0) return call(m, `/v1/test/drain?credits=${1 + (i % 4)}`);
      return call(m, ONE, {
        "x-chaos-delay-ms": String(10 + (i % 7) * 10),
        ...(i % 6 === 1 ? { "x-chaos-status": "503" } : {}),
      });
    });
    const budgets = [30, 80, 5, null, 50, 15, 120, 0, 60, 40];
    const storm: Promise<unknown>[] = [];
    for (const [i, budget] of budgets.entries()) {
      storm.push(
        putRules(acct, i % 2 ? teamB : acct.teamId, {
          teamBudget: budget,
          memberBudget: i % 3 === 0 ? 20 : null,
          allowedCategories: i % 4 === 3 ? ["ai"] : null,
        }),
      );
      await sleep(5);
    }
    await Promise.all(storm);
    const results = await Promise.all(traffic);
    for (const r of results) {
      expect([200, 402, 403, 503]).toContain(r.status);
    }
    await expectCountersMatchD1(acct);
  }, 90_000);
});
