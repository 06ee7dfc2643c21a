/**
 * The ledger's half of reconciliation (SPEC §5 /usage/reconcile): the period's captured credits
 * from the counters the ledger keeps, and the captured credits still waiting in the outbox.
 */

import { addTo, type CapturedTotals, emptyTotals } from "../../usage/reconcile";
import { lastConfirmedSeq } from "./outbox";

/** Captured credits of a period by the ledger's own counters (per action and per team). */
export function ledgerCaptured(sql: SqlStorage, periodStart: number): CapturedTotals {
  const totals = emptyTotals();
  const rows = sql
    .exec<{ scope: string; scope_id: string; captured: number }>(
      "SELECT scope, scope_id, captured FROM counters WHERE period_start = ? AND scope IN ('account', 'action', 'team')",
      periodStart,
    )
    .toArray();
  for (const r of rows) {
    if (r.captured === 0) continue;
    // The account's total is its action rows plus what its own row keeps (ledger V13).
    if (r.scope === "account") totals.credits += r.captured;
    else if (r.scope === "action") {
      totals.byAction[r.scope_id] = r.captured;
      totals.credits += r.captured;
    } else totals.byTeam[r.scope_id] = r.captured;
  }
  return totals;
}

/** Captured credits of a period in events not yet copied to D1, and how many events wait. */
export function pendingCaptured(
  sql: SqlStorage,
  periodStartIso: string,
): { totals: CapturedTotals; events: number } {
  const totals = emptyTotals();
  const rows = sql
    .exec<{ action: string; team: string | null; credits: number; n: number }>(
      `SELECT json_extract(payload, '$.action') AS action, json_extract(payload, '$.teamId') AS team,
         SUM(json_extract(payload, '$.credits')) AS credits, COUNT(*) AS n
       FROM outbox
       WHERE json_extract(payload, '$.periodStart') = ? AND json_extract(payload, '$.outcome') = 'captured'
       GROUP BY action, team`,
      periodStartIso,
    )
    .toArray();
  let events = 0;
  for (const r of rows) {
    addTo(totals, r.action, r.team, Number(r.credits));
    events += Number(r.n);
  }
  return { totals, events };
}

/**
 * The seq below which every event of this ledger is in D1 and out of the outbox: the oldest
 * waiting event's, or the next one to be written when none waits. The ledger flushes in seq
 * order and removes events only once D1 has them, so D1 holds exactly the events below it, plus
 * perhaps some at or above it that are also still waiting (a flush in flight, or one whose
 * acknowledgement was lost): those count as pending, never twice.
 */
export function flushedBelow(sql: SqlStorage): number {
  const waiting = sql.exec<{ s: number | null }>("SELECT MIN(seq) AS s FROM outbox").one().s;
  if (waiting !== null) return waiting;
  return lastConfirmedSeq(sql) + 1;
}
