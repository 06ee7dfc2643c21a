/**
 * Demo only (`DEMO_HISTORY=true`, which `npm start` sets): replays calls at past times through
 * the same admit and settle decisions as live traffic, so a new demo account has weeks of
 * history in its ledger, counters and usage events. The whole replay runs synchronously, one
 * transaction per decision at the call's own time; the object's clock is never moved, so no
 * live call sees the past. The account's creation time moves back to the first call, so burn
 * rates measure the history.
 */
import { admit } from "./admission";
import type { HistoryCall, ReplayResult, SettleRequest } from "./contract";
import { settle } from "./settlement";
import type { LedgerState } from "./state";
import { backdateAccount } from "./store/account";
import type { Transactions } from "./transaction";

export function replayHistory(
  state: LedgerState,
  tx: Transactions,
  calls: readonly HistoryCall[],
): ReplayResult {
  let admitted = 0;
  let denied = 0;
  try {
    const first = calls[0]?.at;
    if (first !== undefined) tx.run(() => backdateAccount(state.sql, first));
    for (const call of calls) {
      const result = tx.runAt(call.at, (now) => admit(state, call.admit, now), {
        requestPath: true,
      });
      if (result.kind !== "admitted") {
        denied += 1;
        continue;
      }
      admitted += 1;
      // Every admitted call is settled as the proxy settles it (an on_request one records
      // its upstream status; its credits were captured at admission).
      const settlement: SettleRequest = {
        holdId: result.holdId,
        idempotencyKey: null,
        decision: "capture",
        credits: call.credits,
        units: call.units,
        upstreamStatus: 200,
        failure: null,
        durationMs: call.durationMs,
      };
      tx.runAt(call.at + call.durationMs, (now) => settle(state, settlement, now), {
        requestPath: true,
      });
    }
  } finally {
    // The read cache saw the past (spend per hour): the next call reads the present again.
    state.forget();
  }
  return { admitted, denied };
}
