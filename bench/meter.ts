/**
 * What each call costs on Cloudflare's bill (issue 18, "Measure"): Durable Object requests, SQL
 * statements, rows read and written inside the ledger (its SQLite cursors' own counters), and D1
 * rows written by the outbox flush, per kind of call, for the gateway and for the floor.
 *
 * The gateway's figures come from the `metered` server (bench/servers.ts): the same bundle with
 * LEDGER_METER=true, so each ledger object counts what it does (src/ledger/meter.ts), and with
 * its flush and alarm held back, so the bench decides when the flush runs. For each kind of call
 * the bench reads every measured account's meter (through serve.ts's control port), sends a
 * batch of that kind, reads the meters again (the request path), calls each object's `flush()`
 * (one Durable Object request, standing for the alarm that would copy the batch's events to D1)
 * and reads them a third time (the flush's share). Per call = delta / calls. Each account's first
 * calls of every kind run before, unmeasured: period entry, the read cache and compiled
 * statements are warm, as they are for an account in use.
 *
 * The floor's figures come from its own counters (`FloorLedger.meter()`, bench/forwarder) on the
 * forwarder's server: its one kind of call, hold and capture.
 */
import { CONFIG, log, ROUTE, round } from "./config";
import { PRICES } from "./prices";
import { type Account, seedAccounts } from "./seed";
import type { Target } from "./servers";

/** What one ledger object reports (src/ledger/meter.ts, MeterReading); the floor has no D1. */
interface Reading {
  requests: number;
  statements: number;
  rowsRead: number;
  rowsWritten: number;
  d1RowsWritten: number;
  d1RowsRead: number;
  bySql: SqlLine[];
}

interface SqlLine {
  sql: string;
  count: number;
  rowsRead: number;
  rowsWritten: number;
}

/** Per call, as `bench/results.json` reports it. */
export interface CallCost {
  doRequests: number | null;
  statements: number | null;
  rowsRead: number | null;
  rowsWritten: number | null;
  d1RowsWritten: number | null;
  d1RowsRead: number | null;
}

export interface KindCost extends CallCost {
  /** Calls measured, over how many accounts (each account's batch is one flush). */
  calls: number;
  accounts: number;
  /** The two ledger requests' part (admit, settle) and the flush's part, each per call. */
  requestPath: CallCost;
  flush: CallCost;
  /** The request path's statements, per call, most rows written first. */
  statementsPerCall: SqlLine[];
}

export interface CostResult {
  perCall: { gateway: CallCost; floor: CallCost };
  perCallByKind: Record<KindName, KindCost> & { dedupePerRecord: CallCost };
  /** One alarm's housekeeping (`tick`: period, lapsed holds, old keys and admissions). */
  perAlarmTick: CallCost & { statementsPerAlarm: SqlLine[] };
  floorDefinition: string;
}

export type CostLines = Record<
  | "workerRequests"
  | "workerCpu"
  | "doRequests"
  | "doRowsRead"
  | "doRowsWritten"
  | "d1RowsRead"
  | "d1RowsWritten"
  | "logEvents"
  | "total",
  number | null
>;

const EMPTY: Reading = {
  requests: 0,
  statements: 0,
  rowsRead: 0,
  rowsWritten: 0,
  d1RowsWritten: 0,
  d1RowsRead: 0,
  bySql: [],
};

/** Calls `method` on the objects `names` of `binding` through the server's control port. */
export async function rpc(server: Target, binding: string, names: string[], method: string) {
  if (!server.control) throw new Error("the server has no control port");
  const res = await fetch(`${server.control}/rpc`, {
    method: "POST",
    body: JSON.stringify({ binding, names, method }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`control ${method}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown[];
}

/** The meters of `names`, summed. */
async function readMeters(server: Target, binding: string, names: string[]): Promise<Reading> {
  const readings = (await rpc(server, binding, names, "meter")) as Array<Partial<Reading> | null>;
  const sum: Reading = { ...EMPTY, bySql: [] };
  const lines = new Map<string, SqlLine>();
  for (const r of readings) {
    if (!r) throw new Error(`${binding}: a meter is off`);
    sum.requests += r.requests ?? 0;
    sum.statements += r.statements ?? 0;
    sum.rowsRead += r.rowsRead ?? 0;
    sum.rowsWritten += r.rowsWritten ?? 0;
    sum.d1RowsWritten += r.d1RowsWritten ?? 0;
    sum.d1RowsRead += r.d1RowsRead ?? 0;
    for (const l of r.bySql ?? []) {
      const line = lines.get(l.sql) ?? { sql: l.sql, count: 0, rowsRead: 0, rowsWritten: 0 };
      line.count += l.count;
      line.rowsRead += l.rowsRead;
      line.rowsWritten += l.rowsWritten;
      lines.set(l.sql, line);
    }
  }
  sum.bySql = [...lines.values()];
  return sum;
}

/** `after` minus `before`, each SQL line too (lines that did not move are dropped). */
function delta(after: Reading, before: Reading): Reading {
  const old = new Map(before.bySql.map((l) => [l.sql, l]));
  const bySql = after.bySql
    .map((l) => {
      const o = old.get(l.sql);
      return {
        sql: l.sql,
        count: l.count - (o?.count ?? 0),
        rowsRead: l.rowsRead - (o?.rowsRead ?? 0),
        rowsWritten: l.rowsWritten - (o?.rowsWritten ?? 0),
      };
    })
    .filter((l) => l.count > 0);
  return {
    requests: after.requests - before.requests,
    statements: after.statements - before.statements,
    rowsRead: after.rowsRead - before.rowsRead,
    rowsWritten: after.rowsWritten - before.rowsWritten,
    d1RowsWritten: after.d1RowsWritten - before.d1RowsWritten,
    d1RowsRead: after.d1RowsRead - before.d1RowsRead,
    bySql,
  };
}

function perCall(r: Reading, calls: number, d1 = true): CallCost {
  const per = (n: number) => round(n / calls, 3);
  return {
    doRequests: per(r.requests),
    statements: per(r.statements),
    rowsRead: per(r.rowsRead),
    rowsWritten: per(r.rowsWritten),
    d1RowsWritten: d1 ? per(r.d1RowsWritten) : 0,
    d1RowsRead: d1 ? per(r.d1RowsRead) : 0,
  };
}

function linesPerCall(r: Reading, calls: number): SqlLine[] {
  return r.bySql
    .map((l) => ({
      sql: l.sql,
      count: round(l.count / calls, 3) ?? 0,
      rowsRead: round(l.rowsRead / calls, 3) ?? 0,
      rowsWritten: round(l.rowsWritten / calls, 3) ?? 0,
    }))
    .sort((a, b) => b.rowsWritten - a.rowsWritten || b.count - a.count);
}

function plus(a: CallCost, b: CallCost): CallCost {
  const add = (x: number | null, y: number | null) =>
    x === null || y === null ? null : round(x + y, 3);
  return {
    doRequests: add(a.doRequests, b.doRequests),
    statements: add(a.statements, b.statements),
    rowsRead: add(a.rowsRead, b.rowsRead),
    rowsWritten: add(a.rowsWritten, b.rowsWritten),
    d1RowsWritten: add(a.d1RowsWritten, b.d1RowsWritten),
    d1RowsRead: add(a.d1RowsRead, b.d1RowsRead),
  };
}

/** (a - b) / n per figure: the extra cost of one unit of what a has more of than b. */
function marginal(a: CallCost, b: CallCost, n: number): CallCost {
  const per = (x: number | null, y: number | null) =>
    x === null || y === null ? null : round((x - y) / n, 3);
  return {
    doRequests: per(a.doRequests, b.doRequests),
    statements: per(a.statements, b.statements),
    rowsRead: per(a.rowsRead, b.rowsRead),
    rowsWritten: per(a.rowsWritten, b.rowsWritten),
    d1RowsWritten: per(a.d1RowsWritten, b.d1RowsWritten),
    d1RowsRead: per(a.d1RowsRead, b.d1RowsRead),
  };
}

// ---- the calls ------------------------------------------------------------------------------

/** A measured account: its member keys (a core seat, and a sales seat for buyer intent). */
interface MeterAccount extends Account {
  salesKey: string;
}

interface Call {
  method: "GET" | "POST";
  path: string;
  key: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** What a kind's answers must be: the status and, where it says so, the credits charged. */
interface Expected {
  status: number;
  charged?: (charged: number) => boolean;
  replayed?: boolean;
}

const RECORDS_PER_MULTI = 5;

type KindName =
  | "on_success"
  | "on_success_records_5"
  | "on_success_no_dedupe"
  | "metered"
  | "idempotent_first"
  | "idempotent"
  | "denied";

interface Kind {
  name: KindName;
  /** The n-th call of this kind for an account (n counts from 0, warm-ups first). */
  call(a: MeterAccount, n: number): Call;
  expected: Expected;
}

const enrich = (a: MeterAccount, tag: string, n: number, records = 1): Call => ({
  method: "POST",
  path: ROUTE,
  key: a.memberKey,
  // Fresh domains: a record enriched already would be skipped, free (dedupe).
  body: {
    records: Array.from({ length: records }, (_, r) => ({
      domain: `meter-${tag}-${a.id}-${n}-${r}.example`,
    })),
  },
});

/** Idempotency-Key of the n-th keyed call of an account: the replays send it again. */
const idemKey = (a: MeterAccount, n: number) => `meter-${a.id}-${n}`;

const KINDS: Kind[] = [
  {
    // The bench's call: enrichment.company, one fresh record, on_success with dedupe.
    name: "on_success",
    call: (a, n) => enrich(a, "one", n),
    expected: { status: 200, charged: (c) => c === CONFIG.creditsPerCall },
  },
  {
    name: "on_success_records_5",
    call: (a, n) => enrich(a, "five", n, RECORDS_PER_MULTI),
    expected: { status: 200, charged: (c) => c === CONFIG.creditsPerCall * RECORDS_PER_MULTI },
  },
  {
    // prospecting.intent, one company: on_success without dedupe (a sales seat).
    name: "on_success_no_dedupe",
    call: (a) => ({ method: "GET", path: "/v1/prospecting/intent?limit=1", key: a.salesKey }),
    expected: { status: 200, charged: (c) => c === 10 },
  },
  {
    // ai.generate: holds the declared maximum, captures the tokens the upstream reports.
    name: "metered",
    call: (a, n) => ({
      method: "POST",
      path: "/v1/ai/generate",
      key: a.memberKey,
      body: { prompt: `Write a two-line follow-up to company ${n} of ${a.id}` },
    }),
    expected: { status: 200, charged: (c) => c > 0 },
  },
  {
    // The first call with an Idempotency-Key: charged, its outcome kept for replays.
    name: "idempotent_first",
    call: (a, n) => ({ ...enrich(a, "idem", n), headers: { "idempotency-key": idemKey(a, n) } }),
    expected: { status: 200, charged: (c) => c === CONFIG.creditsPerCall },
  },
  {
    // The same call again: replayed from the ledger (its headers repeat the first call's
    // charge), not charged again, the upstream not called.
    name: "idempotent",
    call: (a, n) => ({ ...enrich(a, "idem", n), headers: { "idempotency-key": idemKey(a, n) } }),
    expected: { status: 200, charged: (c) => c === CONFIG.creditsPerCall, replayed: true },
  },
  {
    // Buyer intent with a core seat: the ledger refuses (seat_required) and records the denial.
    name: "denied",
    call: (a) => ({ method: "GET", path: "/v1/prospecting/intent?limit=1", key: a.memberKey }),
    expected: { status: 403 },
  },
];

async function send(base: string, c: Call, expected: Expected, kind: string): Promise<void> {
  const res = await fetch(`${base}${c.path}`, {
    method: c.method,
    headers: {
      authorization: `Bearer ${c.key}`,
      ...(c.body === undefined ? {} : { "content-type": "application/json" }),
      ...c.headers,
    },
    body: c.body === undefined ? undefined : JSON.stringify(c.body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  const charged = Number(res.headers.get("x-credits-charged") ?? "NaN");
  const replayed = res.headers.get("x-credits-replayed") === "true";
  if (
    res.status !== expected.status ||
    (expected.charged && !expected.charged(charged)) ||
    replayed !== (expected.replayed ?? false)
  ) {
    throw new Error(
      `metered ${kind} call ${c.method} ${c.path}: HTTP ${res.status}, charged ${charged}, replayed ${replayed}: ${text.slice(0, 300)}`,
    );
  }
}

/** A sales-seat member and its key in the account's team, for buyer intent. */
async function addSalesMember(base: string, a: Account): Promise<MeterAccount> {
  const post = async <T>(route: string, body: unknown): Promise<T> => {
    const res = await fetch(`${base}${route}`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`${route}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const member = await post<{ id: string }>("/v1/members", {
    name: "Meter sales",
    teamId: a.teamId,
    seat: "sales",
  });
  const key = await post<{ key: string }>("/v1/keys", {
    role: "member",
    memberId: member.id,
    name: "meter sales",
  });
  return { ...a, salesKey: key.key };
}

export const METER = {
  accounts: 4,
  /** Calls of each kind per account: one flush each, so the flush's share is 1 / this. */
  callsPerAccount: 25,
  /** Unmeasured calls of each kind per account first. */
  warmup: 2,
};

/** The gateway's figures per kind of call, on the metered server. */
async function gatewayCosts(server: Target) {
  const base = server.base;
  const accounts = await Promise.all(
    (await seedAccounts(base, METER.accounts)).map((a) => addSalesMember(base, a)),
  );
  const names = accounts.map((a) => a.id);
  const meters = () => readMeters(server, "LEDGER", names);
  const flush = () => rpc(server, "LEDGER", names, "flush");
  /** Calls n = from .. to - 1 of a kind for every account, accounts side by side. */
  const batch = (kind: Kind, from: number, to: number) =>
    Promise.all(
      accounts.map(async (a) => {
        for (let n = from; n < to; n++) await send(base, kind.call(a, n), kind.expected, kind.name);
      }),
    );

  for (const kind of KINDS) await batch(kind, 0, METER.warmup);
  await flush();

  const byKind = {} as Record<KindName, KindCost>;
  const to = METER.warmup + METER.callsPerAccount;
  for (const kind of KINDS) {
    const before = await meters();
    await batch(kind, METER.warmup, to);
    const sent = await meters();
    await flush();
    const flushed = await meters();
    const calls = METER.callsPerAccount * accounts.length;
    const path = delta(sent, before);
    const requestPath = perCall(path, calls);
    const flushShare = perCall(delta(flushed, sent), calls);
    byKind[kind.name] = {
      ...plus(requestPath, flushShare),
      calls,
      accounts: accounts.length,
      requestPath,
      flush: flushShare,
      statementsPerCall: linesPerCall(path, calls),
    };
  }

  // One alarm's housekeeping, beside the flush it runs: what `tick` does on an idle account.
  const beforeTick = await meters();
  await rpc(server, "LEDGER", names, "tick");
  const ticked = delta(await meters(), beforeTick);
  const perAlarmTick = {
    ...perCall(ticked, accounts.length),
    statementsPerAlarm: linesPerCall(ticked, accounts.length),
  };
  return { byKind, perAlarmTick };
}

/** The floor's figures per call, from its objects' own counters on the forwarder's server. */
async function floorCost(server: Target): Promise<CallCost> {
  const auth = Array.from({ length: METER.accounts }, (_, i) => `Bearer floor-meter-${i + 1}`);
  const url = `${server.base}/floor${ROUTE}`;
  const call = async (authorization: string, n: number) => {
    const res = await fetch(url, {
      method: "POST",
      headers: { authorization, "content-type": "application/json" },
      body: JSON.stringify({ records: [{ domain: `floor-meter-${n}.example` }] }),
      signal: AbortSignal.timeout(15_000),
    });
    await res.text();
    if (res.status !== 200) throw new Error(`floor meter call: HTTP ${res.status}`);
  };
  const batch = (from: number, to: number) =>
    Promise.all(
      auth.map(async (a) => {
        for (let n = from; n < to; n++) await call(a, n);
      }),
    );
  await batch(0, METER.warmup);
  const before = await readMeters(server, "FLOOR", auth);
  await batch(METER.warmup, METER.warmup + METER.callsPerAccount);
  const after = await readMeters(server, "FLOOR", auth);
  return perCall(delta(after, before), METER.callsPerAccount * auth.length, false);
}

export const FLOOR_DEFINITION =
  "the floor route of the forwarder's worker (bench/forwarder): per call one Worker request and two RPCs to a FloorLedger Durable Object (hold, capture), each one transaction of an UPDATE of a one-row balance and an INSERT of an entry; no outbox, no D1";

/** Measures both; null when the servers have no control port (BENCH_RUNTIME=wrangler). */
export async function measureCosts(
  metered: Target | null,
  forwarder: Target,
): Promise<CostResult | null> {
  if (!metered?.control || !forwarder.control) {
    log("per-call costs: skipped (they need the Miniflare runtime's control port)");
    return null;
  }
  log(
    `per-call costs: ${METER.callsPerAccount} calls per kind on each of ${METER.accounts} metered ledgers, and the floor`,
  );
  const { byKind, perAlarmTick } = await gatewayCosts(metered);
  const floor = await floorCost(forwarder);
  const perCallByKind = {
    ...byKind,
    dedupePerRecord: marginal(
      byKind.on_success_records_5,
      byKind.on_success,
      RECORDS_PER_MULTI - 1,
    ),
  };
  const { calls, accounts, requestPath, flush, statementsPerCall, ...gateway } = byKind.on_success;
  return {
    perCall: { gateway, floor },
    perCallByKind,
    perAlarmTick,
    floorDefinition: FLOOR_DEFINITION,
  };
}

/**
 * USD per million calls at PRICES: one Worker request per call, `cpuMs` of CPU (the target's
 * workerd CPU per call in the spread phase: the worker, its Durable Objects and the demo upstream
 * share that process locally, so this overstates what Cloudflare bills as the Worker's CPU),
 * the call's Durable Object requests, rows and D1 rows, and `logLines` log events (the worker's
 * request log lines per call, with Workers Logs on).
 */
export function costPerMillion(
  cost: CallCost,
  cpuMs: number | null,
  logLines: number | null,
): CostLines {
  const usd = (units: number | null, price: number) =>
    units === null ? null : round(units * 1_000_000 * price, 4);
  const lines = {
    workerRequests: usd(1, PRICES.workerRequest),
    workerCpu: usd(cpuMs, PRICES.workerCpuMs),
    doRequests: usd(cost.doRequests, PRICES.doRequest),
    doRowsRead: usd(cost.rowsRead, PRICES.doRowRead),
    doRowsWritten: usd(cost.rowsWritten, PRICES.doRowWritten),
    d1RowsRead: usd(cost.d1RowsRead, PRICES.d1RowRead),
    d1RowsWritten: usd(cost.d1RowsWritten, PRICES.d1RowWritten),
    logEvents: usd(logLines, PRICES.logEvent),
  };
  const values = Object.values(lines);
  const total = values.some((v) => v === null)
    ? null
    : round(
        values.reduce<number>((n, v) => n + (v ?? 0), 0),
        4,
      );
  return { ...lines, total };
}
