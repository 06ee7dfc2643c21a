/**
 * Operations that change what the next decision sees, through the management API as an admin
 * or the operator would: team rules, members (budget, seat, team, active), the account's
 * policy and plan, grants, keys; and the balance an admin reads.
 */
import type { Category, PlanId, Seat } from "../../src/ledger/contract";
import { OPEN_RULES, type Policy, type Rules } from "../support/model/types";
import { testConfig } from "../support/test-catalog";
import { ACTION_IDS } from "./actions";
import { show, Violation } from "./checks";
import type { Outcome, Sim } from "./driver";
import { manage, OPERATOR_AUTH, send } from "./gateway";
import { PURPOSES } from "./requests";

const DAY = 86_400_000;

/** `min` to `max` distinct items, in a seeded order. */
function subset<T>(sim: Sim, items: readonly T[], min: number, max: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  const n = sim.rng.int(min, Math.min(max, pool.length));
  for (let i = 0; i < n; i++) out.push(...pool.splice(sim.rng.int(0, pool.length - 1), 1));
  return out;
}

/** A team's rules: open often, otherwise a few of allow-lists, purpose, rate and budgets. */
function randomRules(sim: Sim): Rules {
  const r = sim.rng;
  // Open rules often, so that calls keep flowing after a tight set.
  if (r.chance(0.4)) return structuredClone(OPEN_RULES);
  return {
    allowedActions: r.chance(0.85) ? null : subset(sim, ACTION_IDS, 2, 6),
    allowedCategories: r.chance(0.9) ? null : subset<Category>(sim, testConfig.categories, 1, 3),
    purpose: r.chance(0.8)
      ? { required: false, allowed: null }
      : { required: r.chance(0.5), allowed: r.chance(0.5) ? null : subset(sim, PURPOSES, 1, 2) },
    memberRateLimitPerMinute: r.chance(0.7) ? null : r.int(2, 10),
    teamBudget: r.chance(0.6) ? null : r.int(0, 1500),
    memberBudget: r.chance(0.7) ? null : r.int(0, 600),
  };
}

/** PUT /v1/teams/{id}/rules: the next request is decided by them. */
export async function changeRules(sim: Sim): Promise<Outcome> {
  const teamId = sim.rng.pick(sim.teamIds);
  const rules = randomRules(sim);
  await manage("PUT", `/v1/teams/${teamId}/rules`, sim.adminAuth, rules, 200);
  sim.model.teams.set(teamId, rules);
  return { text: `rules t${sim.teamIds.indexOf(teamId)} ${JSON.stringify(rules)}` };
}

/** PATCH /v1/members/{id}: its budget, seat, team, or whether it is active. */
export async function changeMember(sim: Sim): Promise<Outcome> {
  const member = sim.rng.pick([...sim.model.members.values()]);
  const kind = sim.rng.weighted({ budget: 4, seat: 2, team: 2, active: 2 });
  let patch: { budget?: number | null; seat?: Seat; teamId?: string; active?: boolean };
  if (kind === "budget") patch = { budget: sim.rng.chance(0.4) ? null : sim.rng.int(0, 500) };
  else if (kind === "seat")
    patch = { seat: sim.rng.pick(["core", "sales", "service", "none"] as const) };
  else if (kind === "team") patch = { teamId: sim.rng.pick(sim.teamIds) };
  // Mostly active: a deactivated member only gets invalid_key.
  else patch = { active: member.active ? sim.rng.chance(0.7) : sim.rng.chance(0.95) };
  await manage("PATCH", `/v1/members/${member.id}`, sim.adminAuth, patch, 200);
  Object.assign(member, patch);
  const shown = {
    ...patch,
    ...(patch.teamId ? { teamId: `t${sim.teamIds.indexOf(patch.teamId)}` } : {}),
  };
  return {
    text: `member m${[...sim.model.members.keys()].indexOf(member.id)} ${JSON.stringify(shown)}`,
  };
}

/** PATCH /admin/v1/accounts/{id}: the plan alone, or policy fields (overage, caps, rollover). */
export async function changePolicy(sim: Sim): Promise<Outcome> {
  const r = sim.rng;
  if (r.chance(0.25)) {
    const plan = r.pick<PlanId>(testConfig.plans.map((p) => p.id));
    await manage("PATCH", `/admin/v1/accounts/${sim.accountId}`, OPERATOR_AUTH, { plan }, 200);
    // A larger plan applies at once with the difference granted; a smaller one waits.
    sim.model.changePlan(plan, sim.now);
    return { text: `plan ${plan}` };
  }
  const patch: Partial<Policy> = {};
  if (r.chance(0.5))
    patch.overage = { policy: r.chance(0.6) ? "allow" : "block", limit: r.int(0, 800) };
  if (r.chance(0.4)) patch.monthlySpendCap = r.chance(0.4) ? null : r.int(100, 5000);
  if (r.chance(0.3)) patch.rolloverCap = r.chance(0.3) ? 0 : r.int(50, 1000);
  if (r.chance(0.3) || Object.keys(patch).length === 0) {
    patch.actionCaps = Object.fromEntries(
      subset(sim, ACTION_IDS, 0, 3).map((id) => [id, r.int(0, 400)]),
    );
  }
  await manage("PATCH", `/admin/v1/accounts/${sim.accountId}`, OPERATOR_AUTH, patch, 200);
  sim.model.setPolicy(patch, sim.now);
  return { text: `policy ${JSON.stringify(patch)}` };
}

/** POST /admin/v1/accounts/{id}/grants: a pack, promo or adjustment, maybe not yet effective, maybe expiring. */
export async function addGrant(sim: Sim): Promise<Outcome> {
  const r = sim.rng;
  const source = r.pick(["pack", "promo", "adjustment"] as const);
  const amount = r.int(10, 600);
  const priority = r.chance(0.5) ? null : r.int(0, 20);
  const effectiveAt = r.chance(0.8) ? sim.now : sim.now + r.int(1, 48) * 3_600_000;
  const expiresAt = r.chance(0.5) ? null : effectiveAt + r.int(1, 30 * 24) * 3_600_000;
  const body: Record<string, unknown> = {
    amount,
    source,
    effectiveAt: new Date(effectiveAt).toISOString(),
  };
  if (priority !== null) body.priority = priority;
  if (expiresAt !== null) body.expiresAt = new Date(expiresAt).toISOString();
  await manage("POST", `/admin/v1/accounts/${sim.accountId}/grants`, OPERATOR_AUTH, body, 201);
  sim.model.issue({
    source,
    priority: priority ?? (source === "pack" ? 10 : source === "adjustment" ? 5 : 0),
    effectiveAt,
    expiresAt,
    periodStart: null,
    amount,
  });
  const days = (ms: number) => `${Math.round((ms - sim.now) / DAY)}d`;
  return {
    text: `grant ${source} ${amount} p${priority ?? "default"} from ${days(effectiveAt)}${expiresAt ? ` to ${days(expiresAt)}` : ""}`,
  };
}

/** DELETE /v1/keys/{id}: a member key stops working on the next request. */
export async function revokeKey(sim: Sim): Promise<Outcome> {
  const live = sim.model.keys.filter((k) => k.role === "member" && !k.revoked);
  if (live.length === 0) return newKey(sim);
  const key = sim.rng.pick(live);
  await manage("DELETE", `/v1/keys/${key.id}`, sim.adminAuth, undefined, 200);
  key.revoked = true;
  return { text: `revoke k${sim.model.keys.indexOf(key)}` };
}

/** POST /v1/keys: a new key for the member with the fewest live ones. */
export async function newKey(sim: Sim): Promise<Outcome> {
  const live = (id: string) => sim.model.keys.filter((k) => k.memberId === id && !k.revoked).length;
  const members = [...sim.model.members.keys()].sort((a, b) => live(a) - live(b));
  const memberId = members[0];
  if (memberId === undefined) throw new Error("the simulation has no members");
  await sim.newMemberKey(memberId);
  const index = [...sim.model.members.keys()].indexOf(memberId);
  return { text: `new key k${sim.model.keys.length - 1} for m${index}` };
}

/** GET /v1/balance as admin or finance: it also voids lapsed holds and rolls the period. */
export async function readBalance(sim: Sim): Promise<Outcome> {
  const auth = sim.rng.chance(0.5) ? sim.adminAuth : sim.financeAuth;
  const reply = await send("GET", "/v1/balance", { authorization: auth }, null);
  const body = reply.body ?? {};
  const got = {
    available: body.available,
    held: body.held,
    capturedThisPeriod: body.capturedThisPeriod,
  };
  const want = sim.model.balance(sim.now);
  const text = `balance -> ${JSON.stringify(got)}`;
  if (reply.status !== 200 || show(got) !== show(want)) {
    throw new Violation(
      "model",
      `${text} (status ${reply.status}), the model expects ${JSON.stringify(want)}`,
    );
  }
  return { text };
}
