/**
 * A client's calls through the real gateway: fresh ones, retries with the same Idempotency-Key
 * (the upstream may behave differently this time), and the same key with another body.
 */

import { type Admission, type MEvent, settlementOf } from "../support/model/types";
import { creditsOf, reportedUnits, type SimAction, simAction } from "./actions";
import { checkAdmittedWithin, show, Violation } from "./checks";
import { add, type Outcome, type Sim, type Template } from "./driver";
import { send } from "./gateway";
import { expectedReply, type Seen, seen } from "./reply";
import { callerKey, headroom, PURPOSES, remember, scopesOf, template, termsOf } from "./requests";
import { chaosHeaders, planFor, planText, upstreamOf } from "./upstream";

/** Fresh calls: the cheap actions most, every settlement mode, plan and seat some. */
const CALL_ACTIONS = {
  "test.one": 14,
  "test.drain": 5,
  "test.metered": 8,
  "test.slow": 1,
  "test.refused": 2,
  "enrichment.company": 8,
  "record_refresh.company": 3,
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
function judge(text: string, action: SimAction, admission: Admission, got: Seen, want: Seen) {
  if (admission.kind === "replay" && !got.replayed) {
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
  if (admission.kind === "denied" && spendDenial.includes(admission.code) && admitted) {
    throw new Violation("I1", `${text}: admitted although the ${admission.rule} says no`);
  }
  if (show(got) !== show(want)) {
    throw new Violation(
      "model",
      `${text}: the client saw ${show(got)}, the model expects ${show(want)}`,
    );
  }
}

/** Sends one call through the gateway and the model, and compares what the client saw. */
async function callWith(
  sim: Sim,
  t: Template,
  caller: { secret: string; label: string },
  options: CallOptions,
  kind: string,
): Promise<Outcome> {
  const plan = planFor(sim, t.action, headroom(sim, caller.secret, t.action.id));
  const headers: Record<string, string> = {
    authorization: `Bearer ${caller.secret}`,
    ...chaosHeaders(plan),
  };
  if (t.body !== null) headers["content-type"] = "application/json";
  if (options.idemKey !== null) headers["idempotency-key"] = options.idemKey;
  if (options.purpose !== null) headers["x-credit-purpose"] = options.purpose;
  if (options.dryRun) headers["x-credit-dry-run"] = "true";
  const reply = await send(t.action.method, t.path, headers, t.body);
  const got = seen(reply);
  const requestId = reply.headers.get("x-request-id") ?? "";

  const m = sim.model;
  const terms = termsOf(t);
  const idem = options.idemKey === null ? null : { key: options.idemKey, fingerprint: t.identity };
  const request = {
    secret: caller.secret,
    terms,
    purpose: options.purpose,
    idem,
    dryRun: options.dryRun,
    requestId,
  };
  const admission = m.admit(request, sim.now);
  let charged = 0;
  if (admission.kind === "admitted") {
    const metered = (header: string | null) =>
      creditsOf(t.action, reportedUnits(header) ?? t.units);
    const ask = settlementOf(terms.settlement, terms.holdCredits, upstreamOf(plan), metered);
    const settled = m.settle(requestId, options.idemKey, ask, sim.now);
    charged = terms.settlement === "on_request" ? admission.charged : settled.charged;
  }
  const want = expectedReply(admission, charged, plan);
  add(sim.decisions, decisionOf(admission, m.events.get(requestId)));

  const text = [
    `${kind} ${t.action.id} u${t.units} ${caller.label}`,
    options.idemKey ? ` idem=${options.idemKey}` : "",
    options.purpose ? ` purpose=${options.purpose}` : "",
    options.dryRun ? " dry-run" : "",
    ` upstream=${planText(plan)} -> ${got.status}${got.code ? ` ${got.code}` : ""}`,
    ` charged ${got.charged}${got.replayed ? " replayed" : ""} (${requestId.slice(0, 8)})`,
  ].join("");
  const faults: string[] = [];
  if (admission.kind === "admitted") {
    if (plan.kind !== "answer") faults.push(`upstream_${plan.kind}`);
    else if (plan.status < 200 || plan.status > 299) faults.push("upstream_error_status");
  }
  const hold = admission.kind === "admitted" ? admission.hold : null;
  const period = m.periodStart ?? 0;
  return {
    text,
    faults,
    after: (real) => {
      if (hold) {
        checkAdmittedWithin(real, period, scopesOf(sim, hold.memberId, hold.teamId, hold.actionId));
      }
      judge(text, t.action, admission, got, want);
    },
  };
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
