/**
 * Load generation: autocannon's closed loop, an open loop at a fixed offered load, the tallies
 * of every request sent to each target (warm-ups and smoke calls included), and percentiles.
 */
import { Agent, request as httpRequest } from "node:http";
import autocannon from "autocannon";
import { loadBody, ROUTE } from "./config";

/** `held`: the gateway with its outbox flush and alarm held back (the tail's attribution). */
export type TargetName = "gateway" | "forwarder" | "floor" | "held";

export interface Tally {
  sent: number;
  completed: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

function newTally(): Tally {
  return { sent: 0, completed: 0, ok2xx: 0, non2xx: 0, errors: 0, timeouts: 0, statusCodes: {} };
}

/** Tallies of every request sent to a target, warm-ups and smoke checks included. */
export const tallies: Record<TargetName, Tally> = {
  gateway: newTally(),
  forwarder: newTally(),
  floor: newTally(),
  held: newTally(),
};

export interface FailureSample {
  status: number;
  body: string;
}
/** The first few non-2xx answers of each target, to say what went wrong. */
export const failureSamples: Record<TargetName, FailureSample[]> = {
  gateway: [],
  forwarder: [],
  floor: [],
  held: [],
};

export function sampleFailure(target: TargetName, status: number, body: string | null): void {
  if (status >= 200 && status < 300) return;
  const samples = failureSamples[target];
  if (samples.length < 5) samples.push({ status, body: String(body ?? "").slice(0, 400) });
}

/** One run's counts, as autocannon reports them (the open loop keeps the same shape). */
export type LoadResult = Pick<
  autocannon.Result,
  "duration" | "2xx" | "non2xx" | "errors" | "timeouts" | "statusCodeStats"
> & { requests: { sent: number; total: number } };

/** Adds one run's counts to a tally (a target's, or a phase's sum). */
export function addToTally(tally: Tally, result: LoadResult): void {
  tally.sent += result.requests.sent;
  tally.completed += result.requests.total;
  tally.ok2xx += result["2xx"];
  tally.non2xx += result.non2xx;
  tally.errors += result.errors;
  tally.timeouts += result.timeouts;
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    tally.statusCodes[code] = (tally.statusCodes[code] ?? 0) + (stats.count ?? 0);
  }
}

export interface LoadSpec {
  /** The target's base URL; it may carry a path prefix (the floor's `/floor`). */
  base: string;
  keys: string[];
  connections: number;
  seconds: number;
  target: TargetName;
  /** Offered requests/s over all connections (open loop); absent or 0: closed loop. */
  rate?: number;
}

export interface LoadRun {
  result: LoadResult;
  /** Every answered request's latency in ms, sorted. */
  latencies: number[];
  /**
   * Open loop only: each answered request's send time and latency, beside the gateway's own
   * account of it where the answer carries one (bench/tail.ts). Says what slow calls waited for.
   */
  timings: CallTiming[];
}

export interface CallTiming {
  /** Wall clock (Date.now()) when the request was sent, to set beside the ledgers' flushes. */
  sentAt: number;
  latencyMs: number;
  /**
   * The gateway's `Server-Timing`: `gateway` = its time minus the upstream's (both ledger round
   * trips included), `upstream` = the forward. Null when the answer has none (the forwarder).
   */
  gatewayMs: number | null;
  upstreamMs: number | null;
}

/** `gateway;dur=3, upstream;dur=2` -> the two durations, or nulls. */
function serverTiming(
  header: string | string[] | undefined,
): Pick<CallTiming, "gatewayMs" | "upstreamMs"> {
  const text = Array.isArray(header) ? header.join(",") : (header ?? "");
  const gateway = /gateway;dur=([\d.]+)/.exec(text)?.[1];
  const upstream = /upstream;dur=([\d.]+)/.exec(text)?.[1];
  return gateway === undefined || upstream === undefined
    ? { gatewayMs: null, upstreamMs: null }
    : { gatewayMs: Number(gateway), upstreamMs: Number(upstream) };
}

/** The run in progress, so Ctrl-C and the watchdog can stop it. */
let activeLoad: { stop(): void } | null = null;

export function stopLoad(): void {
  activeLoad?.stop();
}

/** The key of the n-th request: round robin over the keys. */
function keyAt(keys: string[], n: number): string {
  const key = keys[n % keys.length];
  if (key === undefined) throw new Error("no keys to load with");
  return key;
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? null;
}

/**
 * One autocannon run, closed loop: each connection sends its next request as soon as the previous
 * one is answered. Latencies are kept at full (sub-ms) precision from the response events.
 */
function closedLoop({ base, keys, connections, seconds, target }: LoadSpec): Promise<LoadRun> {
  const url = new URL(`${base}${ROUTE}`);
  let next = 0;
  const requests: autocannon.Request[] = [
    {
      method: "POST",
      path: url.pathname,
      headers: { "content-type": "application/json" },
      setupRequest: (req) => {
        const key = keyAt(keys, next);
        next += 1;
        // A record of its own per request: with dedupe a repeated one would not be charged.
        return {
          ...req,
          headers: { ...req.headers, authorization: `Bearer ${key}` },
          body: loadBody(),
        };
      },
      onResponse: (status, body) => sampleFailure(target, status, body),
    },
  ];
  const latencies: number[] = [];
  const options = { url: url.origin, connections, duration: seconds, requests, timeout: 10 };
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => {
      activeLoad = null;
      if (error) return reject(error);
      addToTally(tallies[target], result);
      latencies.sort((a, b) => a - b);
      resolve({ result, latencies, timings: [] });
    });
    activeLoad = instance;
    instance.on("response", (_client, _status, _bytes, ms) => latencies.push(ms));
  });
}

/**
 * Open loop at a fixed offered load: one request every 1000 / rate ms, evenly spaced, over at
 * most `connections` keep-alive connections, each latency timed from its own send. (autocannon's
 * per-connection rate starts every connection on the same tick, so its requests arrive in
 * bursts of `connections` and the latency measured is mostly the burst's queue.)
 */
function openLoop(spec: LoadSpec & { rate: number }): Promise<LoadRun> {
  const { base, keys, connections, seconds, target, rate } = spec;
  const url = new URL(`${base}${ROUTE}`);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  const timings: CallTiming[] = [];
  const result: LoadResult = {
    duration: seconds,
    requests: { sent: 0, total: 0 },
    "2xx": 0,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    statusCodeStats: {},
  };
  let next = 0;
  let inFlight = 0;
  let stopped = false;
  const send = () => {
    const key = keyAt(keys, next);
    next += 1;
    // A record of its own per request: with dedupe a repeated one would not be charged.
    const body = loadBody();
    result.requests.sent += 1;
    inFlight += 1;
    const sentAt = Date.now();
    const started = performance.now();
    const req = httpRequest(
      url,
      {
        method: "POST",
        agent,
        timeout: 10_000,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          authorization: `Bearer ${key}`,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => {
          inFlight -= 1;
          const latencyMs = performance.now() - started;
          latencies.push(latencyMs);
          timings.push({ sentAt, latencyMs, ...serverTiming(res.headers["server-timing"]) });
          result.requests.total += 1;
          const code = res.statusCode ?? 0;
          result.statusCodeStats ??= {};
          const stats = result.statusCodeStats;
          const key = `${code}` as const;
          stats[key] = { count: (stats[key]?.count ?? 0) + 1 };
          if (code >= 200 && code < 300) result["2xx"] += 1;
          else {
            result.non2xx += 1;
            sampleFailure(target, code, text);
          }
        });
      },
    );
    req.on("timeout", () => {
      result.timeouts += 1;
      req.destroy(new Error("timeout"));
    });
    req.on("error", (error) => {
      inFlight -= 1;
      result.errors += 1;
      // Status 0: no answer; the message says why (a reset, a refused connection, ...).
      sampleFailure(target, 0, `request error: ${error.message}`);
    });
    req.end(body);
  };
  return new Promise((resolve) => {
    const interval = 1000 / rate;
    const begin = performance.now();
    let sent = 0;
    const finish = () => {
      if (inFlight > 0) {
        setTimeout(finish, 5);
        return;
      }
      agent.destroy();
      activeLoad = null;
      addToTally(tallies[target], result);
      latencies.sort((a, b) => a - b);
      resolve({ result, latencies, timings });
    };
    const tick = () => {
      if (stopped) return;
      const due = Math.floor((performance.now() - begin) / interval) + 1;
      while (sent < due && performance.now() - begin < seconds * 1000) {
        sent += 1;
        send();
      }
      if (performance.now() - begin >= seconds * 1000) {
        stopped = true;
        finish();
        return;
      }
      setTimeout(tick, Math.max(0, begin + sent * interval - performance.now()));
    };
    activeLoad = {
      stop: () => {
        stopped = true;
        agent.destroy();
      },
    };
    tick();
  });
}

/** Closed loop when no rate is given, else a fixed offered load. */
export function load(spec: LoadSpec): Promise<LoadRun> {
  const rate = spec.rate ?? 0;
  return rate > 0 ? openLoop({ ...spec, rate }) : closedLoop(spec);
}
