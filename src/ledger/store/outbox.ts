/**
 * Usage events wait here, written in the same transaction as the settlement or denial they
 * record, until the alarm copies them to D1 (I5). Rows leave only after D1 has them.
 */
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import type { UsageEvent } from "../../usage/event";
import type { FlushStats } from "../contract";
import type { EventFields } from "./events";

/**
 * The seq of the next event: after the last one waiting, or, when none waits, after the last one
 * D1 confirmed (ledger V13). Seqs only grow, so D1's per-ledger watermark never sees one twice.
 */
const NEXT_SEQ = `MAX(COALESCE((SELECT MAX(seq) FROM outbox), 0),
  (SELECT last_seq FROM flush_stats WHERE id = 1)) + 1`;

/** Writes an event to the outbox, in the caller's transaction: one row. */
export function appendEvent(
  sql: SqlStorage,
  accountId: string,
  fields: EventFields,
  periodStart: number,
  now: number,
) {
  const event: Omit<UsageEvent, "seq"> = {
    ...fields,
    id: newId("evt"),
    accountId,
    occurredAt: iso(now),
    periodStart: iso(periodStart),
  };
  sql.exec(
    `INSERT INTO outbox (seq, id, occurred_at, payload) VALUES (${NEXT_SEQ}, ?, ?, ?)`,
    event.id,
    now,
    JSON.stringify(event),
  );
}

/** The oldest `limit` events not yet in D1. */
export function pendingEvents(sql: SqlStorage, limit: number): UsageEvent[] {
  return sql
    .exec<{ seq: number; payload: string }>(
      "SELECT seq, payload FROM outbox ORDER BY seq LIMIT ?",
      limit,
    )
    .toArray()
    .map((r) => ({ ...(JSON.parse(r.payload) as Omit<UsageEvent, "seq">), seq: r.seq }));
}

/** Whether any event waits; cheaper than counting them. */
export function hasPending(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM outbox LIMIT 1").toArray().length > 0;
}

function pendingCount(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n;
}

/** Time of the oldest event still waiting, or null when D1 has everything. */
export function oldestPendingAt(sql: SqlStorage): number | null {
  return sql.exec<{ t: number | null }>("SELECT MIN(occurred_at) AS t FROM outbox").one().t;
}

/**
 * Removes events D1 has confirmed (by their seq, the outbox's key), counts the write, and keeps
 * the highest seq confirmed, from which the next event's seq goes on once the outbox is empty.
 */
export function acknowledge(sql: SqlStorage, seqs: readonly number[], writes: number, now: number) {
  for (const seq of seqs) sql.exec("DELETE FROM outbox WHERE seq = ?", seq);
  sql.exec(
    `UPDATE flush_stats SET events = events + ?, writes = writes + ?, last_flush_at = ?,
       last_error = NULL, last_seq = MAX(last_seq, ?) WHERE id = 1`,
    seqs.length,
    writes,
    now,
    Math.max(0, ...seqs),
  );
}

/** The highest seq D1 has confirmed (0: none yet). */
export function lastConfirmedSeq(sql: SqlStorage): number {
  return sql.exec<{ s: number }>("SELECT last_seq AS s FROM flush_stats WHERE id = 1").one().s;
}

export function recordFlushFailure(sql: SqlStorage, message: string) {
  sql.exec(
    "UPDATE flush_stats SET failures = failures + 1, last_error = ? WHERE id = 1",
    message.slice(0, 200),
  );
}

export function flushStats(sql: SqlStorage): FlushStats {
  const s = sql
    .exec<{
      events: number;
      writes: number;
      failures: number;
      last_error: string | null;
      last_flush_at: number | null;
    }>("SELECT * FROM flush_stats WHERE id = 1")
    .one();
  return {
    pending: pendingCount(sql),
    flushedEvents: s.events,
    flushWrites: s.writes,
    failures: s.failures,
    lastError: s.last_error,
    lastFlushAt: s.last_flush_at,
    oldestPendingAt: oldestPendingAt(sql),
  };
}
