/**
 * Opt-in metering of what an AccountLedger costs on Cloudflare's bill (issue 18, "Measure"):
 * Durable Object requests, SQL statements and the rows they read and write inside the object
 * (the SQLite cursors' own `rowsRead` / `rowsWritten`, index entries included), and D1 rows its
 * outbox flush writes and reads (`meta.rows_written` / `meta.rows_read` of the flush's batch).
 *
 * Only a worker var `LEDGER_METER=true` turns it on (`npm run bench` sets it on one of its
 * servers). Without it `ledgerMeter` returns null, the object keeps the plain `ctx.storage.sql`
 * and its own `this`, and production pays nothing.
 *
 * Where the counters are read: a cursor's counters grow as its rows are iterated, so they are
 * not final when `exec` returns. The meter keeps every cursor it handed out and reads them
 * later: when the next Durable Object request starts and when the totals are asked for. By then
 * each cursor is consumed or abandoned for good (the store's functions consume their cursors
 * synchronously, inside one transaction, never across an `await`), so its counters are final.
 */

/** What a ledger has cost since it started (or since the meter was switched on). */
export interface MeterReading {
  /** RPC calls and alarms the object served (the `meter()` calls that read this excluded). */
  requests: number;
  /** SQL statements run through `ctx.storage.sql.exec` (the start-up migration excluded). */
  statements: number;
  rowsRead: number;
  rowsWritten: number;
  /** D1 rows the outbox flush wrote and read (usage events, their record rows, alerts). */
  d1RowsWritten: number;
  d1RowsRead: number;
  /** The same per SQL text (whitespace collapsed), most rows written first. */
  bySql: SqlTally[];
}

export interface SqlTally {
  sql: string;
  count: number;
  rowsRead: number;
  rowsWritten: number;
}

/** Distinct SQL texts tallied one by one; past it they share one line (bounds memory). */
const MAX_SQL_TEXTS = 500;
const OTHER_SQL = "(other statements)";
/** RPC methods that do not count as requests: reading the meter must not move it. */
const UNCOUNTED = new Set(["meter", "constructor"]);

/** The meter of one object, or null when the worker var `LEDGER_METER` is not "true". */
export function ledgerMeter(env: { LEDGER_METER?: string }): LedgerMeter | null {
  return env.LEDGER_METER === "true" ? new LedgerMeter() : null;
}

export class LedgerMeter {
  private requests = 0;
  private d1RowsWritten = 0;
  private d1RowsRead = 0;
  private readonly bySql = new Map<string, SqlTally>();
  /** Cursors handed out whose counters are not added yet, each with its SQL text's tally. */
  private pending: Array<{
    tally: SqlTally;
    cursor: SqlStorageCursor<Record<string, SqlStorageValue>>;
  }> = [];

  /** `sql` with every `exec` counted; what the object works with when metering. */
  wrap(sql: SqlStorage): SqlStorage {
    const note = (query: string, cursor: SqlStorageCursor<Record<string, SqlStorageValue>>) => {
      let tally = this.bySql.get(query);
      if (!tally) {
        const key = this.bySql.size < MAX_SQL_TEXTS ? query : OTHER_SQL;
        tally = this.bySql.get(key) ?? { sql: key, count: 0, rowsRead: 0, rowsWritten: 0 };
        this.bySql.set(key, tally);
      }
      tally.count += 1;
      this.pending.push({ tally, cursor });
    };
    return {
      // A statement that throws (a constraint, a syntax error) is not counted: it has no cursor.
      exec<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]) {
        const cursor = sql.exec<T>(query, ...bindings);
        note(query, cursor);
        return cursor;
      },
      get databaseSize() {
        return sql.databaseSize;
      },
      Cursor: sql.Cursor,
      Statement: sql.Statement,
    };
  }

  /** One Durable Object request starts: the cursors of earlier ones are final, add them. */
  request(): void {
    this.settle();
    this.requests += 1;
  }

  /** D1 rows one flush batch wrote and read. */
  d1(rows: { written: number; read: number }): void {
    this.d1RowsWritten += rows.written;
    this.d1RowsRead += rows.read;
  }

  reading(): MeterReading {
    this.settle();
    const bySql = new Map<string, SqlTally>();
    for (const t of this.bySql.values()) {
      const sql = t.sql.replace(/\s+/g, " ").trim();
      const sum = bySql.get(sql) ?? { sql, count: 0, rowsRead: 0, rowsWritten: 0 };
      sum.count += t.count;
      sum.rowsRead += t.rowsRead;
      sum.rowsWritten += t.rowsWritten;
      bySql.set(sql, sum);
    }
    const list = [...bySql.values()].sort(
      (a, b) => b.rowsWritten - a.rowsWritten || b.count - a.count,
    );
    const sum = (f: (t: SqlTally) => number) => list.reduce((n, t) => n + f(t), 0);
    return {
      requests: this.requests,
      statements: sum((t) => t.count),
      rowsRead: sum((t) => t.rowsRead),
      rowsWritten: sum((t) => t.rowsWritten),
      d1RowsWritten: this.d1RowsWritten,
      d1RowsRead: this.d1RowsRead,
      bySql: list,
    };
  }

  /** Adds the counters of the cursors handed out so far and forgets them. */
  private settle(): void {
    for (const { tally, cursor } of this.pending) {
      tally.rowsRead += cursor.rowsRead;
      tally.rowsWritten += cursor.rowsWritten;
    }
    this.pending = [];
  }
}

/**
 * `object` behind a proxy that counts each call of one of its methods from outside (an RPC
 * call, or the runtime calling `alarm`) as one Durable Object request. Calls the object makes
 * to its own methods go to the object itself, not through the proxy, so they do not count.
 */
export function countRequests<T extends object>(object: T, meter: LedgerMeter): T {
  return new Proxy(object, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== "function" || typeof name !== "string" || UNCOUNTED.has(name)) {
        return value;
      }
      return (...args: unknown[]) => {
        meter.request();
        return value.apply(target, args);
      };
    },
  });
}
