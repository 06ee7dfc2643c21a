/**
 * The bench's baseline: the least a Worker can do to put Hono in front of the demo upstream.
 * `POST /v1/enrichment/companies` is forwarded to the upstream's `/enrich/companies` through a
 * service binding, request and response bodies streamed, with no auth, no pricing, no ledger.
 * `npm run bench` compares the gateway against this, in the same run, on the same machine.
 *
 * `POST /floor/v1/enrichment/companies` is the bench's floor: the same forward, wrapped in the
 * two ledger round trips the gateway's design requires per priced call. One RPC to the caller's
 * Durable Object holds the credits before the call, one captures them after a 2xx answer; each
 * runs one synchronous SQLite transaction that writes one append-only entry. No auth, no
 * pricing, no outbox, no D1. No gateway built to that design can cost less than this.
 *
 * The floor counts what it costs, like the gateway's ledger under LEDGER_METER=true
 * (src/ledger/meter.ts): requests, statements, and the rows its cursors read and wrote, read by
 * `npm run bench` through `meter()`. It always counts: a few additions per call, and its two
 * statements' cursors are final when `exec` returns (an UPDATE and an INSERT, no rows to iterate).
 */
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";

interface Bindings {
  UPSTREAM: Fetcher;
  FLOOR: DurableObjectNamespace<FloorLedger>;
}

/** Credits held and captured per call by the floor (the gateway charges this route 10). */
const FLOOR_CREDITS = 10;
/** The floor's seed balance: large enough for any bench run. */
const FLOOR_BALANCE = 10_000_000_000;

/**
 * One account's ledger, as small as the design allows: a one-row balance and an append-only
 * list of entries, each RPC one transaction.
 */
export class FloorLedger extends DurableObject<Bindings> {
  private readonly sql: SqlStorage;
  /** What this object has cost since it started (see `meter`). */
  private readonly cost = { requests: 0, statements: 0, rowsRead: 0, rowsWritten: 0 };

  constructor(ctx: DurableObjectState, env: Bindings) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.storage.transactionSync(() => {
      this.sql.exec(
        `CREATE TABLE IF NOT EXISTS balance (
           id INTEGER PRIMARY KEY CHECK (id = 1),
           available INTEGER NOT NULL,
           held INTEGER NOT NULL,
           captured INTEGER NOT NULL
         )`,
      );
      this.sql.exec(
        `CREATE TABLE IF NOT EXISTS entries (
           id INTEGER PRIMARY KEY AUTOINCREMENT,
           at INTEGER NOT NULL,
           kind TEXT NOT NULL,
           amount INTEGER NOT NULL,
           request_id TEXT NOT NULL
         )`,
      );
      this.sql.exec(
        "INSERT OR IGNORE INTO balance (id, available, held, captured) VALUES (1, ?, 0, 0)",
        FLOOR_BALANCE,
      );
    });
  }

  /** Admission: holds the credits if the balance covers them, and records the hold. */
  hold(requestId: string, credits: number): { held: number } {
    this.cost.requests += 1;
    this.move("available", "held", "hold", requestId, credits);
    return { held: credits };
  }

  /** Settlement: moves the held credits to captured, and records the capture. */
  capture(requestId: string, credits: number): { charged: number } {
    this.cost.requests += 1;
    this.move("held", "captured", "capture", requestId, credits);
    return { charged: credits };
  }

  /** Requests served (this one excluded), statements run, rows read and written, since start. */
  meter(): { requests: number; statements: number; rowsRead: number; rowsWritten: number } {
    return { ...this.cost };
  }

  private count(cursor: SqlStorageCursor<Record<string, SqlStorageValue>>): void {
    this.cost.statements += 1;
    this.cost.rowsRead += cursor.rowsRead;
    this.cost.rowsWritten += cursor.rowsWritten;
  }

  /** One transaction: moves credits between two columns (never below zero) and records it. */
  private move(
    from: "available" | "held",
    to: "held" | "captured",
    kind: string,
    requestId: string,
    credits: number,
  ): void {
    this.ctx.storage.transactionSync(() => {
      const update = this.sql.exec(
        `UPDATE balance SET ${from} = ${from} - ?, ${to} = ${to} + ? WHERE ${from} >= ?`,
        credits,
        credits,
        credits,
      );
      this.count(update);
      if (update.rowsWritten === 0) throw new Error(`fewer than ${credits} credits ${from}`);
      this.count(
        this.sql.exec(
          "INSERT INTO entries (at, kind, amount, request_id) VALUES (?, ?, ?, ?)",
          Date.now(),
          kind,
          credits,
          requestId,
        ),
      );
    });
  }
}

/** Hop-by-hop headers are not forwarded (the gateway drops them too). */
const HOP_BY_HOP = ["connection", "keep-alive", "transfer-encoding", "upgrade", "host"];

/** Forwards the request to the upstream, request and response bodies streamed. */
function forward(env: Bindings, request: Request): Promise<Response> {
  const headers = new Headers(request.headers);
  for (const name of HOP_BY_HOP) headers.delete(name);
  return env.UPSTREAM.fetch("https://upstream.internal/enrich/companies", {
    method: "POST",
    headers,
    body: request.body,
  });
}

const app = new Hono<{ Bindings: Bindings }>();

app.post("/v1/enrichment/companies", (c) => forward(c.env, c.req.raw));

app.post("/floor/v1/enrichment/companies", async (c) => {
  const stub = c.env.FLOOR.get(c.env.FLOOR.idFromName(c.req.header("authorization") ?? ""));
  const requestId = crypto.randomUUID();
  await stub.hold(requestId, FLOOR_CREDITS);
  const res = await forward(c.env, c.req.raw);
  if (res.ok) await stub.capture(requestId, FLOOR_CREDITS);
  return res;
});

app.notFound((c) => c.json({ error: "not found" }, 404));

export default app;
