/**
 * The period's captured credits by the ledger beside D1's (SPEC §5). The ledger's half, with
 * the outbox and the seq below which D1 is known to be complete, is read in one transaction; D1
 * is then read up to that seq. A flush landing in between, or one whose acknowledgement was
 * lost, can then neither count an event twice nor miss one: an event is in D1's half or in the
 * outbox's, by its seq.
 */
import { iso } from "../lib/time";
import { compare, d1Captured } from "../usage/reconcile";
import type { FlushResult, PeriodChoice, ReconcileView } from "./contract";
import { type Period, periodAt } from "./core/period";
import { accountRow } from "./store/account";
import { flushStats } from "./store/outbox";
import { flushedBelow, ledgerCaptured, pendingCaptured } from "./store/reconcile";
import type { Transactions } from "./transaction";

export async function reconcile(
  sql: SqlStorage,
  db: D1Database,
  tx: Transactions,
  flushed: FlushResult | null,
  choice: PeriodChoice,
): Promise<ReconcileView | null> {
  const ledgerSide = tx.run((now) => {
    const account = accountRow(sql);
    if (!account) return null;
    const current = periodAt(account.billing_anchor_day, now);
    const period: Period =
      choice === "current"
        ? current
        : choice === "previous"
          ? periodAt(account.billing_anchor_day, current.start - 1)
          : periodAt(account.billing_anchor_day, choice.at);
    const stats = flushStats(sql);
    return {
      accountId: account.id,
      period,
      ledger: ledgerCaptured(sql, period.start),
      pending: pendingCaptured(sql, iso(period.start)),
      seqBelow: flushedBelow(sql),
      waiting: stats.pending,
      watermark: stats.oldestPendingAt ?? now,
    };
  });
  if (!ledgerSide) return null;
  const { accountId, period, seqBelow } = ledgerSide;
  const d1 = await d1Captured(db, accountId, iso(period.start), seqBelow);
  return {
    ...compare(ledgerSide.ledger, d1, ledgerSide.pending.totals),
    period: { start: iso(period.start), end: iso(period.end) },
    watermark: iso(ledgerSide.watermark),
    outbox: { capturedEvents: ledgerSide.pending.events, waiting: ledgerSide.waiting },
    flushed: {
      requested: flushed !== null,
      events: flushed?.flushed ?? 0,
      error: flushed?.error ?? null,
    },
  };
}
