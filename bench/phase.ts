/**
 * The measured runs: the smoke check before them, and each phase, a warm-up per target and then
 * its time cut into slices interleaved across the targets, with CPU accounting per slice.
 */
import { BODY, CONFIG, log, ROUTE, round } from "./config";
import {
  addCpu,
  type CpuReport,
  type CpuUsed,
  cpuReport,
  cpuSnapshot,
  cpuUsed,
  newCpuUsed,
  replacedProcesses,
} from "./cpu";
import {
  addToTally,
  type CallTiming,
  load,
  percentile,
  sampleFailure,
  type Tally,
  type TargetName,
  tallies,
} from "./load";
import { type Account, inBatches } from "./seed";
import type { Target } from "./servers";

/** Flips to true on Ctrl-C: no further slice starts. */
let stopping = false;
export function stopPhases(): void {
  stopping = true;
}

export interface PhaseResult extends Tally {
  phase: string;
  target: TargetName;
  connections: number;
  durationSeconds: number | null;
  rps: number | null;
  okRps: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  cpu: CpuReport | null;
  replacedProcesses: string[];
}

/**
 * Every open-loop call's timing of a phase and target, by `phase/target`, for the tail's
 * attribution (bench/tail.ts); kept out of the results (a few thousand entries).
 */
export const callTimings = new Map<string, CallTiming[]>();

/** Totals of one target over the slices of a phase. */
interface PhaseSum extends Tally {
  seconds: number;
  latencies: number[];
  timings: CallTiming[];
  cpu: CpuUsed;
  replaced: Set<string>;
}

function newPhaseSum(): PhaseSum {
  return {
    seconds: 0,
    sent: 0,
    completed: 0,
    ok2xx: 0,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    statusCodes: {},
    latencies: [],
    timings: [],
    cpu: newCpuUsed(),
    replaced: new Set(),
  };
}

export interface PhaseSpec {
  name: string;
  keys: string[];
  connections: number;
  /** Offered requests/s (open loop); absent: closed loop. */
  rate?: number;
  /** The targets, in slice order. */
  targets: Array<{ name: TargetName; server: Target }>;
  /** Process groups of all servers, for the CPU accounting. */
  pgids: number[];
  /** One phase's own timing instead of the knobs': warm-up and measured seconds, slices. */
  timing?: { warmupSeconds: number; durationSeconds: number; slices: number };
}

interface SliceSpec extends Omit<PhaseSpec, "name" | "targets" | "timing"> {
  server: Target;
  target: TargetName;
  seconds: number;
}

async function slice(sum: PhaseSum, spec: SliceSpec): Promise<void> {
  const { server, pgids, ...loadSpec } = spec;
  if (stopping) throw new Error("stopped");
  server.requireAlive();
  const cpuBefore = cpuSnapshot(pgids);
  const { result, latencies, timings } = await load({ ...loadSpec, base: server.base });
  const cpuAfter = cpuSnapshot(pgids);
  server.requireAlive();
  for (const label of replacedProcesses(cpuBefore, cpuAfter, server.pgid)) sum.replaced.add(label);
  addCpu(sum.cpu, cpuUsed(cpuBefore, cpuAfter, server.pgid));
  sum.seconds += result.duration;
  addToTally(sum, result);
  for (const ms of latencies) sum.latencies.push(ms);
  for (const t of timings) sum.timings.push(t);
}

function phaseResult(
  name: string,
  target: TargetName,
  connections: number,
  sum: PhaseSum,
): PhaseResult {
  const latencies = sum.latencies.sort((a, b) => a - b);
  if (sum.timings.length > 0) callTimings.set(`${name}/${target}`, sum.timings);
  return {
    phase: name,
    target,
    connections,
    durationSeconds: round(sum.seconds),
    rps: round(sum.completed / sum.seconds, 1),
    okRps: round(sum.ok2xx / sum.seconds, 1),
    p50Ms: round(percentile(latencies, 50)),
    p90Ms: round(percentile(latencies, 90)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(latencies[latencies.length - 1]),
    sent: sum.sent,
    completed: sum.completed,
    ok2xx: sum.ok2xx,
    non2xx: sum.non2xx,
    errors: sum.errors,
    timeouts: sum.timeouts,
    statusCodes: sum.statusCodes,
    cpu: cpuReport(sum.cpu, sum.completed),
    replacedProcesses: [...sum.replaced],
  };
}

/**
 * One phase for its targets: a warm-up each (not counted), then the measured time cut into
 * slices run in the order of `targets`, then reversed, and so on (gateway, forwarder,
 * forwarder, gateway, ...; with the floor gateway, forwarder, floor, floor, forwarder, gateway,
 * ...), so every target meets the same background load on a shared machine (a steady drift
 * cancels out).
 */
export async function phase(spec: PhaseSpec): Promise<PhaseResult[]> {
  const { name, targets, pgids, timing, ...loadSpec } = spec;
  const { warmupSeconds, durationSeconds, slices } = timing ?? CONFIG;
  const how = `${spec.connections} connection${spec.connections === 1 ? "" : "s"}`;
  const entries = targets.map(({ name: target, server }) => ({
    target,
    server,
    sum: newPhaseSum(),
  }));
  log(
    `${name}: ${entries.map((e) => e.target).join(", ")}: ${warmupSeconds} s warm-up each, then ${durationSeconds} s each in ${slices} slices, ${how}`,
  );
  if (warmupSeconds > 0) {
    for (const { target, server } of entries) {
      if (stopping) throw new Error("stopped");
      server.requireAlive();
      await load({ ...loadSpec, base: server.base, seconds: warmupSeconds, target });
    }
  }
  const seconds = durationSeconds / slices;
  for (let i = 0; i < slices; i++) {
    const order = i % 2 === 0 ? entries : entries.toReversed();
    for (const { target, server, sum } of order) {
      await slice(sum, { ...loadSpec, pgids, server, target, seconds });
    }
  }
  return entries.map(({ target, sum }) => phaseResult(name, target, spec.connections, sum));
}

/**
 * One request per key through the gateway, one through the forwarder and one through the floor:
 * all must answer 200 with the same body, and the gateway must charge each call's credits.
 */
export async function smoke(
  gateway: Target,
  forwarder: Target,
  floor: Target,
  accounts: Account[],
): Promise<void> {
  const call = async (base: string, key: string, target: TargetName) => {
    const tally = tallies[target];
    tally.sent += 1;
    const res = await fetch(`${base}${ROUTE}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: BODY,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    sampleFailure(target, res.status, text);
    tally.completed += 1;
    tally.statusCodes[res.status] = (tally.statusCodes[res.status] ?? 0) + 1;
    if (res.ok) tally.ok2xx += 1;
    else tally.non2xx += 1;
    return { status: res.status, text, charged: res.headers.get("x-credits-charged") };
  };
  const direct = await call(forwarder.base, "unused", "forwarder");
  if (direct.status !== 200) {
    throw new Error(`forwarder smoke call: HTTP ${direct.status} ${direct.text.slice(0, 300)}`);
  }
  const first = accounts[0];
  if (!first) throw new Error("no accounts");
  const floored = await call(floor.base, first.memberKey, "floor");
  if (floored.status !== 200) {
    throw new Error(`floor smoke call: HTTP ${floored.status} ${floored.text.slice(0, 300)}`);
  }
  if (floored.text !== direct.text) {
    throw new Error(`floor and forwarder bodies differ:\n${floored.text}\n${direct.text}`);
  }
  await inBatches(accounts, 10, async (a) => {
    const res = await call(gateway.base, a.memberKey, "gateway");
    if (res.status !== 200) {
      throw new Error(
        `gateway smoke call for ${a.id}: HTTP ${res.status} ${res.text.slice(0, 300)}`,
      );
    }
    if (res.text !== direct.text) {
      throw new Error(`gateway and forwarder bodies differ:\n${res.text}\n${direct.text}`);
    }
    if (res.charged !== String(CONFIG.creditsPerCall)) {
      throw new Error(`gateway charged ${res.charged} credits, expected ${CONFIG.creditsPerCall}`);
    }
  });
}
