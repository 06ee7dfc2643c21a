/**
 * The invariants of SPEC §6 (I1-I5), checked on the real state after every step without the
 * model: whatever happened, the books must balance. (agreement.ts then compares them with the
 * model: they must also say what the product's rules say should have happened.)
 */

import { bucketsFromEntries } from "../support/entries";
import { IDEMPOTENCY_TTL_MS } from "../support/model/types";
import { simAction } from "./actions";
import type { RealEvent, RealState } from "./state";

/** A broken invariant; `label` names it (I1..I5, or "model" for a disagreement with the model). */
export class Violation extends Error {
  constructor(
    readonly label: string,
    detail: string,
  ) {
    super(`${label}: ${detail}`);
  }
}

/** Throws the violation of `label`. */
export function fail(label: string, detail: string): never {
  throw new Violation(label, detail);
}

/** Epoch ms as the ISO string events carry. */
export const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** JSON with object keys sorted, so that two values compare equal whatever their key order. */
export function show(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/** I1: no grant's bucket goes below zero. (Budgets are checked per admission: `checkAdmittedWithin`.) */
function noOverspend(real: RealState) {
  for (const g of real.grants) {
    if (g.remaining < 0 || g.held < 0 || g.captured < 0 || g.expired < 0) {
      fail("I1", `grant #${g.seq} has a negative bucket: ${show(g)}`);
    }
  }
}

/**
 * I2: per grant, issued = remaining + held + captured + expired, both in the grant's row and as
 * replayed from the append-only entry log; per account, what the grants hold is what the holds
 * say, and what they captured is what the period counters say.
 */
function conservation(real: RealState) {
  const logged = bucketsFromEntries(
    real.entries.map((e) => ({
      grant_id: e.grant_id,
      kind: e.kind,
      amount: e.total,
      reason: e.reason,
    })),
  );
  const heldByGrant = new Map<string, number>();
  for (const h of real.holds) {
    const allocations = JSON.parse(h.allocations) as { grantId: string; amount: number }[];
    const total = allocations.reduce((sum, a) => sum + a.amount, 0);
    if (total !== h.amount)
      fail("I2", `hold ${h.request_id} holds ${h.amount} but its grants give ${total}`);
    for (const a of allocations)
      heldByGrant.set(a.grantId, (heldByGrant.get(a.grantId) ?? 0) + a.amount);
  }
  for (const g of real.grants) {
    if (g.amount !== g.remaining + g.held + g.captured + g.expired) {
      fail("I2", `grant #${g.seq}: amount != remaining + held + captured + expired: ${show(g)}`);
    }
    const fromLog = logged.get(g.id) ?? {
      amount: 0,
      remaining: 0,
      held: 0,
      captured: 0,
      expired: 0,
    };
    const row = {
      amount: g.amount,
      remaining: g.remaining,
      held: g.held,
      captured: g.captured,
      expired: g.expired,
    };
    if (show(fromLog) !== show(row)) {
      fail(
        "I2",
        `grant #${g.seq} disagrees with its entry log: row ${show(row)}, log ${show(fromLog)}`,
      );
    }
    if (g.held !== (heldByGrant.get(g.id) ?? 0)) {
      fail(
        "I2",
        `grant #${g.seq} has ${g.held} held but the holds take ${heldByGrant.get(g.id) ?? 0} from it`,
      );
    }
  }
  const account = real.counters.filter((c) => c.scope === "account");
  const captured = real.grants.reduce((sum, g) => sum + g.captured, 0);
  const counted = account.reduce((sum, c) => sum + c.captured, 0);
  if (captured !== counted)
    fail("I2", `grants captured ${captured}, the period counters ${counted}`);
  const held = real.holds.reduce((sum, h) => sum + h.amount, 0);
  const heldCounted = account.reduce((sum, c) => sum + c.held, 0);
  if (held !== heldCounted) fail("I2", `holds hold ${held}, the period counters ${heldCounted}`);
}

/** Outbox and D1 together, one entry per event id (an event may be in both after a lost ack). */
function allEvents(real: RealState): RealEvent[] {
  const byId = new Map<string, RealEvent>();
  for (const e of [...real.d1, ...real.outbox]) {
    const seen = byId.get(e.id);
    if (
      seen &&
      (seen.requestId !== e.requestId || seen.credits !== e.credits || seen.outcome !== e.outcome)
    ) {
      fail("I5", `event ${e.id} differs between D1 and the outbox: ${show(seen)} vs ${show(e)}`);
    }
    byId.set(e.id, e);
  }
  return [...byId.values()];
}

/** I3: a key is charged at most once per 24 h: its captured events lie at least that far apart. */
function atMostOnce(events: RealEvent[]) {
  const byKey = new Map<string, number[]>();
  for (const e of events) {
    if (e.outcome !== "captured" || e.idempotencyKey === null) continue;
    byKey.set(e.idempotencyKey, [...(byKey.get(e.idempotencyKey) ?? []), Date.parse(e.occurredAt)]);
  }
  for (const [key, times] of byKey) {
    times.sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) {
      const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
      if (gap < IDEMPOTENCY_TTL_MS)
        fail("I3", `Idempotency-Key ${key} was charged twice ${gap} ms apart`);
    }
  }
}

/** I4: only an upstream's 2xx answer is charged in on_success and metered modes; nothing else is. */
function noChargeWithoutService(events: RealEvent[]) {
  for (const e of events) {
    if (e.outcome !== "captured" && e.credits !== 0)
      fail("I4", `a ${e.outcome} event charged ${e.credits}: ${show(e)}`);
    if (e.outcome !== "captured" || simAction(e.action).settlement === "on_request") continue;
    if (e.upstreamStatus === null || e.upstreamStatus < 200 || e.upstreamStatus > 299) {
      fail("I4", `${e.action} was captured after upstream status ${e.upstreamStatus}: ${show(e)}`);
    }
  }
}

/**
 * I5: exactly one event per decided request across outbox and D1, D1's captured credits per
 * period equal the ledger's once flushed, and nothing waits in the outbox without an alarm.
 */
function completeRecord(real: RealState, events: RealEvent[]) {
  const ids = new Map<string, string>();
  for (const e of events) {
    const other = ids.get(e.requestId);
    if (other !== undefined)
      fail("I5", `request ${e.requestId} has two usage events (${other}, ${e.id})`);
    ids.set(e.requestId, e.id);
  }
  const recorded = new Map<string, number>();
  for (const e of events) {
    if (e.outcome === "captured")
      recorded.set(e.periodStart, (recorded.get(e.periodStart) ?? 0) + e.credits);
  }
  for (const c of real.counters.filter((x) => x.scope === "account")) {
    const period = iso(c.period_start) ?? "";
    if ((recorded.get(period) ?? 0) !== c.captured) {
      fail(
        "I5",
        `period ${period}: the ledger captured ${c.captured}, the usage events say ${recorded.get(period) ?? 0}`,
      );
    }
    recorded.delete(period);
  }
  for (const [period, credits] of recorded) {
    if (credits !== 0)
      fail("I5", `usage events charge ${credits} in period ${period}, the ledger nothing`);
  }
  if ((real.outbox.length > 0 || real.holds.length > 0) && real.alarm === null) {
    fail(
      "I5",
      `${real.outbox.length} event(s) and ${real.holds.length} hold(s) wait, but no alarm is set`,
    );
  }
}

/** The model-free checks of I1-I5. */
export function checkInvariants(real: RealState) {
  noOverspend(real);
  conservation(real);
  const events = allEvents(real);
  atMostOnce(events);
  noChargeWithoutService(events);
  completeRecord(real, events);
}

/**
 * I1 for one admitted call: after it, none of the budgets it counts against is exceeded (a
 * budget lowered below what was already spent would have denied it).
 */
export function checkAdmittedWithin(
  real: RealState,
  period: number,
  scopes: [scope: string, id: string, limit: number | null][],
) {
  for (const [scope, id, limit] of scopes) {
    if (limit === null) continue;
    const c = real.counters.find(
      (x) => x.period_start === period && x.scope === scope && x.scope_id === id,
    );
    const used = (c?.captured ?? 0) + (c?.held ?? 0);
    if (used > limit)
      fail("I1", `the ${scope} budget of ${id} is ${limit}, but ${used} is spent or held`);
  }
}
