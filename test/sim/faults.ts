/**
 * Time and faults: the clock moves (seconds, past a hold's TTL, days, into the next period);
 * alarms fire late or twice; D1 refuses usage events, or takes them while the acknowledgement is
 * lost; the object is evicted and restarts between any two steps.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { AccountLedger } from "../../src/ledger/object";
import type { UsageEvent } from "../../src/usage/event";
import { insertUsageEvents } from "../../src/usage/flush";
import { HOLD_TTL_MS } from "../support/model/types";
import { Violation } from "./checks";
import type { Outcome, Sim } from "./driver";

const SECOND = 1000;
const DAY = 86_400_000;

function advance(sim: Sim, ms: number, label: string): Outcome {
  sim.now += ms;
  return { text: `${label} +${Math.round(ms / SECOND)}s -> ${new Date(sim.now).toISOString()}` };
}

/** Seconds pass; rate windows slide. */
export const passTime = (sim: Sim) => advance(sim, sim.rng.int(1, 30) * SECOND, "time");
/** Past a hold's time-to-live: the next decision or alarm voids it. */
export const passHoldTtl = (sim: Sim) =>
  advance(sim, HOLD_TTL_MS + sim.rng.int(1, 240) * SECOND, "past-hold-ttl");
/** Days pass: grants lapse, idempotency keys are forgotten. */
export const passDays = (sim: Sim) => advance(sim, sim.rng.int(1, 7) * DAY, "days");

/** To just past the period's end: the next decision (or alarm) rolls it. */
export function rollPeriod(sim: Sim): Outcome {
  const end = sim.model.periodEnd ?? sim.now;
  return advance(sim, Math.max(0, end - sim.now) + sim.rng.int(0, 3600) * SECOND, "period-roll");
}

/**
 * The model's side of an alarm: housekeeping, then a flush that D1 takes unless it is down.
 * Returns the faults it met (a flush that failed with events waiting).
 */
function alarmRan(sim: Sim): string[] {
  sim.model.tick(sim.now);
  if (sim.d1Down) return sim.model.waiting() > 0 ? ["flush_failed"] : [];
  sim.model.flushed();
  return [];
}

/**
 * The scheduled alarm, maybe late (the clock moved past its time first): often just past the
 * oldest hold's TTL, where the alarm must void it.
 */
export async function alarm(sim: Sim): Promise<Outcome> {
  const oldest = Math.min(...sim.model.holds.map((h) => h.expiresAt));
  const kind = sim.rng.weighted({ due: 50, ttl: Number.isFinite(oldest) ? 30 : 0, random: 20 });
  const late =
    kind === "due"
      ? 0
      : kind === "ttl"
        ? Math.max(0, oldest - sim.now) + sim.rng.int(0, 3) * SECOND
        : sim.rng.int(1, 2 * HOLD_TTL_MS);
  sim.now += late;
  const ran = await runDurableObjectAlarm(sim.stub);
  const faults = [...(late > 0 ? ["alarm_late"] : []), ...(ran ? alarmRan(sim) : [])];
  return {
    text: `alarm${late ? ` late by ${Math.round(late / SECOND)}s` : ""} ran=${ran}`,
    faults,
  };
}

/** The alarm handler again with no alarm due: delivery is at least once. */
export async function alarmTwice(sim: Sim): Promise<Outcome> {
  await runInDurableObject(sim.stub, (instance: AccountLedger) => instance.alarm());
  return { text: "alarm fired again", faults: ["alarm_twice", ...alarmRan(sim)] };
}

/** A flush on demand: with D1 up it empties the outbox, with D1 down it keeps every event (I5). */
export async function flush(sim: Sim): Promise<Outcome> {
  const waiting = sim.model.waiting();
  const result = await sim.stub.flush();
  const text = `flush (D1 ${sim.d1Down ? "down" : "up"}) -> flushed ${result.flushed}, pending ${result.pending}${
    result.error ? `, error ${result.error.slice(0, 60)}` : ""
  }`;
  const failing = sim.d1Down && waiting > 0;
  const want = failing ? { flushed: 0, pending: waiting } : { flushed: waiting, pending: 0 };
  if (
    result.flushed !== want.flushed ||
    result.pending !== want.pending ||
    (result.error !== null) !== failing
  ) {
    throw new Violation(
      "I5",
      `${text}: expected ${JSON.stringify(want)} ${failing ? "with" : "without"} an error`,
    );
  }
  if (!sim.d1Down) sim.model.flushed();
  return { text, faults: failing ? ["flush_failed"] : [] };
}

/** D1 goes down for this account's usage events, or comes back. */
export async function toggleD1(sim: Sim): Promise<Outcome> {
  await sim.setD1(!sim.d1Down);
  return { text: `D1 ${sim.d1Down ? "down" : "up"}`, faults: sim.d1Down ? ["d1_outage"] : [] };
}

/**
 * A flush whose D1 write landed but whose acknowledgement was lost (the object died in
 * between): the events are in D1 and still in the outbox, and the next flush must not
 * duplicate them.
 */
export async function lostAck(sim: Sim): Promise<Outcome> {
  const events = await runInDurableObject(sim.stub, (_: AccountLedger, state) =>
    state.storage.sql
      .exec<{ seq: number; payload: string }>("SELECT seq, payload FROM outbox ORDER BY seq")
      .toArray()
      .map((r) => ({ ...(JSON.parse(r.payload) as Omit<UsageEvent, "seq">), seq: r.seq })),
  );
  await insertUsageEvents(env.DB, events);
  sim.model.copiedWithoutAck();
  return {
    text: `flush without ack: ${events.length} event(s) in D1 and still in the outbox`,
    faults: ["lost_ack"],
  };
}

/** The object is evicted: in-memory state is gone, storage and the alarm stay. */
export async function evict(sim: Sim): Promise<Outcome> {
  await runInDurableObject(sim.stub, (_: AccountLedger, state) => state.abort("evict")).catch(
    () => {},
  );
  return { text: "evict", faults: ["eviction"] };
}
