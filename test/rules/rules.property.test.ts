/**
 * Issue 3, property test: random rule sets (allow-lists, purposes, rate limits, team and member
 * budgets, per-action caps, spend cap, overage) and random request sequences (admissions with
 * random members, actions, purposes and credits; captures, voids, time passing, rule changes)
 * run against the real AccountLedger and against a reference model of SPEC §4 written here.
 * After every step: every decision and every denial's code and rule equal the model's first
 * failing rule; the counters equal the model's; no step pushes any scope past its limit; grants
 * never go negative and conservation holds per grant.
 */
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ActionTerms, Category, Seat, Settlement, Tier } from "../../src/ledger/contract";
import {
  type AccountPolicy,
  DEFAULT_TEAM_RULES,
  type TeamRules,
} from "../../src/ledger/core/rules";
import type { AccountLedger } from "../../src/ledger/object";
import { ledger, uniqueAccountId } from "../support/api";

const HOLD_TTL = 60_000;
const RATE_WINDOW = 60_000;
const INCLUDED: Record<"starter" | "professional", number> = { starter: 500, professional: 3000 };

interface ActionDef {
  id: string;
  category: Category;
  minTier: Tier;
  seat: Seat | null;
}

const ACTIONS: ActionDef[] = [
  { id: "alpha.one", category: "enrichment", minTier: "starter", seat: null },
  { id: "beta.two", category: "ai", minTier: "starter", seat: null },
  { id: "gamma.three", category: "insights", minTier: "professional", seat: null },
  { id: "delta.four", category: "prospecting", minTier: "starter", seat: "sales" },
];
const DRAIN: ActionDef = { id: "omega.drain", category: "ai", minTier: "starter", seat: null };
const PURPOSES = ["p1", "p2", "p3"];
const TEAMS = 2;
const MEMBERS = 3;

// ---- the reference model ------------------------------------------------------------------

interface MMember {
  team: number;
  seat: Seat;
  active: boolean;
  budget: number | null;
  recent: number[];
}

interface MHold {
  id: string;
  amount: number;
  member: number;
  team: number;
  action: string;
  expiresAt: number;
}

interface Spend {
  captured: number;
  held: number;
}

type Verdict =
  | { kind: "admit" }
  | {
      kind: "deny";
      code: string;
      rule: string;
      retryAfter?: number;
      limit?: number;
      used?: number;
    };

const TIER_ORDER: Tier[] = ["starter", "professional", "enterprise"];

class Model {
  counters = new Map<string, Spend>();
  holds: MHold[] = [];
  denials = 0;

  constructor(
    public tier: Tier,
    public rules: TeamRules[],
    public members: MMember[],
    public policy: AccountPolicy,
    public available: number,
  ) {}

  spend(scope: string, id: string): Spend {
    return this.counters.get(`${scope}:${id}`) ?? { captured: 0, held: 0 };
  }

  scopes(member: number, team: number, action: string): [string, string][] {
    return [
      ["account", "*"],
      ["team", `T${team}`],
      ["member", `M${member}`],
      ["action", action],
    ];
  }

  add(member: number, team: number, action: string, change: Spend) {
    for (const [scope, id] of this.scopes(member, team, action)) {
      const s = this.spend(scope, id);
      this.counters.set(`${scope}:${id}`, {
        captured: s.captured + change.captured,
        held: s.held + change.held,
      });
    }
  }

  /** The team budget of `team` (the one charged); the member's budget as it is now. */
  limits(team: number, member: number, action: string) {
    const m = this.members[member] as MMember;
    return {
      team: (this.rules[team] as TeamRules).teamBudget,
      member: m.budget ?? (this.rules[m.team] as TeamRules).memberBudget,
      action: this.policy.actionCaps[action] ?? null,
      account: this.policy.monthlySpendCap,
    };
  }

  expireHolds(now: number) {
    for (const h of this.holds.filter((x) => x.expiresAt <= now)) this.void(h);
  }

  /** SPEC §4 after the caller: the first failing rule, as plainly as it can be written. */
  decide(m: number, a: ActionDef, credits: number, purpose: string | null, now: number): Verdict {
    const member = this.members[m] as MMember;
    if (!member.active) return { kind: "deny", code: "invalid_key", rule: "member" };
    if (TIER_ORDER.indexOf(this.tier) < TIER_ORDER.indexOf(a.minTier))
      return { kind: "deny", code: "plan_excludes_action", rule: "tier" };
    if (a.seat !== null && a.seat !== member.seat)
      return { kind: "deny", code: "seat_required", rule: "seat" };
    const rules = this.rules[member.team] as TeamRules;
    if (rules.allowedActions !== null || rules.allowedCategories !== null) {
      const listed =
        (rules.allowedActions ?? []).includes(a.id) ||
        (rules.allowedCategories ?? []).includes(a.category);
      if (!listed) return { kind: "deny", code: "team_not_allowed", rule: "team_allowed" };
    }
    if (purpose === null && rules.purpose.required)
      return { kind: "deny", code: "purpose_required", rule: "purpose" };
    if (
      purpose !== null &&
      rules.purpose.allowed !== null &&
      !rules.purpose.allowed.includes(purpose)
    )
      return { kind: "deny", code: "purpose_not_allowed", rule: "purpose" };
    const rate = rules.memberRateLimitPerMinute;
    if (rate !== null) {
      const recent = member.recent.filter((t) => t > now - RATE_WINDOW);
      if (recent.length >= rate) {
        const oldest = recent[recent.length - rate] as number;
        const retryAfter = Math.max(1, Math.ceil((oldest + RATE_WINDOW - now) / 1000));
        return { kind: "deny", code: "rate_limited", rule: "member_rate", retryAfter };
      }
    }
    const limits = this.limits(member.team, m, a.id);
    const checks: [number | null, Spend, string][] = [
      [limits.team, this.spend("team", `T${member.team}`), "team_budget"],
      [limits.member, this.spend("member", `M${m}`), "member_budget"],
      [limits.action, this.spend("action", a.id), "action_cap"],
      [limits.account, this.spend("account", "*"), "spend_cap"],
    ];
    for (const [limit, s, rule] of checks) {
      if (limit === null) continue;
      const used = s.captured + s.held;
      if (used + credits > limit)
        return { kind: "deny", code: "budget_exhausted", rule, limit, used };
    }
    if (this.available < credits)
      return { kind: "deny", code: "insufficient_credits", rule: "balance" };
    return { kind: "admit" };
  }

  hold(id: string, m: number, action: string, credits: number, now: number): MHold {
    const member = this.members[m] as MMember;
    const hold = {
      id,
      amount: credits,
      member: m,
      team: member.team,
      action,
      expiresAt: now + HOLD_TTL,
    };
    this.available -= credits;
    this.add(m, member.team, action, { held: credits, captured: 0 });
    if ((this.rules[member.team] as TeamRules).memberRateLimitPerMinute !== null)
      member.recent.push(now);
    this.holds.push(hold);
    return hold;
  }

  /** Captures `credits`; past the hold only as far as the balance and every budget allow. */
  capture(hold: MHold, credits: number): number {
    const fromHold = Math.min(credits, hold.amount);
    this.available += hold.amount - fromHold;
    let extra = 0;
    if (credits > fromHold) {
      const limits = this.limits(hold.team, hold.member, hold.action);
      let room = Number.POSITIVE_INFINITY;
      const pairs: [number | null, Spend][] = [
        [limits.team, this.spend("team", `T${hold.team}`)],
        [limits.member, this.spend("member", `M${hold.member}`)],
        [limits.action, this.spend("action", hold.action)],
        [limits.account, this.spend("account", "*")],
      ];
      for (const [limit, s] of pairs) {
        if (limit === null) continue;
        room = Math.min(room, limit - (s.captured + fromHold) - (s.held - hold.amount));
      }
      extra = Math.max(0, Math.min(credits - fromHold, this.available, Math.max(0, room)));
      this.available -= extra;
    }
    const charged = fromHold + extra;
    this.add(hold.member, hold.team, hold.action, { held: -hold.amount, captured: charged });
    this.holds = this.holds.filter((h) => h.id !== hold.id);
    return charged;
  }

  void(hold: MHold) {
    this.available += hold.amount;
    this.add(hold.member, hold.team, hold.action, { held: -hold.amount, captured: 0 });
    this.holds = this.holds.filter((h) => h.id !== hold.id);
  }
}

// ---- random rule sets and request sequences ------------------------------------------------

const budget = (max: number) => fc.option(fc.integer({ min: 0, max }), { nil: null, freq: 2 });

/** Mostly null (no restriction), sometimes `arb`, so later rules get their turn. */
function rarely<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: arb, weight: 1 });
}

const rulesArb: fc.Arbitrary<TeamRules> = fc.record({
  allowedActions: rarely(fc.subarray(ACTIONS.map((a) => a.id))),
  allowedCategories: rarely(fc.subarray(ACTIONS.map((a) => a.category))),
  purpose: fc.record({
    required: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    allowed: rarely(fc.subarray(PURPOSES)),
  }),
  memberRateLimitPerMinute: rarely(fc.integer({ min: 1, max: 6 })),
  teamBudget: budget(300),
  memberBudget: budget(150),
});

const setupArb = fc.record({
  tier: fc.constantFrom<"starter" | "professional">("starter", "professional"),
  rules: fc.array(rulesArb, { minLength: TEAMS, maxLength: TEAMS }),
  members: fc.array(
    fc.record({
      team: fc.integer({ min: 0, max: TEAMS - 1 }),
      seat: fc.constantFrom<Seat>("core", "sales"),
      active: fc.oneof(
        { arbitrary: fc.constant(true), weight: 7 },
        { arbitrary: fc.constant(false), weight: 1 },
      ),
      budget: budget(150),
    }),
    { minLength: MEMBERS, maxLength: MEMBERS },
  ),
  overage: fc.record({
    policy: fc.constantFrom<"block" | "allow">("block", "allow"),
    limit: fc.integer({ min: 0, max: 80 }),
  }),
  /** Credits left in the included grant once a drainer (own team, own action) spent the rest. */
  leftover: fc.integer({ min: 0, max: 400 }),
  /** The spend cap, as credits on top of what the drainer spent. */
  monthlySpendCap: budget(500),
  actionCaps: fc.dictionary(
    fc.constantFrom(...ACTIONS.map((a) => a.id)),
    fc.integer({ min: 0, max: 300 }),
    { maxKeys: 3 },
  ),
});

type Setup = typeof setupArb extends fc.Arbitrary<infer S> ? S : never;

type Op =
  | {
      kind: "admit";
      member: number;
      action: number;
      credits: number;
      settlement: Settlement;
      purpose: string | null;
    }
  | { kind: "capture"; pick: number; share: number; beyond: number }
  | { kind: "void"; pick: number }
  | { kind: "advance"; ms: number }
  | { kind: "teamBudgets"; team: number; teamBudget: number | null; memberBudget: number | null }
  | { kind: "memberBudget"; member: number; budget: number | null }
  | { kind: "moveMember"; member: number; team: number }
  | { kind: "caps"; monthlySpendCap: number | null; action: number; cap: number | null };

const admitArb = fc.record({
  kind: fc.constant("admit" as const),
  member: fc.integer({ min: 0, max: MEMBERS - 1 }),
  action: fc.integer({ min: 0, max: ACTIONS.length - 1 }),
  credits: fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 12 }), weight: 4 },
    { arbitrary: fc.integer({ min: 12, max: 80 }), weight: 2 },
    { arbitrary: fc.integer({ min: 80, max: 400 }), weight: 1 },
  ),
  settlement: fc.constantFrom<Settlement>("on_success", "metered", "on_request"),
  purpose: fc.constantFrom<string | null>(null, ...PURPOSES),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: admitArb, weight: 8 },
  {
    arbitrary: fc.record({
      kind: fc.constant("capture" as const),
      pick: fc.nat(),
      share: fc.double({ min: 0, max: 1, noNaN: true }),
      beyond: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 })),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant("void" as const), pick: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.oneof(fc.integer({ min: 1, max: 8000 }), fc.integer({ min: 20_000, max: 70_000 })),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("teamBudgets" as const),
      team: fc.integer({ min: 0, max: TEAMS - 1 }),
      teamBudget: budget(300),
      memberBudget: budget(150),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("memberBudget" as const),
      member: fc.integer({ min: 0, max: MEMBERS - 1 }),
      budget: budget(150),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("moveMember" as const),
      member: fc.integer({ min: 0, max: MEMBERS - 1 }),
      team: fc.integer({ min: 0, max: TEAMS - 1 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("caps" as const),
      monthlySpendCap: budget(500),
      action: fc.integer({ min: 0, max: ACTIONS.length - 1 }),
      cap: budget(300),
    }),
    weight: 1,
  },
);

function terms(a: ActionDef, credits: number, settlement: Settlement): ActionTerms {
  return { ...a, settlement, units: 1, holdCredits: credits };
}

// ---- the property ----------------------------------------------------------------------------

/** How often each decision was seen over all runs, so a vacuous generator is noticed. */
const seen = new Map<string, number>();
const see = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

/**
 * A counterexample CI found (seed 1096012432): a member moved mid-call to a team with no
 * default budget had its metered overrun capped by the old team's default of 0.
 */
const MOVED_TO_NO_DEFAULT: [Setup, Op[]] = JSON.parse(
  `[{"tier":"starter","rules":[{"allowedActions":null,"allowedCategories":null,"purpose":{"required":true,"allowed":null},"memberRateLimitPerMinute":null,"teamBudget":null,"memberBudget":null},{"allowedActions":null,"allowedCategories":null,"purpose":{"required":true,"allowed":null},"memberRateLimitPerMinute":null,"teamBudget":null,"memberBudget":null}],"members":[{"team":0,"seat":"core","active":true,"budget":null},{"team":0,"seat":"core","active":true,"budget":null},{"team":0,"seat":"core","active":true,"budget":null}],"overage":{"policy":"block","limit":0},"leftover":1,"monthlySpendCap":0,"actionCaps":{}},[{"kind":"teamBudgets","team":0,"teamBudget":null,"memberBudget":0},{"kind":"caps","monthlySpendCap":null,"action":0,"cap":null},{"kind":"admit","member":2,"action":0,"credits":0,"settlement":"on_success","purpose":"p3"},{"kind":"moveMember","member":2,"team":1},{"kind":"advance","ms":20000},{"kind":"teamBudgets","team":1,"teamBudget":null,"memberBudget":null},{"kind":"capture","pick":0,"share":0,"beyond":1},{"kind":"admit","member":0,"action":0,"credits":12,"settlement":"on_success","purpose":null},{"kind":"void","pick":0},{"kind":"admit","member":0,"action":0,"credits":0,"settlement":"on_success","purpose":null},{"kind":"admit","member":0,"action":0,"credits":12,"settlement":"on_success","purpose":null},{"kind":"capture","pick":0,"share":0,"beyond":0},{"kind":"teamBudgets","team":0,"teamBudget":null,"memberBudget":null},{"kind":"advance","ms":20000}]]`,
);

describe("rules against a reference model", () => {
  it("decides like the model, never passes a budget, and keeps every grant conserved", async () => {
    await fc.assert(
      fc.asyncProperty(
        setupArb,
        fc.array(opArb, { minLength: 10, maxLength: 80, size: "medium" }),
        async (setup, ops) => {
          const accountId = uniqueAccountId("rprop");
          await runInDurableObject(ledger(accountId), async (instance: AccountLedger, state) => {
            const sql = state.storage.sql;
            let now = Date.parse("2027-01-10T10:00:00Z");
            instance.clock = () => now;
            await instance.createAccount({
              id: accountId,
              name: "Prop",
              tier: setup.tier,
              billingAnchorDay: 1,
            });
            const teamIds: string[] = [];
            const rules = [...setup.rules, DEFAULT_TEAM_RULES];
            for (const [t, r] of rules.entries()) {
              const team = await instance.createTeam(`T${t}`);
              teamIds.push(team.id);
              await instance.setTeamRules(team.id, r);
            }
            const members = [
              ...setup.members,
              { team: TEAMS, seat: "core" as Seat, active: true, budget: null },
            ];
            const memberIds: string[] = [];
            for (const [i, m] of members.entries()) {
              const created = await instance.createMember({
                name: `M${i}`,
                teamId: teamIds[m.team] as string,
                seat: m.seat,
              });
              if (!created.ok) throw new Error("member");
              memberIds.push(created.value.id);
              await instance.updateMember(created.value.id, { active: m.active, budget: m.budget });
              const key = await instance.createKey({
                hash: `k${i}`,
                prefix: "p",
                role: "member",
                memberId: created.value.id,
                name: null,
              });
              if (!key.ok) throw new Error("key");
            }
            const model = new Model(
              setup.tier,
              rules.map((r) => structuredClone(r)),
              members.map((m) => ({ ...m, recent: [] })),
              {
                overage: { policy: "block", limit: 0 },
                monthlySpendCap: null,
                rolloverCap: 0,
                actionCaps: {},
              },
              INCLUDED[setup.tier],
            );

            // The drainer (last member, own team without rules) spends all but `leftover`.
            const drain = INCLUDED[setup.tier] - setup.leftover;
            const drained = await instance.admit({
              keyHash: `k${MEMBERS}`,
              requestId: crypto.randomUUID(),
              action: terms(DRAIN, drain, "on_request"),
              purpose: null,
              idempotency: null,
              dryRun: false,
            });
            if (drained.kind !== "admitted") throw new Error("drain");
            model.capture(model.hold(drained.holdId, MEMBERS, DRAIN.id, drain, now), drain);

            const policy: AccountPolicy = {
              overage: setup.overage,
              monthlySpendCap:
                setup.monthlySpendCap === null ? null : drain + setup.monthlySpendCap,
              rolloverCap: 0,
              actionCaps: { ...setup.actionCaps },
            };
            await instance.updateAccount({ policy });
            const overage = setup.overage.policy === "allow" ? setup.overage.limit : 0;
            model.policy = structuredClone(policy);
            model.available += overage;

            // Real ids of the model's scope ids.
            const realScope = (scope: string, id: string) =>
              scope === "team"
                ? (teamIds[Number(id.slice(1))] as string)
                : scope === "member"
                  ? (memberIds[Number(id.slice(1))] as string)
                  : id;
            const period = sql
              .exec<{ period_start: number }>("SELECT period_start FROM account")
              .one().period_start;
            const realCounters = () => {
              const map = new Map<string, Spend>();
              for (const r of sql
                .exec<{ scope: string; scope_id: string; captured: number; held: number }>(
                  "SELECT scope, scope_id, captured, held FROM counters WHERE period_start = ?",
                  period,
                )
                .toArray())
                map.set(`${r.scope}:${r.scope_id}`, { captured: r.captured, held: r.held });
              return map;
            };
            const limitOf = (scope: string, id: string): number | null => {
              if (scope === "account") return model.policy.monthlySpendCap;
              if (scope === "action") return model.policy.actionCaps[id] ?? null;
              if (scope === "team") {
                const t = teamIds.indexOf(id);
                return t < 0 ? null : (model.rules[t] as TeamRules).teamBudget;
              }
              const m = memberIds.indexOf(id);
              if (m < 0) return null;
              const member = model.members[m] as MMember;
              return member.budget ?? (model.rules[member.team] as TeamRules).memberBudget;
            };
            let before = realCounters();

            for (const op of ops) {
              if (op.kind === "admit") {
                const a = ACTIONS[op.action] as ActionDef;
                model.expireHolds(now);
                const verdict = model.decide(op.member, a, op.credits, op.purpose, now);
                const result = await instance.admit({
                  keyHash: `k${op.member}`,
                  requestId: crypto.randomUUID(),
                  action: terms(a, op.credits, op.settlement),
                  purpose: op.purpose,
                  idempotency: null,
                  dryRun: false,
                });
                see(verdict.kind === "admit" ? "admitted" : `${verdict.code}/${verdict.rule}`);
                if (verdict.kind === "admit") {
                  expect(result.kind, JSON.stringify(result)).toBe("admitted");
                  if (result.kind !== "admitted") return;
                  const hold = model.hold(result.holdId, op.member, a.id, op.credits, now);
                  if (op.settlement === "on_request") {
                    expect(result.charged).toBe(op.credits);
                    model.capture(hold, op.credits);
                  }
                  expect(result.available).toBe(model.available);
                } else {
                  model.denials += 1;
                  expect(result.kind).toBe("denied");
                  if (result.kind !== "denied") return;
                  const extras = result.problem.extras as Record<string, unknown>;
                  expect({ code: result.problem.code, rule: extras.rule }).toEqual({
                    code: verdict.code,
                    rule: verdict.rule,
                  });
                  if (verdict.retryAfter !== undefined)
                    expect(result.retryAfterSeconds).toBe(verdict.retryAfter);
                  if (verdict.limit !== undefined)
                    expect([extras.limit, extras.used]).toEqual([verdict.limit, verdict.used]);
                }
              } else if (op.kind === "capture" || op.kind === "void") {
                const hold = model.holds[op.pick % Math.max(1, model.holds.length)];
                if (!hold) continue;
                const credits =
                  op.kind === "capture" ? Math.floor(hold.amount * op.share) + op.beyond : 0;
                const result = await instance.settle({
                  holdId: hold.id,
                  idempotencyKey: null,
                  decision: op.kind,
                  credits,
                  units: 1,
                  upstreamStatus: op.kind === "capture" ? 200 : 500,
                  failure: op.kind === "capture" ? null : "upstream_status",
                  durationMs: 1,
                });
                expect(result.settled).toBe(true);
                if (credits > hold.amount) see("capture past the hold");
                if (op.kind === "capture")
                  expect(result.charged).toBe(model.capture(hold, credits));
                else model.void(hold);
                expect(result.available).toBe(model.available);
              } else if (op.kind === "advance") {
                now += op.ms;
                await instance.tick();
                model.expireHolds(now);
              } else if (op.kind === "teamBudgets") {
                const rules = {
                  ...(model.rules[op.team] as TeamRules),
                  teamBudget: op.teamBudget,
                  memberBudget: op.memberBudget,
                };
                model.rules[op.team] = rules;
                await instance.setTeamRules(teamIds[op.team] as string, rules);
              } else if (op.kind === "memberBudget") {
                (model.members[op.member] as MMember).budget = op.budget;
                await instance.updateMember(memberIds[op.member] as string, { budget: op.budget });
              } else if (op.kind === "moveMember") {
                (model.members[op.member] as MMember).team = op.team;
                await instance.updateMember(memberIds[op.member] as string, {
                  teamId: teamIds[op.team] as string,
                });
              } else {
                const id = (ACTIONS[op.action] as ActionDef).id;
                const actionCaps = { ...model.policy.actionCaps };
                if (op.cap === null) delete actionCaps[id];
                else actionCaps[id] = op.cap;
                const monthlySpendCap =
                  op.monthlySpendCap === null ? null : drain + op.monthlySpendCap;
                model.policy = { ...model.policy, monthlySpendCap, actionCaps };
                await instance.updateAccount({ policy: { monthlySpendCap, actionCaps } });
              }

              // Counters equal the model's, and no step pushed a scope past its limit.
              const after = realCounters();
              for (const key of after.keys()) {
                const [scope, id] = key.split(":") as [string, string];
                const real = after.get(key) ?? { captured: 0, held: 0 };
                const used = real.captured + real.held;
                const prior = before.get(key) ?? { captured: 0, held: 0 };
                const limit = limitOf(scope, id);
                if (limit !== null && used > limit) {
                  expect(used, `${key} past its limit ${limit}`).toBeLessThanOrEqual(
                    prior.captured + prior.held,
                  );
                }
              }
              const expected = new Map<string, Spend>();
              for (const [key, spend] of model.counters) {
                const [scope, id] = key.split(":") as [string, string];
                if (spend.captured !== 0 || spend.held !== 0)
                  expected.set(`${scope}:${realScope(scope, id)}`, spend);
              }
              const nonZero = new Map(
                [...after].filter(([, v]) => v.captured !== 0 || v.held !== 0),
              );
              expect(Object.fromEntries(nonZero)).toEqual(Object.fromEntries(expected));
              before = after;

              // Grants: nothing negative, conservation per grant, the model's balance and holds.
              const grants = await instance.allGrants();
              for (const g of grants) {
                for (const v of [g.remaining, g.held, g.captured, g.expired])
                  expect(v).toBeGreaterThanOrEqual(0);
                expect(g.remaining + g.held + g.captured + g.expired, g.id).toBe(g.amount);
              }
              expect(grants.reduce((s, g) => s + g.remaining, 0)).toBe(model.available);
              expect(grants.reduce((s, g) => s + g.held, 0)).toBe(
                model.holds.reduce((s, h) => s + h.amount, 0),
              );
              const over = grants.find((g) => g.source === "overage");
              expect(over?.amount ?? 0).toBe(overage);
            }

            // Every denial left exactly one usage event in the outbox.
            const denied = sql
              .exec<{ payload: string }>("SELECT payload FROM outbox")
              .toArray()
              .filter((r) => (JSON.parse(r.payload) as { outcome: string }).outcome === "denied");
            expect(denied).toHaveLength(model.denials);
          });
        },
      ),
      {
        numRuns: 200,
        examples: [MOVED_TO_NO_DEFAULT],
      },
    );
    for (const what of [
      "admitted",
      "invalid_key/member",
      "plan_excludes_action/tier",
      "seat_required/seat",
      "team_not_allowed/team_allowed",
      "purpose_required/purpose",
      "purpose_not_allowed/purpose",
      "rate_limited/member_rate",
      "budget_exhausted/team_budget",
      "budget_exhausted/member_budget",
      "budget_exhausted/action_cap",
      "budget_exhausted/spend_cap",
      "insufficient_credits/balance",
      "capture past the hold",
    ]) {
      expect(seen.get(what) ?? 0, `never saw ${what}`).toBeGreaterThan(0);
    }
  }, 240_000);
});
