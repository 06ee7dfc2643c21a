/**
 * Admissions whose worker died before forwarding (by RPC, as only a worker could): the hold
 * waits for a settle that arrives late, or for its TTL and the alarm.
 */

import type { DedupeRequest } from "../../src/ledger/contract";
import { normalizeKey } from "../support/model/records";
import type { MDedupe, MRecordsRequest, SettleAsk } from "../support/model/types";
import { creditsOf, simAction } from "./actions";
import { freeKey, freshCall } from "./calls";
import { checkAdmittedWithin, show, Violation } from "./checks";
import type { Outcome, Sim } from "./driver";
import { fingerprintOf, sha256Hex } from "./gateway";
import { recordsRequest } from "./records";
import { callerKey, remember, scopesOf, template, termsOf } from "./requests";

const ORPHAN_ACTIONS = [
  "test.one",
  "test.metered",
  "test.drain",
  "enrichment.company",
  "enrichment.contact",
  "record_refresh.company",
];

/**
 * The records of a call as a worker hands them to the ledger (src/proxy/dedupe.ts's job,
 * written out): the distinct key hashes in the order they first appear, and how many records
 * have no key.
 */
function dedupeRequest(sim: Sim, r: MRecordsRequest): DedupeRequest {
  const keys: string[] = [];
  let unkeyed = 0;
  for (const value of r.values) {
    const key = normalizeKey(value);
    if (key === null) unkeyed += 1;
    else if (!keys.includes(sim.hashOf(key))) keys.push(sim.hashOf(key));
  }
  return { group: r.group, windowMs: r.windowMs, keys, unkeyed };
}

/**
 * What the ledger said of the records against the model: counts, credits saved, and which
 * keys it skipped (by hash) as enriched when, or in flight (null).
 */
function sameDedupe(
  sim: Sim,
  text: string,
  req: DedupeRequest | null,
  r: MRecordsRequest | null,
  got: {
    charged: number;
    skipped: number;
    saved: number;
    skippedKeys: { key: number; enrichedAt: number | null }[];
  } | null,
  want: MDedupe | null | undefined,
) {
  const mine = (d: NonNullable<typeof got>) => ({
    charged: d.charged,
    skipped: d.skipped,
    saved: d.saved,
    keys: d.skippedKeys.map((k) => [req?.keys[k.key], k.enrichedAt]).sort(),
  });
  const theirs = (d: MDedupe) => ({
    charged: d.charged,
    skipped: d.skipped,
    saved: d.saved,
    keys: d.skips
      .filter((k) => k.reason !== "repeated")
      .map((k) => [
        sim.hashOf(normalizeKey(r?.values[k.index] ?? null) ?? ""),
        k.reason === "enriched" ? k.enrichedAt : null,
      ])
      .sort(),
  });
  const a = got ? show(mine(got)) : null;
  const b = want ? show(theirs(want)) : null;
  if (a !== b) throw new Violation("model", `${text}: dedupe ${a}, the model expects ${b}`);
}

/** An admission whose worker died before forwarding: the hold waits for a settle or its TTL. */
export async function orphan(sim: Sim): Promise<Outcome> {
  const caller = callerKey(sim);
  // Only a worker that authenticated the key reaches the ledger with it.
  if (caller.label === "unknown-key") return freshCall(sim);
  // A worker admits only records whose keys it could read: no key that is not a string. Often
  // with a key nobody holds yet, which the orphan's hold then keeps in flight until it settles
  // or expires (the calls meeting it meanwhile skip it).
  const action = simAction(sim.rng.pick(ORPHAN_ACTIONS));
  const include = action.dedupe && sim.rng.chance(0.7) ? freeKey(sim, action) : null;
  const t = template(sim, action, caller.secret, undefined, { valid: true, include });
  const a = t.action;
  const records = a.dedupe && t.records ? recordsRequest(a.dedupe, t.records) : null;
  if (a.dedupe && !records) throw new Error(`orphan ${a.id}: a record key is not a string`);
  if (records) await sim.hashKeys(records.values);
  const dedupe = records ? dedupeRequest(sim, records) : null;
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
    dedupe,
  });
  const admission = sim.model.admit(
    {
      secret: caller.secret,
      terms,
      purpose: null,
      idem: idem && { key: idem.key, fingerprint: t.identity },
      dryRun: false,
      requestId,
      records,
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
  if (real.kind === "skipped" && admission.kind === "skipped") {
    sameDedupe(sim, text, dedupe, records, real.dedupe, admission.dedupe);
    return { text };
  }
  if (real.kind !== "admitted" || admission.kind !== "admitted") return { text };
  sameDedupe(sim, text, dedupe, records, real.dedupe, admission.dedupe);
  // With dedupe the hold is for the records charged: what the model decided of them.
  const holdCredits = a.dedupe ? admission.hold.amount : terms.holdCredits;
  const want = {
    held: a.settlement === "on_request" ? 0 : holdCredits,
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
    units: admission.dedupe ? admission.dedupe.charged : t.units,
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
