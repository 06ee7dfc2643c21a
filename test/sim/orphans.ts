/**
 * Admissions whose worker died before forwarding (by RPC, as only a worker could): the hold
 * waits for a settle that arrives late, or for its TTL and the alarm.
 */

import type { SettleAsk } from "../support/model/types";
import { creditsOf, simAction } from "./actions";
import { freshCall } from "./calls";
import { checkAdmittedWithin, Violation } from "./checks";
import type { Outcome, Sim } from "./driver";
import { fingerprintOf, sha256Hex } from "./gateway";
import { callerKey, remember, scopesOf, template, termsOf } from "./requests";

const ORPHAN_ACTIONS = ["test.one", "test.metered", "test.drain", "enrichment.company"];

/** An admission whose worker died before forwarding: the hold waits for a settle or its TTL. */
export async function orphan(sim: Sim): Promise<Outcome> {
  const caller = callerKey(sim);
  // Only a worker that authenticated the key reaches the ledger with it.
  if (caller.label === "unknown-key") return freshCall(sim);
  const t = template(sim, simAction(sim.rng.pick(ORPHAN_ACTIONS)), caller.secret);
  const a = t.action;
  let idem: { key: string; fingerprint: string } | null = null;
  if (sim.rng.chance(0.4)) {
    idem = {
      key: `key-${sim.step}`,
      fingerprint: await fingerprintOf(a.method, a.id, a.params ?? {}, t.path, t.body),
    };
    remember(sim, idem.key, t, caller.secret);
  }
  const requestId = `orphan-${sim.seed}-${sim.step}`;
  const terms = termsOf(t);
  const real = await sim.stub.admit({
    keyHash: await sha256Hex(caller.secret),
    requestId,
    action: terms,
    purpose: null,
    idempotency: idem,
    dryRun: false,
  });
  const admission = sim.model.admit(
    {
      secret: caller.secret,
      terms,
      purpose: null,
      idem: idem && { key: idem.key, fingerprint: t.identity },
      dryRun: false,
      requestId,
    },
    sim.now,
  );
  const gotKind = real.kind === "denied" ? real.problem.code : real.kind;
  const wantKind =
    admission.kind === "denied" || admission.kind === "idempotency"
      ? admission.code
      : admission.kind;
  const text = `orphan ${a.id} u${t.units} ${caller.label}${idem ? ` idem=${idem.key}` : ""} -> ${gotKind} (${requestId})`;
  if (gotKind !== wantKind) throw new Violation("model", `${text}: the model expects ${wantKind}`);
  if (real.kind !== "admitted" || admission.kind !== "admitted") return { text };
  const want = {
    held: a.settlement === "on_request" ? 0 : terms.holdCredits,
    charged: admission.charged,
  };
  if (real.held !== want.held || real.charged !== want.charged) {
    throw new Violation(
      "model",
      `${text}: held ${real.held} charged ${real.charged}, model ${JSON.stringify(want)}`,
    );
  }
  sim.orphans.push({
    requestId,
    holdId: real.holdId,
    action: a,
    units: t.units,
    idemKey: idem?.key ?? null,
  });
  const hold = admission.hold;
  const period = sim.model.periodStart ?? 0;
  return {
    text,
    faults: ["lost_settle"],
    after: (state) =>
      checkAdmittedWithin(state, period, scopesOf(sim, hold.memberId, hold.teamId, hold.actionId)),
  };
}

/** The settle of an orphan arrives at last: maybe after its TTL, its period, or its hold's void. */
export async function lateSettle(sim: Sim): Promise<Outcome> {
  const o = sim.orphans.splice(sim.rng.int(0, sim.orphans.length - 1), 1)[0];
  if (!o) throw new Error("late_settle without an orphan");
  const capture = sim.rng.chance(0.65);
  const reported = o.action.price.metered
    ? sim.rng.int(0, (o.action.price.maxUnits ?? 1) * 2)
    : o.units;
  const failure = sim.rng.pick(["upstream_status", "timeout", "connection_error"] as const);
  const s: SettleAsk = capture
    ? {
        decision: "capture",
        credits: creditsOf(o.action, reported),
        upstreamStatus: 200,
        failure: null,
      }
    : {
        decision: "void",
        credits: 0,
        upstreamStatus: failure === "upstream_status" ? 500 : null,
        failure,
      };
  const real = await sim.stub.settle({
    holdId: o.holdId,
    idempotencyKey: o.idemKey,
    decision: s.decision,
    credits: s.credits,
    units: reported,
    upstreamStatus: s.upstreamStatus,
    failure: capture ? null : failure,
    durationMs: 1,
  });
  const want = sim.model.settle(o.requestId, o.idemKey, s, sim.now);
  const text = `late-settle ${o.requestId} ${s.decision}${capture ? ` ${s.credits}` : ` ${failure}`} -> settled=${real.settled} charged ${real.charged}`;
  if (real.settled !== want.settled || real.charged !== want.charged) {
    throw new Violation("model", `${text}: the model expects ${JSON.stringify(want)}`);
  }
  return { text, faults: ["late_settle"] };
}
