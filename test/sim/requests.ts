/**
 * What a client sends: which key, which action and body (a template a retry repeats), and the
 * terms the gateway derives from it; sometimes aimed at the edge of a budget or the balance.
 */

import { OPEN_RULES, type Terms } from "../support/model/types";
import { holdOf, type SimAction } from "./actions";
import type { Sim, Template } from "./driver";
import { drawRecords } from "./records";

/** The purposes callers give (X-Credit-Purpose) and teams allow. */
export const PURPOSES = ["lead-gen", "renewal", "research"];

/**
 * What `secret`'s member may still spend on `actionId` now: the balance, and the room left in
 * each budget that applies (what the model says; the ledger must agree).
 */
export function headroom(sim: Sim, secret: string, actionId: string): number {
  const m = sim.model;
  const period = m.periodStart ?? 0;
  let room = m.available(sim.now);
  const member = m.members.get(m.keys.find((k) => k.secret === secret)?.memberId ?? "");
  if (!member) return room;
  const limits = m.limits(m.teams.get(member.teamId) ?? OPEN_RULES, member.budget, actionId);
  const ids = { team: member.teamId, member: member.id, action: actionId, account: "*" } as const;
  for (const scope of ["team", "member", "action", "account"] as const) {
    const cap = limits[scope];
    if (cap === null) continue;
    const s = m.spend(period, scope, ids[scope]);
    room = Math.min(room, cap - s.captured - s.held);
  }
  return room;
}

/**
 * A request of `action`. Spending calls (test.drain) sometimes aim at an edge: right up to
 * the caller's balance or tightest budget, or just past it (I1), or leaving less than a
 * metered call may report (its capture is then capped).
 */
export function template(
  sim: Sim,
  action: SimAction,
  secret: string | null,
  variant = sim.rng.int(0, 3),
  recordOptions: { valid?: boolean; include?: string | null } = {},
): Template {
  let units = sim.rng.int(...action.units);
  const edge =
    action.id === "test.drain" && secret !== null
      ? sim.rng.weighted({ none: 55, limit: 30, metered: 15 })
      : "none";
  if (secret !== null && edge !== "none") {
    const room = headroom(sim, secret, action.id);
    units = Math.max(1, room - (edge === "limit" ? sim.rng.int(-2, 3) : sim.rng.int(50, 90)));
  }
  const request = action.request(units, variant);
  const { path } = request;
  let { body } = request;
  let records: Record<string, unknown>[] | null = null;
  if (action.dedupe) {
    // Keys from a small pool, in several spellings, some records without one (issue 16).
    records = drawRecords(sim.rng, action.dedupe.key, units, recordOptions);
    body = JSON.stringify({ records });
  }
  return { action, units, path, body, identity: `${action.method} ${path} ${body ?? ""}`, records };
}

/** The terms the gateway hands the ledger for this request (SPEC §3 step 3). */
export function termsOf(t: Template): Terms {
  const a = t.action;
  return {
    id: a.id,
    category: a.category,
    plans: a.plans,
    seat: a.seat,
    settlement: a.settlement,
    units: t.units,
    holdCredits: holdOf(a, t.units),
    price: a.declared,
  };
}

/** A caller's key: mostly a member's live key, sometimes a revoked, an admin's or an unknown one. */
export function callerKey(sim: Sim): { secret: string; label: string } {
  const keys = sim.model.keys;
  const label = (secret: string) => `k${keys.findIndex((k) => k.secret === secret)}`;
  const kind = sim.rng.weighted({ live: 92, revoked: 3, admin: 2, unknown: 3 });
  if (kind === "unknown") {
    const secret = Array.from(
      { length: 32 },
      () => "abcdefghijklmnopqrstuvwxyz0123456789"[sim.rng.int(0, 35)],
    ).join("");
    return { secret: `cg_${sim.accountId}_${secret}`, label: "unknown-key" };
  }
  const members = keys.filter((k) => k.role === "member");
  const pool =
    kind === "admin"
      ? keys.filter((k) => k.role === "admin")
      : kind === "revoked"
        ? members.filter((k) => k.revoked)
        : members.filter((k) => !k.revoked && sim.model.members.get(k.memberId ?? "")?.active);
  const key = sim.rng.pick(pool.length > 0 ? pool : members);
  return { secret: key.secret, label: label(key.secret) };
}

/** I1 per call: the scopes an admitted call counts against, with their limits now. */
export function scopesOf(
  sim: Sim,
  memberId: string,
  teamId: string,
  actionId: string,
): [string, string, number | null][] {
  const m = sim.model;
  const limits = m.limits(
    m.teams.get(teamId) ?? OPEN_RULES,
    m.members.get(memberId)?.budget ?? null,
    actionId,
  );
  return [
    ["team", teamId, limits.team],
    ["member", memberId, limits.member],
    ["action", actionId, limits.action],
    ["account", "*", limits.account],
  ];
}

/** Keeps a request with an Idempotency-Key for retries; the last dozen are enough. */
export function remember(sim: Sim, key: string, t: Template, secret: string) {
  sim.idemPool.push({ key, template: t, secret });
  if (sim.idemPool.length > 12) sim.idemPool.shift();
}
