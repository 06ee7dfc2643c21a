/**
 * Step 5: what a call costs once the upstream has answered, per the action's settlement mode and
 * at the price it was admitted at.
 */
import { type Action, creditsFor, type Price, parseReportedUnits } from "../catalog";
import type { SettleRequest } from "../ledger/contract";
import type { UpstreamResult } from "./forward";

/**
 * I4: in `on_success` and `metered` modes only a 2xx answer is charged. `on_request` was
 * captured at admission; its settle call only records the upstream's status.
 */
export function settlementFor(
  action: Action,
  price: Price,
  holdId: string,
  units: number,
  holdCredits: number,
  idempotencyKey: string | null,
  result: UpstreamResult,
): SettleRequest {
  const base = { holdId, idempotencyKey, units, durationMs: result.ms };
  if (!result.ok) {
    return { ...base, decision: "void", credits: 0, upstreamStatus: null, failure: result.failure };
  }
  const status = result.response.status;
  const success = status >= 200 && status < 300;
  if (action.settlement === "on_request") {
    return {
      ...base,
      decision: "capture",
      credits: holdCredits,
      upstreamStatus: status,
      failure: null,
    };
  }
  if (!success) {
    return {
      ...base,
      decision: "void",
      credits: 0,
      upstreamStatus: status,
      failure: "upstream_status",
    };
  }
  if (action.settlement === "metered") {
    // The upstream reports what it used; without a report the estimate held is charged.
    const reported = parseReportedUnits(price, result.response.headers);
    const used = reported ?? units;
    return {
      ...base,
      units: used,
      decision: "capture",
      credits: creditsFor(price, used),
      upstreamStatus: status,
      failure: null,
    };
  }
  return {
    ...base,
    decision: "capture",
    credits: holdCredits,
    upstreamStatus: status,
    failure: null,
  };
}
