/**
 * What the fuzz files share: the real app over a catalog whose upstream paths are this suite's
 * own, a spy on the upstream binding, exact snapshots of an account's ledger and directory rows,
 * and the problem+json oracle.
 *
 * Seeds: every property runs with a fresh random seed; on failure fast-check prints
 * `{ seed, path, endOnFailure: true }`. To replay it, put those in `REPLAY` below and run only
 * the failing test (`npx vitest run test/fuzz -t "<its name>"`).
 */
import {
  createExecutionContext,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import type fc from "fast-check";
import { expect } from "vitest";
import { createApp } from "../../src/app";
import type { Action } from "../../src/catalog";
import { PROBLEM_STATUS, type ProblemCode } from "../../src/lib/problem";
import { ledger } from "../support/api";
import { demoCatalogWith } from "../support/test-catalog";

/** Set to the `{ seed, path }` fast-check printed to replay one failure (never commit it set). */
const REPLAY: { seed: number; path: string } | null = null;

/** fast-check parameters: `numRuns`, or the replay of a printed failure. */
export function runs(numRuns: number): fc.Parameters<unknown> {
  return REPLAY ? { ...REPLAY, numRuns, endOnFailure: true } : { numRuns };
}

/** Upstream paths of the fuzz catalog start with this: no other test file reaches them. */
export const UPSTREAM_PREFIX = "/fuzz";

/**
 * The demo catalog's routes and prices, plus actions that add a PUT body price with blocks of
 * 2 units, a DELETE with a parameter charged on request, a short timeout, and an upstream whose
 * answer streams in slowly. Each action forwards to a path of its own, so the path the upstream
 * saw names the action it was priced as.
 */
export const fuzzCatalog = demoCatalogWith(
  {
    upstreams: [{ id: "trickle", binding: "FUZZ_TRICKLE" }],
    actions: [
      {
        id: "fuzz.batch",
        name: "Batch, 3 credits per 2 items",
        category: "record_refresh",
        method: "PUT",
        path: "/v1/fuzz/batch",
        upstream: "demo",
        upstreamPath: `${UPSTREAM_PREFIX}/fuzz.batch/batch`,
        price: { credits: 3, per: 2, unit: { from: "body", field: "items" }, maxUnits: 20 },
        maxBodyBytes: 64 * 1024,
      },
      {
        id: "fuzz.purge",
        name: "Purge a record, charged on request",
        category: "record_refresh",
        method: "DELETE",
        path: "/v1/fuzz/records/:recordId",
        upstream: "demo",
        upstreamPath: `${UPSTREAM_PREFIX}/fuzz.purge/records/:recordId`,
        price: { credits: 2 },
        settlement: "on_request",
      },
      {
        id: "fuzz.slow",
        name: "Short timeout",
        category: "insights",
        method: "POST",
        path: "/v1/fuzz/slow",
        upstream: "demo",
        upstreamPath: `${UPSTREAM_PREFIX}/fuzz.slow/slow`,
        price: { credits: 7 },
        timeoutMs: 300,
      },
      {
        id: "fuzz.stream",
        name: "An answer that streams in slowly",
        category: "ai",
        method: "POST",
        path: "/v1/fuzz/stream",
        upstream: "trickle",
        upstreamPath: `${UPSTREAM_PREFIX}/fuzz.stream/stream`,
        price: { credits: 5 },
        timeoutMs: 100,
      },
    ],
    demoActions: (a) => ({
      ...a,
      upstreamPath: `${UPSTREAM_PREFIX}/${a.id}${a.upstreamPath}`,
    }),
  },
  "the fuzz configuration (test/fuzz/harness.ts)",
);

/** The actions whose upstream is the chaos service, steered by x-chaos-* headers. */
export const chaosActions = fuzzCatalog.actions.filter((a) => a.upstream === "demo");

export const app = createApp({ catalog: fuzzCatalog });

/** Every request the gateway sent to the upstream binding, in order. */
export const upstreamLog: { method: string; url: string }[] = [];

const spy = {
  fetch(input: Request | string, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    upstreamLog.push({ method: request.method, url: request.url });
    return env.DEMO_UPSTREAM.fetch(request);
  },
};

/**
 * An upstream that answers at once and then streams its body in `x-fuzz-pieces` pieces,
 * `x-fuzz-delay-ms` apart: a slow answer, not a slow start. Like any fetch, aborting the
 * request's signal after the answer began errors the body.
 */
const trickle = {
  async fetch(input: Request | string, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    upstreamLog.push({ method: request.method, url: request.url });
    const pieces = Number(request.headers.get("x-fuzz-pieces") ?? "1");
    const delayMs = Number(request.headers.get("x-fuzz-delay-ms") ?? "0");
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        request.signal.addEventListener("abort", () => controller.error(request.signal.reason));
      },
      async pull(controller) {
        if (request.signal.aborted) return;
        if (sent >= pieces) return controller.close();
        await new Promise((r) => setTimeout(r, delayMs));
        controller.enqueue(new TextEncoder().encode(`piece ${sent++}\n`));
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain" } });
  },
};

const fuzzEnv = { ...env, DEMO_UPSTREAM: spy, FUZZ_TRICKLE: trickle } as unknown as Env;

/** Calls the app directly: `exports.default.fetch` slows down over thousands of calls. */
export async function send(request: Request): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(request, fuzzEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export const url = (path: string) => `https://gateway.test${path}`;

/** How many requests reached `path` on the chaos upstream (per isolate, so use deltas). */
export async function upstreamCount(path: string): Promise<number> {
  const res = await env.DEMO_UPSTREAM.fetch(
    `http://u/__chaos/count?path=${encodeURIComponent(path)}`,
  );
  return ((await res.json()) as { count: number }).count;
}

export type Rows = Record<string, unknown>[];

/**
 * Every row of every table of the account's ledger. The outbox is summarised as the number of
 * events ever written (waiting plus flushed), so an alarm flushing it mid-case changes nothing;
 * the append-only entries by their count and newest sequence number. Denial and alert
 * bookkeeping is left out (see below).
 */
export async function ledgerState(accountId: string): Promise<Record<string, Rows | number>> {
  return runInDurableObject(ledger(accountId), (_object, state) => {
    const sql = state.storage.sql;
    const tables = sql
      .exec<{ name: string; sql: string }>(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 4) <> '_cf_' AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name",
      )
      .toArray();
    const out: Record<string, Rows | number> = {};
    for (const { name: table, sql: definition } of tables) {
      if (table === "outbox" || table === "flush_stats") continue;
      // What a denial leaves besides its usage event: the denial-burst count and the alerts it
      // may fire (with their webhook deliveries). Outputs, like the event; not the books.
      if (table === "denials" || table === "alerts" || table === "webhook_deliveries") continue;
      if (table === "entries") {
        // Append-only (a trigger refuses anything else): its size and newest row say it all.
        out.entries = sql.exec("SELECT COUNT(*) AS n, MAX(seq) AS last FROM entries").toArray();
        continue;
      }
      // A table without rowid is ordered by its leading (primary key) columns.
      const order = /WITHOUT ROWID/i.test(definition) ? "1, 2" : "rowid";
      out[table] = sql.exec(`SELECT * FROM "${table}" ORDER BY ${order}`).toArray();
    }
    if (tables.some((t) => t.name === "outbox")) {
      const waiting = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n;
      const flushed = tables.some((t) => t.name === "flush_stats")
        ? (sql.exec<{ n: number }>("SELECT COALESCE(SUM(events), 0) AS n FROM flush_stats").one()
            .n ?? 0)
        : 0;
      out.eventsWritten = waiting + flushed;
    }
    return out;
  });
}

/** D1 tables that hold rows of an account, and the column naming it; read once. */
let accountTables: Promise<{ table: string; column: string }[]> | null = null;

function tablesOfAccounts(): Promise<{ table: string; column: string }[]> {
  accountTables ??= (async () => {
    const { results } = await env.DB.prepare(
      "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND substr(m.name, 1, 4) <> '_cf_' AND substr(m.name, 1, 7) <> 'sqlite_' AND ((m.name = 'accounts' AND p.name = 'id') OR p.name = 'account_id') ORDER BY m.name",
    ).all<{ t: string; c: string }>();
    return results.map((r) => ({ table: r.t, column: r.c }));
  })();
  return accountTables;
}

/**
 * D1 rows about these accounts: their directory rows (and any whose name holds `nameMark`) and,
 * for every table with an `account_id` column (usage events, audit log, any added later), theirs.
 */
export async function directoryState(
  accountIds: readonly string[],
  nameMark = "\u0000",
): Promise<Record<string, Rows>> {
  const ids = [...new Set(accountIds)];
  const marks = ids.map(() => "?").join(", ");
  const tables = await tablesOfAccounts();
  const results = await env.DB.batch<Record<string, unknown>>(
    tables.map(({ table, column }) => {
      const byName = table === "accounts" ? " OR instr(name, ?) > 0" : "";
      return env.DB.prepare(
        `SELECT * FROM "${table}" WHERE "${column}" IN (${marks})${byName} ORDER BY rowid`,
      ).bind(...ids, ...(byName ? [nameMark] : []));
    }),
  );
  return Object.fromEntries(tables.map(({ table }, i) => [table, results[i]?.results ?? []]));
}

/**
 * Checks a refusal: a 4xx RFC 9457 body as src/lib/problem.ts renders it, with the request id.
 * Returns its code (null for HEAD, whose answer has no body).
 */
export function expectProblem(res: Response, text: string, method = "GET"): ProblemCode | null {
  expect(res.status, text.slice(0, 300)).toBeGreaterThanOrEqual(400);
  expect(res.status, text.slice(0, 300)).toBeLessThan(500);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const requestId = res.headers.get("x-request-id");
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  if (method === "HEAD") return null;
  const body = JSON.parse(text) as Record<string, unknown>;
  const code = body.code as ProblemCode;
  expect(Object.hasOwn(PROBLEM_STATUS, code), `unknown problem code ${String(code)}`).toBe(true);
  expect(body).toMatchObject({
    type: `/problems/${code.replaceAll("_", "-")}`,
    title: expect.stringMatching(/\S/),
    status: res.status,
    detail: expect.any(String),
    requestId,
  });
  expect(PROBLEM_STATUS[code]).toBe(res.status);
  return code;
}

/** The action whose upstream path template matches a path the upstream received, if any. */
export function actionAtUpstreamPath(pathname: string): Action | undefined {
  const parts = pathname.split("/").slice(1);
  return fuzzCatalog.actions.find((action) => {
    const template = action.upstreamPath.split("/").slice(1);
    return (
      template.length === parts.length &&
      template.every((segment, i) => segment.startsWith(":") || segment === parts[i])
    );
  });
}
