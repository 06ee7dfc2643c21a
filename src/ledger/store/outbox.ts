/**
 * Usage events wait here, written in the same transaction as the settlement or denial they
 * record, until the alarm copies them to D1 (I5). Rows leave only after D1 has them.
 */
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import type { UsageEvent } from "../../usage/event";
import type { FlushStats } from "../contract";
import type { EventFields } from "./events";

/** Writes an event to the outbox, in the caller's transaction. */
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
    "INSERT INTO outbox (id, occurred_at, payload) VALUES (?, ?, ?)",
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

/** Removes events D1 has confirmed (by their seq, the outbox's key) and counts the write. */
export function acknowledge(sql: SqlStorage, seqs: readonly number[], writes: number, now: number) {
  for (const seq of seqs) sql.exec("DELETE FROM outbox WHERE seq = ?", seq);
  sql.exec(
    "UPDATE flush_stats SET events = events + ?, writes = writes + ?, last_flush_at = ?, last_error = NULL WHERE id = 1",
    seqs.length,
    writes,
    now,
  );
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
