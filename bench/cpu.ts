/**
 * CPU accounting from Linux /proc (skipped elsewhere). On a small shared machine req/s moves
 * with whatever else runs; CPU time per request of each process does not, so it is measured
 * too, with the CPU the load generator and the rest of the machine used meanwhile.
 *
 * A target is a process group (its server's guard leads it, see test/e2e/support/wrangler.ts);
 * each of its processes is counted under its kind: `workerd` (the workers), `proxy` (wrangler
 * dev's proxy workerd), `host` (the Node process that runs the runtime and receives the
 * workers' log lines), and the guard, the launcher and esbuild, which only count in the total.
 */
import { readdirSync, readFileSync } from "node:fs";
import { cpuUsage, platform } from "node:process";
import { CONFIG, round } from "./config";

const CLK_TCK = 100;
export const HAS_PROC = platform === "linux";
/** The kinds whose CPU ms per request the report shows, and whose restart is a problem. */
const WATCHED = ["workerd", "proxy", "host"] as const;
type Watched = (typeof WATCHED)[number];

function isWatched(label: string): label is Watched {
  return WATCHED.some((kind) => kind === label);
}

interface ProcessSample {
  label: string;
  ticks: number;
}
/** Per process group (pgid), its processes by pid. */
type GroupTicks = Map<number, Map<string, ProcessSample>>;

export interface CpuSnapshot {
  at: number;
  groups: GroupTicks;
  /** Busy ticks of the whole machine. */
  machine: number;
  /** CPU ms of this process (the load generator). */
  self: number;
}

/** CPU used between two snapshots: the target's ms per process kind, and the rest. */
export interface CpuUsed {
  seconds: number;
  target: Record<string, number>;
  serversMs: number;
  loadGenMs: number;
  machineMs: number;
}

export interface CpuReport {
  msPerRequest: Partial<Record<Watched, number | null>> & { total: number | null };
  targetCores: number | null;
  loadGeneratorCores: number | null;
  otherCores: number | null;
}

/** utime + stime (ticks) and process group of a pid, or null if it is gone. */
function procTicks(pid: string): { pgrp: number; ticks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { pgrp: Number(fields[2]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

function processLabel(pid: string): string {
  let cmd = "";
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "gone";
  }
  // The guard's command line names the command it runs: it is told apart first.
  if (cmd.includes("guard.mjs")) return "guard";
  // wrangler dev runs the worker's workerd (with an inspector) behind a proxy workerd;
  // Miniflare runs one workerd. "host" is the Node process that drives it and gets its logs.
  if (cmd.includes("workerd")) {
    return CONFIG.runtime === "wrangler" && !cmd.includes("--inspector-addr") ? "proxy" : "workerd";
  }
  if (cmd.includes("cli.js") || cmd.includes("serve.ts")) return "host";
  if (cmd.includes("esbuild")) return "esbuild";
  return "launcher";
}

/** Ticks and kind of every process in the process groups `pgids`, by group and pid. */
function groupTicks(pgids: number[]): GroupTicks {
  const byGroup: GroupTicks = new Map(pgids.map((g) => [g, new Map()]));
  if (!HAS_PROC) return byGroup;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procTicks(name);
    const pids = stat ? byGroup.get(stat.pgrp) : undefined;
    if (stat && pids) pids.set(name, { label: processLabel(name), ticks: stat.ticks });
  }
  return byGroup;
}

/** CPU ms used between two snapshots by a group, per process kind (a new process counts whole). */
function usedByLabel(
  before: Map<string, ProcessSample> | undefined,
  after: Map<string, ProcessSample> | undefined,
): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [pid, { label, ticks }] of after ?? []) {
    const old = before?.get(pid);
    const delta = ticks - (old && old.label === label ? old.ticks : 0);
    used[label] = (used[label] ?? 0) + (delta * 1000) / CLK_TCK;
  }
  return used;
}

/** Busy ticks of the whole machine (all cores). */
function machineBusyTicks(): number {
  if (!HAS_PROC) return 0;
  const first = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const [, ...values] = first.trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = values.map(Number);
  return user + nice + system + irq + softirq + steal;
}

export function cpuSnapshot(pgids: number[]): CpuSnapshot {
  const usage = cpuUsage();
  return {
    at: performance.now(),
    groups: groupTicks(pgids),
    machine: machineBusyTicks(),
    self: (usage.user + usage.system) / 1000,
  };
}

/** Kinds of the target's processes (workerd, proxy, host) that exited or were replaced. */
export function replacedProcesses(before: CpuSnapshot, after: CpuSnapshot, pgid: number): string[] {
  const then = before.groups.get(pgid) ?? new Map<string, ProcessSample>();
  const now = after.groups.get(pgid) ?? new Map<string, ProcessSample>();
  const replaced = new Set<string>();
  for (const [pid, { label }] of then) if (!now.has(pid) && isWatched(label)) replaced.add(label);
  for (const [pid, { label }] of now) if (!then.has(pid) && isWatched(label)) replaced.add(label);
  return [...replaced];
}

/** CPU use between two snapshots: the target's ms per process kind, and the rest. */
export function cpuUsed(before: CpuSnapshot, after: CpuSnapshot, targetPgid: number): CpuUsed {
  const raw: CpuUsed = {
    seconds: (after.at - before.at) / 1000,
    target: {},
    serversMs: 0,
    loadGenMs: after.self - before.self,
    machineMs: ((after.machine - before.machine) * 1000) / CLK_TCK,
  };
  for (const [pgid, processes] of after.groups) {
    const used = usedByLabel(before.groups.get(pgid), processes);
    for (const [label, ms] of Object.entries(used)) {
      raw.serversMs += ms;
      if (pgid === targetPgid) raw.target[label] = (raw.target[label] ?? 0) + ms;
    }
  }
  return raw;
}

export function newCpuUsed(): CpuUsed {
  return { seconds: 0, target: {}, serversMs: 0, loadGenMs: 0, machineMs: 0 };
}

export function addCpu(sum: CpuUsed, raw: CpuUsed): void {
  sum.seconds += raw.seconds;
  sum.serversMs += raw.serversMs;
  sum.loadGenMs += raw.loadGenMs;
  sum.machineMs += raw.machineMs;
  for (const [label, ms] of Object.entries(raw.target)) {
    sum.target[label] = (sum.target[label] ?? 0) + ms;
  }
}

/** CPU ms per completed request of the target's processes, and what else kept the cores busy. */
export function cpuReport(sum: CpuUsed, requests: number): CpuReport | null {
  if (!HAS_PROC || sum.seconds === 0) return null;
  const perRequest: Partial<Record<Watched, number | null>> = {};
  let targetMs = 0;
  for (const [label, ms] of Object.entries(sum.target)) {
    targetMs += ms;
    if (isWatched(label)) perRequest[label] = requests > 0 ? round(ms / requests, 3) : null;
  }
  const otherMs = Math.max(0, sum.machineMs - sum.serversMs - sum.loadGenMs);
  return {
    msPerRequest: { ...perRequest, total: requests > 0 ? round(targetMs / requests, 3) : null },
    targetCores: round(targetMs / 1000 / sum.seconds),
    loadGeneratorCores: round(sum.loadGenMs / 1000 / sum.seconds),
    otherCores: round(otherMs / 1000 / sum.seconds),
  };
}
