/** What the forecast reads of the ledger: credits really charged in a recent window. */
import { RECENT_WINDOW_MS } from "../core/forecast";

/**
 * Credits captured in [now - 7 days, now], from the ledger's entries. Only capture entries
 * charge: a partial capture writes a capture entry for the part charged and a void for the
 * rest, a metered overrun a hold and a capture, so their sum is exactly what was charged.
 * Voids, expiries, issues and adjustments are not spend. One range read of `entries_captures_at`.
 */
export function capturedLast7Days(sql: SqlStorage, now: number): number {
  return sql
    .exec<{ n: number }>(
      "SELECT COALESCE(SUM(amount), 0) AS n FROM entries WHERE kind = 'capture' AND at >= ? AND at <= ?",
      now - RECENT_WINDOW_MS,
      now,
    )
    .one().n;
}
