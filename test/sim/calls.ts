/**
 * A client's calls through the real gateway: fresh ones, retries with the same Idempotency-Key
 * (the upstream may behave differently this time), and the same key with another body.
 */

import { runInDurableObject } from "cloudflare:test";
import type { AccountLedger } from "../../src/ledger/object";
import { normalizeKey } from "../support/model/records";
import {
  type Admission,
  type MEvent,
  type MRecordsRequest,
  settlementOf,
} from "../support/model/types";
import { creditsOf, DEDUPE_ACTIONS, reportedUnits, type SimAction, simAction } from "./actions";
import { checkAdmittedWithin, fail, show, Violation } from "./checks";
import { add, type Outcome, type Sim, type Template } from "./driver";
import { type Reply, send } from "./gateway";
import { KEY_POOLS, recordsRequest } from "./records";
import { expectedReply, refusedReply, type Seen, seen } from "./reply";
import { callerKey, headroom, PURPOSES, remember, scopesOf, template, termsOf } from "./requests";
import { chaosHeaders, type Plan, planFor, planText, upstreamOf } from "./upstream";

/** Fresh calls: the cheap actions most, every settlement mode, plan and seat some. */
const CALL_ACTIONS = {
  "test.one": 14,
  "test.drain": 5,
  "test.metered": 8,
  "test.slow": 1,
  "test.refused": 2,
  "enrichment.company": 8,
  "enrichment.contact": 4,
  "record_refresh.company": 5,
  "prospecting.intent": 3,
  "ai.generate": 3,
  "ai.agent_conversation": 2,
  "insights.smart_property": 2,
};

interface CallOptions {
  idemKey: string | null;
  purpose: string | null;
  dryRun: boolean;
}

/** How the model decided a call, for the summary: a denial's code, or what became of it. */
function decisionOf(admission: Admission, event: MEvent | undefined): string {
  if (admission.kind === "denied" || admission.kind === "idempotency") return admission.code;
  if (admission.kind !== "admitted") return admission.kind;
  return event?.reason === "capped_at_balance" ? "capped" : (event?.outcome ?? "on_request");
}

/**
 * What the client saw, judged after the state's own checks so that a failure names its
 * invariant where it can: a settled key not replayed (I3), an error answer charged (I4), a
 * call admitted past a budget or the balance (I1); then anything else the model disagrees with.
 */
function judge(
  text: string,
  action: SimAction,
  admission: Admission | null,
  got: Seen,
  want: Seen,
) {
  if (admission?.kind === "replay" && !got.replayed) {
    throw new Violation("I3", `${text}: a retry of a settled request was not replayed`);
  }
  const errorAnswer = !got.replayed && got.status >= 400;
  if (errorAnswer && action.settlement !== "on_request" && got.charged > 0) {
    throw new Violation("I4", `${text}: an error answer was charged`);
  }
  // Admitted: it reached the upstream (which answered, timed out or failed) or it charged.
  const admitted =
    got.charged > 0 || got.code === null || ["gateway_timeout", "bad_gateway"].includes(got.code);
  const spendDenial = ["budget_exhausted", "insufficient_credits"];
  if (admission?.kind === "denied" && spendDenial.includes(admission.code) && admitted) {
    throw new Violation("I1", `${text}: admitted although the ${admission.rule} says no`);
  }
  if (show(got) !== show(want)) {
    throw new Violation(
      "model",
      `${text}: the client saw ${show(got)}, the model expects ${show(want)}`,
    );
  }
}

/** A call ready to send: its request, what the upstream will do, and the model's records. */
interface Pending {
  t: Template;
  caller: { secret: string; label: string };
  options: CallOptions;
  kind: string;
  plan: Plan;
  headers: Record<string, string>;
  /** With dedupe: the records by key as the model reads them; null without (or refused). */
  records: MRecordsRequest | null;
  /** A record's key is not a string: the gateway refuses the call before the ledger. */
  refused: boolean;
  /** A 200 answer echoes what the upstream received (the records forwarded). */
  echo: boolean;
}

/** Builds the request of a call and hashes its record keys (to read the ledger's rows). */
async function pending(
  sim: Sim,
  t: Template,
  caller: { secret: string; label: string },
  options: CallOptions,
  kind: string,
  more: Record<string, string> = {},
): Promise<Pending> {
  const plan = planFor(sim, t.action, headroom(sim, caller.secret, t.action.id));
  const dedupe = t.action.dedupe;
  const records = dedupe && t.records ? recordsRequest(dedupe, t.records) : null;
  const refused = dedupe !== null && records === null;
  if (records) await sim.hashKeys(records.values);
  // A 200 answer of an action with dedupe echoes what the upstream received.
  const echo = dedupe !== null && plan.kind === "answer" && plan.status === 200 && !plan.units;
  const headers: Record<string, string> = {
    authorization: `Bearer ${caller.secret}`,
    ...chaosHeaders(plan, echo),
    ...more,
  };
  if (t.body !== null) headers["content-type"] = "application/json";
  if (options.idemKey !== null) headers["idempotency-key"] = options.idemKey;
  if (options.purpose !== null) headers["x-credit-purpose"] = options.purpose;
  if (options.dryRun) headers["x-credit-dry-run"] = "true";
  return { t, caller, options, kind, plan, headers, records, refused, echo };
}

/** Sends the call through the gateway. */
function sendCall(p: Pending): Promise<Reply> {
  return send(p.t.action.method, p.t.path, p.headers, p.t.body);
}

/** The model's admission of the call (as request `requestId`); null when refused before it. */
function admitModel(sim: Sim, p: Pending, requestId: string): Admission | null {
  if (p.refused) return null;
  const idem =
    p.options.idemKey === null ? null : { key: p.options.idemKey, fingerprint: p.t.identity };
  return sim.model.admit(
    {
      secret: p.caller.secret,
      terms: termsOf(p.t),
      purpose: p.options.purpose,
      idem,
      dryRun: p.options.dryRun,
      requestId,
      records: p.records,
    },
    sim.now,
  );
}

/** The model's settlement of an admitted call once its upstream answered; what it charged. */
function settleModel(sim: Sim, p: Pending, admission: Admission | null, requestId: string): number {
  if (admission?.kind !== "admitted") return 0;
  const terms = termsOf(p.t);
  const held = admission.hold.amount;
  const metered = (header: string | null) =>
    creditsOf(p.t.action, reportedUnits(header) ?? p.t.units);
  const ask = settlementOf(terms.settlement, held, upstreamOf(p.plan), metered);
  const settled = sim.model.settle(requestId, p.options.idemKey, ask, sim.now);
  return terms.settlement === "on_request" ? admission.charged : settled.charged;
}

/**
 * Dedupe (issue 16): what a call was charged agrees with the records it says it charged, at
 * the action's price: `X-Credits-Charged` = `X-Credits-Records-Charged` x price on a 2xx
 * answer (0 when every record was skipped). A failed call charges nothing (I4), whatever
 * records its answer says it would have charged.
 */
function checkRecordsCharged(text: string, p: Pending, reply: Reply, got: Seen) {
  const action = p.t.action;
  if (!action.dedupe || got.replayed || got.quote !== null) return;
  const header = reply.headers.get("x-credits-records-charged");
  if (got.status >= 200 && got.status <= 299 && got.code === null) {
    if (header === null) fail("dedupe", `${text}: a served call without X-Credits-Records-Charged`);
    const due = Number(header) === 0 ? 0 : creditsOf(action, Number(header));
    if (got.charged !== due)
      fail("dedupe", `${text}: charged ${got.charged} for ${header} record(s); ${due} is due`);
  }
}

/** What the client saw of a call, judged after the state's checks (see `judge`). */
function outcomeOf(
  sim: Sim,
  p: Pending,
  reply: Reply,
  admission: Admission | null,
  charged: number,
): Outcome {
  const got = seen(reply);
  const requestId = reply.headers.get("x-request-id") ?? "";
  const { t, options, plan } = p;
  const sent = t.records ? { records: t.records, echoed: p.echo } : null;
  const want =
    admission === null
      ? refusedReply("invalid_units", 400)
      : expectedReply(admission, charged, plan, sent);
  add(
    sim.decisions,
    admission === null ? "invalid_units" : decisionOf(admission, sim.model.events.get(requestId)),
  );
  // Dedupe coverage: the records skipped, by reason, as the model decided them.
  const decided = admission && "dedupe" in admission ? admission.dedupe : null;
  for (const k of decided?.skips ?? []) add(sim.decisions, `record_${k.reason}`);
  const text = [
    `${p.kind} ${t.action.id} u${t.units} ${p.caller.label}`,
    options.idemKey ? ` idem=${options.idemKey}` : "",
    options.purpose ? ` purpose=${options.purpose}` : "",
    options.dryRun ? " dry-run" : "",
    t.records ? ` records=${recordsText(t.records, t.action.dedupe?.key ?? "")}` : "",
    ` upstream=${planText(plan)} -> ${got.status}${got.code ? ` ${got.code}` : ""}`,
    ` charged ${got.charged}${got.replayed ? " replayed" : ""}`,
    got.records ? ` [${got.records}]` : "",
    ` (${requestId.slice(0, 8)})`,
  ].join("");
  const faults: string[] = [];
  if (admission?.kind === "admitted") {
    if (plan.kind !== "answer") faults.push(`upstream_${plan.kind}`);
    else if (plan.status < 200 || plan.status > 299) faults.push("upstream_error_status");
  }
  const hold = admission?.kind === "admitted" ? admission.hold : null;
  const period = sim.model.periodStart ?? 0;
  return {
    text,
    faults,
    after: (real) => {
      if (hold) {
        checkAdmittedWithin(real, period, scopesOf(sim, hold.memberId, hold.teamId, hold.actionId));
      }
      checkRecordsCharged(text, p, reply, got);
      judge(text, t.action, admission, got, want);
    },
  };
}

/** The records of a call in a trace line: each key as sent (JSON), `-` for none. */
function recordsText(records: readonly Record<string, unknown>[], field: string): string {
  return records.map((r) => (Object.hasOwn(r, field) ? JSON.stringify(r[field]) : "-")).join(",");
}

/** Sends one call through the gateway and the model, and compares what the client saw. */
async function callWith(
  sim: Sim,
  t: Template,
  caller: { secret: string; label: string },
  options: CallOptions,
  kind: string,
): Promise<Outcome> {
  const p = await pending(sim, t, caller, options, kind);
  const reply = await sendCall(p);
  const requestId = reply.headers.get("x-request-id") ?? "";
  const admission = admitModel(sim, p, requestId);
  const charged = settleModel(sim, p, admission, requestId);
  return outcomeOf(sim, p, reply, admission, charged);
}

/** A new call: any action, any caller, sometimes with an Idempotency-Key, a purpose, or dry-run. */
export async function freshCall(sim: Sim): Promise<Outcome> {
  const caller = callerKey(sim);
  const t = template(sim, simAction(sim.rng.weighted(CALL_ACTIONS)), caller.secret);
  let idemKey: string | null = null;
  if (sim.rng.chance(0.25)) {
    if (sim.idemPool.length > 0 && sim.rng.chance(0.3)) idemKey = sim.rng.pick(sim.idemPool).key;
    else {
      idemKey = `key-${sim.step}`;
      remember(sim, idemKey, t, caller.secret);
    }
  }
  const purpose = sim.rng.chance(0.3) ? sim.rng.pick(PURPOSES) : null;
  return callWith(sim, t, caller, { idemKey, purpose, dryRun: sim.rng.chance(0.05) }, "call");
}

/** The same request again with its Idempotency-Key (the upstream may behave differently this time). */
export async function retry(sim: Sim): Promise<Outcome> {
  // Often the latest key: its request may still be in flight (409) or just settled (replay).
  const latest = sim.idemPool[sim.idemPool.length - 1];
  const entry = latest && sim.rng.chance(0.3) ? latest : sim.rng.pick(sim.idemPool);
  const purpose = sim.rng.chance(0.3) ? sim.rng.pick(PURPOSES) : null;
  return callWith(
    sim,
    entry.template,
    { secret: entry.secret, label: "same-caller" },
    { idemKey: entry.key, purpose, dryRun: false },
    "retry",
  );
}

/** A known Idempotency-Key with another body or action: 422 while the key is remembered. */
export async function otherBody(sim: Sim): Promise<Outcome> {
  const entry = sim.rng.pick(sim.idemPool);
  let t = template(sim, entry.template.action, null, sim.rng.int(10, 99));
  if (t.identity === entry.template.identity)
    t = template(sim, simAction("test.one"), null, sim.rng.int(10, 99));
  return callWith(
    sim,
    t,
    { secret: entry.secret, label: "same-caller" },
    { idemKey: entry.key, purpose: null, dryRun: false },
    "other-body",
  );
}

/** The hold ids in the ledger now, with their requests (read inside the object). */
async function holdRows(sim: Sim): Promise<{ id: string; request_id: string }[]> {
  return runInDurableObject(sim.stub, (instance: AccountLedger, state) => {
    instance.clock = sim.clock;
    return state.storage.sql
      .exec<{ id: string; request_id: string }>("SELECT id, request_id FROM holds")
      .toArray()
      .map((r) => ({ ...r }));
  });
}

/** How long the first of two racing calls keeps its upstream busy. */
const RACE_DELAY_MS = 1200;

/**
 * A normalized key of the action's pool that the model holds as neither enriched nor in
 * flight, where there is one (else any key of the pool): a call with it charges it and takes it.
 */
export function freeKey(sim: Sim, action: SimAction): string {
  const d = action.dedupe;
  if (!d) throw new Error(`${action.id} has no dedupe`);
  const keys = (KEY_POOLS[d.key] ?? []).flatMap((k) => normalizeKey(k) ?? []);
  const free = keys.filter(
    (k) => sim.model.records.standing(d.group, k, d.windowMs, sim.now).kind === "free",
  );
  return sim.rng.pick(free.length > 0 ? free : keys);
}

/**
 * Two calls of an action with dedupe that share a key, the second sent while the first waits
 * on its upstream (its hold, and the keys it took, in flight): the second skips them as in
 * flight, or, sent with the first one's Idempotency-Key, is refused as in progress. The first
 * is admitted before the second is sent (its hold is seen in the ledger), and its upstream
 * answers long after the second is done, so the order is the seed's, not the scheduler's.
 */
export async function race(sim: Sim): Promise<Outcome> {
  const action = sim.rng.pick(DEDUPE_ACTIONS);
  // A key no call holds and none enriched, where there is one: the race is about it.
  const shared = freeKey(sim, action);
  const callerA = callerKey(sim);
  const ta = template(sim, action, callerA.secret, undefined, { valid: true, include: shared });
  let idemKey: string | null = null;
  if (sim.rng.chance(0.35)) {
    idemKey = `key-${sim.step}`;
    remember(sim, idemKey, ta, callerA.secret);
  }
  const a = await pending(
    sim,
    ta,
    callerA,
    { idemKey, purpose: null, dryRun: false },
    "race-first",
    { "x-chaos-delay-ms": String(RACE_DELAY_MS) },
  );
  // The second: the same request again (a client retrying too soon), or another call.
  const again = idemKey !== null && sim.rng.chance(0.5);
  // Often the same caller (a client's two tabs), so that both calls pass the same rules.
  const callerB = again || sim.rng.chance(0.6) ? callerA : callerKey(sim);
  const tb = again
    ? ta
    : template(sim, action, callerB.secret, undefined, { valid: true, include: shared });
  const b = await pending(
    sim,
    tb,
    callerB,
    { idemKey: again ? idemKey : null, purpose: null, dryRun: false },
    "race-second",
  );

  const before = new Set((await holdRows(sim)).map((h) => h.id));
  let firstDone = false;
  const firstReply = sendCall(a).finally(() => {
    firstDone = true;
  });
  // Until the first call's hold appears, or its answer (it was not admitted: no upstream wait).
  let held: { id: string; request_id: string } | undefined;
  while (!firstDone && !held) {
    held = (await holdRows(sim)).find((h) => !before.has(h.id));
    if (!held) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  let first: { reply: Reply; admission: Admission | null; charged: number } | null = null;
  let admissionA: Admission | null = null;
  if (held) {
    admissionA = admitModel(sim, a, held.request_id);
  } else {
    const reply = await firstReply;
    const requestId = reply.headers.get("x-request-id") ?? "";
    admissionA = admitModel(sim, a, requestId);
    first = { reply, admission: admissionA, charged: settleModel(sim, a, admissionA, requestId) };
  }

  const replyB = await sendCall(b);
  const requestB = replyB.headers.get("x-request-id") ?? "";
  const admissionB = admitModel(sim, b, requestB);
  const chargedB = settleModel(sim, b, admissionB, requestB);
  if (held && firstDone) {
    throw new Error(
      `race: the first call finished before the second was decided (over ${RACE_DELAY_MS} ms)`,
    );
  }

  if (!first) {
    const reply = await firstReply;
    const requestId = reply.headers.get("x-request-id") ?? "";
    if (held && requestId !== held.request_id) {
      throw new Error(`race: the hold seen was ${held.request_id}, the first call is ${requestId}`);
    }
    first = { reply, admission: admissionA, charged: settleModel(sim, a, admissionA, requestId) };
  }
  const oa = outcomeOf(sim, a, first.reply, first.admission, first.charged);
  const ob = outcomeOf(sim, b, replyB, admissionB, chargedB);
  return {
    text: `${oa.text} || while in flight: ${ob.text}`,
    faults: ["concurrent_call", ...(oa.faults ?? []), ...(ob.faults ?? [])],
    after: (real) => {
      oa.after?.(real);
      ob.after?.(real);
    },
  };
}

/**
 * A record's window ends: the clock moves to just before, at or just after the moment a key
 * the model holds as enriched stops being so, and a call with that key follows at once.
 */
export async function windowEdge(sim: Sim): Promise<Outcome> {
  const enriched: { action: SimAction; key: string; until: number }[] = [];
  for (const action of DEDUPE_ACTIONS) {
    const d = action.dedupe;
    if (!d) continue;
    for (const [key, r] of sim.model.records.groups.get(d.group) ?? []) {
      if (r.holder === null && r.enrichedAt !== null && r.enrichedAt + d.windowMs > sim.now) {
        enriched.push({ action, key, until: r.enrichedAt + d.windowMs });
      }
    }
  }
  if (enriched.length === 0) return freshCall(sim);
  const target = sim.rng.pick(enriched);
  const delta = sim.rng.pick([-1, 0, 0, 1, sim.rng.int(-1500, 1500)]);
  const from = sim.now;
  sim.now = Math.max(sim.now, target.until + delta);
  const caller = callerKey(sim);
  const t = template(sim, target.action, caller.secret, undefined, {
    valid: true,
    include: target.key,
  });
  const o = await callWith(sim, t, caller, { idemKey: null, purpose: null, dryRun: false }, "call");
  const shift = sim.now - target.until;
  return {
    ...o,
    text: `window-edge ${target.key} +${Math.round((sim.now - from) / 1000)}s (${shift >= 0 ? "+" : ""}${shift} ms from its end): ${o.text}`,
    faults: [
      ...(o.faults ?? []),
      shift < 0 ? "window_edge_before" : shift === 0 ? "window_edge_at" : "window_edge_after",
    ],
  };
}
