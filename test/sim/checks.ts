/**
 * The invariants of SPEC §6 (I1-I5), checked on the real state after every step without the
 * model: whatever happened, the books must balance. (agreement.ts then compares them with the
 * model: they must also say what the product's rules say should have happened.)
 */

import { bucketsFromEntries } from "../support/entries";
import { priceOf } from "../support/model/records";
import { IDEMPOTENCY_TTL_MS } from "../support/model/types";
import { DEDUPE_WINDOWS, simAction } from "./actions";
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
    // Dedupe: a call whose every record was skipped is served without the upstream, so it
    // is recorded as captured with no upstream status; it must then charge nothing at all.
    if (e.reason === "deduplicated") {
      if (
        simAction(e.action).dedupe === null ||
        e.credits !== 0 ||
        e.units !== 0 ||
        e.recordsCharged !== 0 ||
        e.recordKeys !== "[]" ||
        e.upstreamStatus !== null
      ) {
        fail("I4", `a deduplicated call charged or reached the upstream: ${show(e)}`);
      }
      continue;
    }
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

/** The key hashes of an event's records charged, or null for an event without dedupe. */
export function keysOf(e: RealEvent): string[] | null {
  return e.recordKeys === null ? null : (JSON.parse(e.recordKeys) as string[]);
}

/**
 * Dedupe (issue 16), from the usage events alone: no record key of a group is charged twice
 * within the group's window (captured events charging one key lie at least a window apart;
 * the events' time is the capture's, which is when the key became enriched); a call charges
 * each key once; and what a call with dedupe charged is its records charged x the price, what
 * it saved the skipped ones x the price.
 */
function onceWithinWindow(events: RealEvent[]) {
  const charges = new Map<string, { at: number; requestId: string }[]>();
  for (const e of events) {
    const action = simAction(e.action);
    const keys = keysOf(e);
    if (!action.dedupe) {
      if (keys !== null || e.recordsCharged !== null)
        fail("dedupe", `${e.action} has no dedupe but its event has records: ${show(e)}`);
      continue;
    }
    if (e.outcome === "denied") continue;
    if (keys === null || e.recordsCharged === null || e.recordsSkipped === null) {
      fail("dedupe", `a ${e.outcome} event of ${e.action} has no records: ${show(e)}`);
    }
    if (new Set(keys).size !== keys.length) fail("dedupe", `one call took a key twice: ${show(e)}`);
    if (keys.length > e.recordsCharged || e.units !== e.recordsCharged) {
      fail(
        "dedupe",
        `records charged ${e.recordsCharged}, units ${e.units}, keys ${keys.length}: ${show(e)}`,
      );
    }
    const price = action.declared;
    const saved =
      priceOf(price, e.recordsCharged + e.recordsSkipped) - priceOf(price, e.recordsCharged);
    if (e.creditsSaved !== saved)
      fail(
        "dedupe",
        `credits saved ${e.creditsSaved}, the skipped records cost ${saved}: ${show(e)}`,
      );
    if (e.outcome !== "captured") continue;
    const due = e.reason === "deduplicated" ? 0 : priceOf(price, e.recordsCharged);
    if (e.credits !== due) {
      fail(
        "dedupe",
        `${e.requestId} charged ${e.credits} for ${e.recordsCharged} record(s) at ${show(price)}: ${due} due`,
      );
    }
    for (const key of keys) {
      const id = `${action.dedupe.group}|${key}`;
      charges.set(id, [
        ...(charges.get(id) ?? []),
        { at: Date.parse(e.occurredAt), requestId: e.requestId },
      ]);
    }
  }
  for (const [id, list] of charges) {
    const [group = ""] = id.split("|");
    const window = DEDUPE_WINDOWS.get(group) ?? 0;
    list.sort((a, b) => a.at - b.at);
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1];
      const b = list[i];
      if (a && b && b.at - a.at < window) {
        fail(
          "dedupe",
          `key ${id} was charged twice within its ${window / 86_400_000}-day window: by ${a.requestId} at ${iso(a.at)} and ${b.requestId} at ${iso(b.at)}`,
        );
      }
    }
  }
}

/**
 * Dedupe in the ledger's own tables: a key taken by a call is taken by a hold that exists and
 * lists it (a voided or expired hold gave its keys back), and every hold's keys are taken by it.
 */
function keysHeldByHolds(real: RealState) {
  const holds = new Map(real.holds.map((h) => [h.id, h]));
  const taken = new Set<string>();
  for (const row of real.dedupeKeys) {
    if (row.hold_id === null) continue;
    const hold = holds.get(row.hold_id);
    const d = hold?.dedupe ? (JSON.parse(hold.dedupe) as { group: string; keys: string[] }) : null;
    if (!hold || !d || d.group !== row.grp || !d.keys.includes(row.record)) {
      fail(
        "dedupe",
        `key ${row.grp}|${row.record} is taken by hold ${row.hold_id}, which ${hold ? "does not list it" : "is gone (its keys were not given back)"}`,
      );
    }
    taken.add(`${row.grp}|${row.record}|${row.hold_id}`);
  }
  for (const h of real.holds) {
    if (!h.dedupe) continue;
    const d = JSON.parse(h.dedupe) as { group: string; keys: string[] };
    for (const key of d.keys) {
      if (!taken.has(`${d.group}|${key}|${h.id}`))
        fail(
          "dedupe",
          `hold ${h.request_id} took ${d.group}|${key}, but the key is not taken by it`,
        );
    }
  }
}

/** The model-free checks of I1-I5, and of dedupe (issue 16). */
export function checkInvariants(real: RealState) {
  noOverspend(real);
  conservation(real);
  const events = allEvents(real);
  atMostOnce(events);
  noChargeWithoutService(events);
  completeRecord(real, events);
  onceWithinWindow(events);
  keysHeldByHolds(real);
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
