/**
 * Credits captured per clock hour (the `spend_hours` table): what spike and forecast alerts
 * measure. A capture adds to its hour in SQLite, in its own transaction. This class also keeps
 * the last eight days of buckets in memory, so that every capture can decide both alerts
 * without reading a week of rows.
 *
 * The memory copy is only a read cache of the table, never written back: it lives in the
 * ledger's `CachedReads`, which is dropped after any transaction that fails or is not on the
 * request path. So it never outlives a change it did not see, and a failed capture's addition
 * goes with the rest of that transaction.
 */
import { HOUR_MS } from "../../lib/time";

/** Hours kept in memory behind the current one: 7 days plus the partial hours at both ends. */
const KEPT_HOURS = 7 * 24 + 2;

const hourOf = (at: number) => Math.floor(at / HOUR_MS);

export interface RecentSpend {
  /** Credits captured in the 60 minutes up to now (the previous clock hour pro rata). */
  lastHour: number;
  /** Credits captured in the 24 hours before that. */
  before: number;
  /** Whether spend goes back a whole day: a new account's first busy hour is no spike. */
  fullDay: boolean;
}

export class SpendHours {
  /** hour -> credits, for hours >= `from`; null: not read yet. */
  private buckets: Map<number, number> | null = null;
  private from = 0;
  /** The earliest hour with spend, in the whole table. */
  private first: number | null = null;

  constructor(private readonly sql: SqlStorage) {}

  /** Adds a capture's credits to its hour, in SQLite and in memory. */
  add(now: number, credits: number): void {
    const hour = hourOf(now);
    // Read the window first: read after the write, it would already hold these credits.
    const buckets = this.window(hour);
    this.sql.exec(
      "INSERT INTO spend_hours (hour, captured) VALUES (?, ?) ON CONFLICT(hour) DO UPDATE SET captured = captured + excluded.captured",
      hour,
      credits,
    );
    buckets.set(hour, (buckets.get(hour) ?? 0) + credits);
    if (this.first === null || hour < this.first) this.first = hour;
  }

  /**
   * The last hour's spend and the 24 hours' before it: the last hour is the current clock hour
   * so far plus the part of the previous one still within 60 minutes; the rest of that hour
   * counts in `before`.
   */
  recent(now: number): RecentSpend {
    const hour = hourOf(now);
    const buckets = this.window(hour);
    const into = (now - hour * HOUR_MS) / HOUR_MS;
    const previous = buckets.get(hour - 1) ?? 0;
    const lastHour = (buckets.get(hour) ?? 0) + previous * (1 - into);
    let before = previous * into;
    for (let h = hour - 25; h < hour - 1; h++) before += buckets.get(h) ?? 0;
    return {
      lastHour: Math.round(lastHour),
      before: Math.round(before),
      fullDay: this.first !== null && this.first <= hour - 24,
    };
  }

  /** Credits captured from the hour that holds `now - 7 days` up to now. */
  last7Days(now: number): number {
    const hour = hourOf(now);
    const buckets = this.window(hour);
    let sum = 0;
    for (let h = hourOf(now - 7 * 24 * HOUR_MS); h <= hour; h++) sum += buckets.get(h) ?? 0;
    return sum;
  }

  /** The buckets from `hour - KEPT_HOURS` on, read once and then kept up to date by `add`. */
  private window(hour: number): Map<number, number> {
    const from = hour - KEPT_HOURS;
    if (this.buckets === null || from < this.from) {
      const rows = this.sql
        .exec<{ hour: number; captured: number }>(
          "SELECT hour, captured FROM spend_hours WHERE hour >= ?",
          from,
        )
        .toArray();
      this.buckets = new Map(rows.map((r) => [r.hour, r.captured]));
      this.from = from;
      this.first = this.sql
        .exec<{ h: number | null }>("SELECT MIN(hour) AS h FROM spend_hours")
        .one().h;
    } else if (this.buckets.size > 2 * KEPT_HOURS) {
      for (const h of this.buckets.keys()) if (h < from) this.buckets.delete(h);
      this.from = from;
    }
    return this.buckets;
  }
}

/**
 * Forgets the hours that no alert reads any more (before the kept window), except the earliest
 * hour of all, which says how far back the account's spend goes (a spike needs a whole day).
 * The alarm runs it, so the table holds about eight days of hours however long the account lives.
 */
export function pruneSpendHours(sql: SqlStorage, now: number): void {
  sql.exec(
    "DELETE FROM spend_hours WHERE hour < ? AND hour > (SELECT MIN(hour) FROM spend_hours)",
    hourOf(now) - KEPT_HOURS,
  );
}
