/** What the chaos upstream is told to do for a call, and how the gateway sees the result. */

import type { Upstream } from "../support/model/types";
import type { SimAction } from "./actions";
import type { Sim } from "./driver";

/** What the chaos upstream is told to do (test/support/chaos-upstream.ts). */
export type Plan =
  | { kind: "answer"; status: number; units: string | null }
  | { kind: "throw" }
  | { kind: "timeout" }
  | { kind: "refused" };

/**
 * The units a metered upstream reports: within the estimate held, past it, around what the
 * caller may still spend (the capture is then capped at the balance or a budget: I1), absent,
 * or malformed (then the estimate is charged).
 */
function unitsHeader(sim: Sim, action: SimAction, room: number): string | null {
  const max = action.price.maxUnits ?? 1;
  const kind = sim.rng.weighted({ within: 35, over: 15, edge: 30, none: 15, malformed: 5 });
  if (kind === "none") return null;
  if (kind === "malformed") return sim.rng.pick(["-3", "12abc", "1e3", "0x10"]);
  if (kind === "edge") {
    const units =
      (room + sim.rng.int(-2, 2)) * action.price.per + sim.rng.int(0, action.price.per - 1);
    return String(Math.max(0, units));
  }
  return String(kind === "within" ? sim.rng.int(0, max) : sim.rng.int(max + 1, max * 2));
}

/** `room`: what the caller may still spend on the action (see requests.ts `headroom`). */
export function planFor(sim: Sim, action: SimAction, room: number): Plan {
  if (action.id === "test.refused") return { kind: "refused" };
  // test.slow times out at 300 ms: it is only ever called to time out, far past that.
  if (action.id === "test.slow") return { kind: "timeout" };
  const kind = sim.rng.weighted({ ok: 80, other2xx: 3, client: 5, server: 7, throw: 5 });
  if (kind === "throw") return { kind };
  const status =
    kind === "ok"
      ? 200
      : sim.rng.pick(
          kind === "other2xx" ? [201, 204] : kind === "client" ? [400, 404, 429] : [500, 502, 503],
        );
  return {
    kind: "answer",
    status,
    units: action.price.metered ? unitsHeader(sim, action, room) : null,
  };
}

/**
 * The request headers that steer the chaos upstream to `plan`; with `echo`, a 200 answer echoes
 * what the upstream received (the records forwarded, for an action with dedupe).
 */
export function chaosHeaders(plan: Plan, echo = false): Record<string, string> {
  switch (plan.kind) {
    case "answer":
      if (echo && plan.status === 200 && plan.units === null) return { "x-chaos-echo": "1" };
      return {
        "x-chaos-status": String(plan.status),
        ...(plan.units === null ? {} : { "x-chaos-usage-units": plan.units }),
      };
    case "throw":
      return { "x-chaos-throw": "1" };
    case "timeout":
      return { "x-chaos-delay-ms": "1500" };
    case "refused":
      return {};
  }
}

/** What the gateway sees of `plan`: an answer, a timeout or a connection error. */
export function upstreamOf(plan: Plan): Upstream {
  if (plan.kind === "answer")
    return { kind: "answer", status: plan.status, unitsHeader: plan.units };
  return plan.kind === "timeout" ? { kind: "timeout" } : { kind: "connection_error" };
}

/** `plan` in a trace line. */
export function planText(plan: Plan): string {
  if (plan.kind !== "answer") return plan.kind;
  return plan.units === null ? String(plan.status) : `${plan.status}/units=${plan.units}`;
}
