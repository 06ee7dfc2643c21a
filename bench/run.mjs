#!/usr/bin/env node
/**
 * `npm run bench`: the gateway against a bare Hono forwarder to the same upstream (SPEC §10).
 *
 * Starts two servers on 127.0.0.1 (gateway + demo upstream, forwarder + demo upstream), each in
 * its own workerd with a throw-away persist dir: by default Miniflare from Node (bench/serve.mjs,
 * no inspector session), or `wrangler dev` with BENCH_RUNTIME=wrangler (its DevTools plumbing
 * taxes every log line: see serve.mjs). Applies the D1 migrations; seeds accounts
 * through the gateway's HTTP API; loads both with autocannon (one hot key, keys spread over all
 * accounts, latency at 10 connections and at 1); in the spread phase also the floor (the
 * forwarder's `/floor` route: the two ledger round trips the design requires and nothing else,
 * see bench/forwarder/index.ts); waits for the ledgers' outboxes to reach D1 and
 * counts D1 writes per settled call; prints a table and writes bench/results.json (gitignored).
 * The workers are bundled once at the start, so edits made while it runs change nothing.
 *
 * Every process it starts is stopped by its id (also on errors and Ctrl-C); the temp dir is removed.
 * Knobs (environment): BENCH_RUNTIME (miniflare | wrangler), BENCH_STATE (memory | disk), BENCH_ACCOUNTS, BENCH_CONNECTIONS, BENCH_LATENCY_CONNECTIONS,
 * BENCH_DURATION (s per target and phase), BENCH_SLICES, BENCH_WARMUP (s), BENCH_EXPORT_EVENTS (usage events the CSV
 * export phase streams; Miniflare only, see bench/export.mjs), BENCH_KEEP_TMP=1 (keep logs and state for a post-mortem).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { measureExport } from "./export.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const RESULTS_FILE = path.join(ROOT, "bench", "results.json");

function intFromEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${raw}`);
  }
  return value;
}

const RUNTIMES = ["miniflare", "wrangler"];
const RUNTIME = process.env.BENCH_RUNTIME || "miniflare";
if (!RUNTIMES.includes(RUNTIME)) {
  throw new Error(`BENCH_RUNTIME must be one of ${RUNTIMES.join(", ")}, got ${RUNTIME}`);
}
const SERVE = path.join(ROOT, "bench", "serve.mjs");
/**
 * Where the servers keep their throw-away state (Durable Object SQLite files, D1). Locally each
 * ledger commit is an fsync on the machine's disk that blocks workerd's one thread; a deployed
 * Durable Object's storage does not work that way. `memory` (the default) puts the state on
 * tmpfs (/dev/shm) so the figures show the gateway's own work; `disk` keeps it in the temp dir.
 */
const STATES = ["memory", "disk"];
const STATE = process.env.BENCH_STATE || "memory";
if (!STATES.includes(STATE)) {
  throw new Error(`BENCH_STATE must be one of ${STATES.join(", ")}, got ${STATE}`);
}
function stateRoot() {
  if (STATE === "memory") {
    try {
      readdirSync("/dev/shm");
      return "/dev/shm";
    } catch {
      process.stderr.write("[bench] no /dev/shm here: state stays on disk\n");
    }
  }
  return tmpdir();
}

const CONFIG = {
  runtime: RUNTIME,
  state: STATE,
  accounts: intFromEnv("BENCH_ACCOUNTS", 50, 1, 200),
  connections: intFromEnv("BENCH_CONNECTIONS", 50, 1, 200),
  latencyConnections: intFromEnv("BENCH_LATENCY_CONNECTIONS", 10, 1, 200),
  /** Offered load of the latency phase in requests/s over all its connections (0: closed loop). */
  latencyRate: intFromEnv("BENCH_LATENCY_RATE", 100, 0, 100_000),
  durationSeconds: intFromEnv("BENCH_DURATION", 9, 1, 20),
  slices: intFromEnv("BENCH_SLICES", 3, 1, 10),
  warmupSeconds: intFromEnv("BENCH_WARMUP", 2, 0, 10),
  /** Usage events the export phase streams as CSV (Miniflare runtime only). */
  exportEvents: intFromEnv("BENCH_EXPORT_EVENTS", 100_000, 1_000, 1_000_000),
  grantCredits: 10_000_000,
  creditsPerCall: 10,
};
const TARGETS = {
  spreadRatio: 0.5,
  addedP50Ms: 3,
  d1WritesPerSettledCall: 1 / 25,
  exportEventsPerSec: 20_000,
};
/** Hard ceiling on the whole run: past it everything is stopped and the run fails. */
const WATCHDOG_MS = 290_000;
const ROUTE = "/v1/enrichment/companies";
const BODY = JSON.stringify({ records: [{ domain: "acme.com" }] });
const OPERATOR_TOKEN = `bench-${randomBytes(16).toString("hex")}`;
const UPSTREAM_TOKEN = `bench-upstream-${randomBytes(8).toString("hex")}`;
/** wrangler's environment; its debug log (every worker log line included) goes to the temp dir. */
function wranglerEnv(label) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_LOG_PATH: path.join(tmp, "wrangler-logs", label.replace(/\W+/g, "-")),
    NO_COLOR: "1",
    FORCE_COLOR: "0",
  };
}

// ---- process bookkeeping: everything started here is stopped here, by id -------------------

const children = new Set();
let activeLoad = null;
let tmp = null;
let cleaning = null;
let stopping = false;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value, digits = 2) =>
  value === null || !Number.isFinite(value) ? null : Number(value.toFixed(digits));

function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child, ms) {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** True while any process of the child's own process group (wrangler's workerd) is alive. */
function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * SIGTERM to the node process that runs wrangler, then wait; wrangler stops its workerd
 * processes itself. Anything still alive in the process group we created for it after the
 * timeout gets SIGKILL (that group holds only what this child started).
 */
async function stopChild(child) {
  const pid = child.pid;
  if (!exited(child)) {
    child.kill("SIGTERM");
    if (!(await waitForExit(child, 5000))) {
      log(`${child.label} (pid ${pid}) ignored SIGTERM for 5 s: SIGKILL`);
      signalGroup(pid, "SIGKILL");
      await waitForExit(child, 2000);
    }
  }
  for (let i = 0; i < 30 && groupAlive(pid); i++) await sleep(100);
  if (groupAlive(pid)) {
    log(`${child.label}: processes of group ${pid} still alive after exit: SIGKILL`);
    signalGroup(pid, "SIGKILL");
  }
  children.delete(child);
}

function cleanup() {
  if (!cleaning) {
    cleaning = (async () => {
      if (activeLoad) activeLoad.stop();
      await Promise.all([...children].map(stopChild));
      if (tmp && process.env.BENCH_KEEP_TMP !== "1") rmSync(tmp, { recursive: true, force: true });
      else if (tmp) log(`kept ${tmp}`);
    })();
  }
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    stopping = true;
    log(`${signal}: stopping everything`);
    cleanup().finally(() => process.exit(130));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function logTail(file, lines = 40) {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Runs wrangler to completion (migrations), output to a log file. */
async function runWrangler(label, args, logFile) {
  const fd = openSync(logFile, "a");
  const child = spawn(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env: wranglerEnv(label),
    stdio: ["ignore", fd, fd],
    detached: true,
  });
  closeSync(fd);
  child.label = label;
  children.add(child);
  const code = await new Promise((resolve) => child.once("exit", (c, s) => resolve(c ?? s)));
  await stopChild(child);
  if (code !== 0) throw new Error(`${label} exited with ${code}:\n${logTail(logFile)}`);
}

/**
 * Others may edit the sources while the bench runs, and `wrangler dev` reloads on every change
 * (in-flight calls then fail and the figures mix two builds). So each worker is bundled once,
 * as `wrangler deploy --dry-run` would ship it, and served from a copy of its config in the temp
 * dir with `no_bundle = true`; relative paths in that config are made absolute.
 */
async function snapshot(label, config, logFile) {
  const outDir = path.join(tmp, "build", label);
  await runWrangler(
    `bundle ${label}`,
    ["deploy", "--dry-run", "--outdir", outDir, "-c", config],
    logFile,
  );
  const configPath = path.resolve(ROOT, config);
  const configDir = path.dirname(configPath);
  const text = readFileSync(configPath, "utf8")
    .replace(/^main\s*=.*$/m, 'main = "index.js"\nno_bundle = true')
    .replace(
      /^(\s*(?:directory|migrations_dir)\s*=\s*)"([^"]+)"/gm,
      (_, key, value) => `${key}${JSON.stringify(path.resolve(configDir, value))}`,
    );
  const snapshotConfig = path.join(outDir, "wrangler.toml");
  writeFileSync(snapshotConfig, text);
  return snapshotConfig;
}

/** Starts `wrangler dev` for a config plus the demo upstream and waits until the port answers. */
async function startDev(label, configs, persistTo, vars, logFile) {
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    "dev",
    ...configs.flatMap((config) => ["-c", config]),
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistTo,
    "--log-level",
    "warn",
    "--show-interactive-dev-session=false",
  ];
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const fd = openSync(logFile, "a");
  const child = spawn(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env: wranglerEnv(label),
    stdio: ["ignore", fd, fd],
    detached: true,
  });
  closeSync(fd);
  child.label = label;
  children.add(child);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited(child)) {
      throw new Error(
        `${label} exited during start-up (${child.exitCode ?? child.signalCode}):\n${logTail(logFile)}`,
      );
    }
    try {
      const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return { child, base, port, logFile };
    } catch {
      await sleep(200);
    }
  }
  throw new Error(`${label} did not answer on ${base} within 60 s:\n${logTail(logFile)}`);
}

/**
 * Starts bench/serve.mjs (Miniflare from Node) for bundled configs, the first one on the port,
 * and waits for its "ready" line. It runs in its own process group, like wrangler dev.
 */
async function startMiniflare(label, configs, persistTo, vars, logFile, migrationsDir, seedUsage) {
  const port = await freePort();
  const specFile = path.join(tmp, `${label}-serve.json`);
  writeFileSync(
    specFile,
    JSON.stringify({
      port,
      persistTo,
      logFile,
      migrationsDir,
      seedUsage,
      workers: configs.map((config, i) => ({ config, vars: i === 0 ? vars : {} })),
    }),
  );
  const fd = openSync(logFile, "a");
  const child = spawn(process.execPath, [SERVE, specFile], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", fd],
    detached: true,
  });
  closeSync(fd);
  child.label = label;
  children.add(child);
  const ready = await new Promise((resolve) => {
    let out = "";
    const timer = setTimeout(() => resolve(null), 60_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const line = /ready (\S+)/.exec(out);
      if (line) {
        clearTimeout(timer);
        resolve(line[1]);
      }
    });
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
  if (!ready) throw new Error(`${label} did not start within 60 s:\n${logTail(logFile)}`);
  child.stdout.resume();
  return { child, base: `http://127.0.0.1:${port}`, port, logFile };
}

// ---- CPU accounting (Linux /proc; skipped elsewhere) -----------------------------------------
// On a small shared machine req/s moves with whatever else runs; CPU time per request of each
// process does not, so it is measured too, with the CPU the rest of the machine used meanwhile.

const CLK_TCK = 100;
const HAS_PROC = process.platform === "linux";

/** utime + stime (ticks) and process group of a pid, or null if it is gone. */
function procTicks(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { pgrp: Number(fields[2]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

function processLabel(pid) {
  let cmd = "";
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "gone";
  }
  // wrangler dev runs the worker's workerd (with an inspector) behind a proxy workerd;
  // Miniflare runs one workerd. "host" is the Node process that drives it and gets its logs.
  if (cmd.includes("workerd")) {
    return RUNTIME === "wrangler" && !cmd.includes("--inspector-addr") ? "proxy" : "workerd";
  }
  if (cmd.includes("cli.js") || cmd.includes("serve.mjs")) return "host";
  if (cmd.includes("esbuild")) return "esbuild";
  return "launcher";
}

/** Ticks and kind of every process in the process groups `groups` (pgids), by group and pid. */
function groupTicks(groups) {
  const byGroup = new Map(groups.map((g) => [g, new Map()]));
  if (!HAS_PROC) return byGroup;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procTicks(name);
    const pids = stat ? byGroup.get(stat.pgrp) : undefined;
    if (pids) pids.set(name, { label: processLabel(name), ticks: stat.ticks });
  }
  return byGroup;
}

/** CPU ms used between two snapshots by a group, per process kind (a new process counts whole). */
function usedByLabel(before, after) {
  const used = {};
  for (const [pid, { label, ticks }] of after ?? []) {
    const old = before?.get(pid);
    const delta = ticks - (old && old.label === label ? old.ticks : 0);
    used[label] = (used[label] ?? 0) + (delta * 1000) / CLK_TCK;
  }
  return used;
}

/** Busy ticks of the whole machine (all cores). */
function machineBusyTicks() {
  if (!HAS_PROC) return 0;
  const [, ...values] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number);
  return user + nice + system + irq + softirq + steal;
}

function cpuSnapshot(groups) {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    groups: groupTicks(groups),
    machine: machineBusyTicks(),
    self: (usage.user + usage.system) / 1000,
  };
}

/** Kinds of the target's processes (workerd, proxy, host) that exited or were replaced. */
function replacedProcesses(before, after, group) {
  const then = before.groups.get(group) ?? new Map();
  const now = after.groups.get(group) ?? new Map();
  const watched = new Set(["workerd", "proxy", "host"]);
  const replaced = new Set();
  for (const [pid, { label }] of then) if (!now.has(pid) && watched.has(label)) replaced.add(label);
  for (const [pid, { label }] of now) if (!then.has(pid) && watched.has(label)) replaced.add(label);
  return [...replaced];
}

/** Raw CPU use between two snapshots: the target's ms per process kind, and the rest. */
function cpuUsed(before, after, targetGroup) {
  const raw = { seconds: (after.at - before.at) / 1000, target: {}, serversMs: 0 };
  for (const group of after.groups.keys()) {
    const used = usedByLabel(before.groups.get(group), after.groups.get(group));
    for (const [label, ms] of Object.entries(used)) {
      raw.serversMs += ms;
      if (group === targetGroup) raw.target[label] = (raw.target[label] ?? 0) + ms;
    }
  }
  raw.loadGenMs = after.self - before.self;
  raw.machineMs = ((after.machine - before.machine) * 1000) / CLK_TCK;
  return raw;
}

function addCpu(sum, raw) {
  sum.seconds += raw.seconds;
  sum.serversMs += raw.serversMs;
  sum.loadGenMs += raw.loadGenMs;
  sum.machineMs += raw.machineMs;
  for (const [label, ms] of Object.entries(raw.target)) {
    sum.target[label] = (sum.target[label] ?? 0) + ms;
  }
}

/** CPU ms per completed request of the target's processes, and what else kept the cores busy. */
function cpuReport(sum, requests) {
  if (!HAS_PROC || sum.seconds === 0) return null;
  const perRequest = {};
  let targetMs = 0;
  for (const [label, ms] of Object.entries(sum.target)) {
    targetMs += ms;
    if (label === "workerd" || label === "proxy" || label === "host") {
      perRequest[label] = requests > 0 ? round(ms / requests, 3) : null;
    }
  }
  const otherMs = Math.max(0, sum.machineMs - sum.serversMs - sum.loadGenMs);
  return {
    msPerRequest: { ...perRequest, total: requests > 0 ? round(targetMs / requests, 3) : null },
    targetCores: round(targetMs / 1000 / sum.seconds),
    loadGeneratorCores: round(sum.loadGenMs / 1000 / sum.seconds),
    otherCores: round(otherMs / 1000 / sum.seconds),
  };
}

// ---- the gateway's HTTP API ----------------------------------------------------------------

async function api(base, method, route, token, body) {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: reported below
  }
  return { status: res.status, json, text };
}

async function expectStatus(promise, status, what) {
  const res = await promise;
  if (res.status !== status)
    throw new Error(`${what}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return res.json;
}

async function seedAccount(base, index) {
  const id = `bench-${String(index + 1).padStart(3, "0")}`;
  const op = (method, route, body) => api(base, method, route, OPERATOR_TOKEN, body);
  await expectStatus(
    op("POST", "/admin/v1/accounts", {
      id,
      name: `Bench ${id}`,
      tier: "professional",
      billingAnchorDay: 1,
    }),
    201,
    `create account ${id}`,
  );
  const admin = await expectStatus(
    op("POST", `/admin/v1/accounts/${id}/keys`, { role: "admin", name: "bench admin" }),
    201,
    `admin key ${id}`,
  );
  const as = (method, route, body) => api(base, method, route, admin.key, body);
  const team = await expectStatus(as("POST", "/v1/teams", { name: "Bench" }), 201, `team ${id}`);
  const member = await expectStatus(
    as("POST", "/v1/members", { name: "Bench member", teamId: team.id, seat: "core" }),
    201,
    `member ${id}`,
  );
  const key = await expectStatus(
    as("POST", "/v1/keys", { role: "member", memberId: member.id, name: "bench" }),
    201,
    `member key ${id}`,
  );
  await expectStatus(
    op("POST", `/admin/v1/accounts/${id}/grants`, {
      amount: CONFIG.grantCredits,
      source: "pack",
      note: "bench",
    }),
    201,
    `grant ${id}`,
  );
  return { id, adminKey: admin.key, memberKey: key.key };
}

/** Like Promise.all, but waits for every promise, so nothing is still starting during cleanup. */
async function allSettled(promises) {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => r.value);
}

async function inBatches(items, size, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  }
  return out;
}

async function outboxTotals(base, accounts) {
  const details = await inBatches(accounts, 10, (a) =>
    expectStatus(
      api(base, "GET", `/admin/v1/accounts/${a.id}`, OPERATOR_TOKEN),
      200,
      `read ${a.id}`,
    ),
  );
  const totals = {
    pending: 0,
    flushedEvents: 0,
    flushWrites: 0,
    failures: 0,
    lastErrors: [],
    byAccount: {},
  };
  for (const d of details) {
    totals.byAccount[d.id] = {
      flushedEvents: d.outbox.flushedEvents,
      flushWrites: d.outbox.flushWrites,
    };
    totals.pending += d.outbox.pending;
    totals.flushedEvents += d.outbox.flushedEvents;
    totals.flushWrites += d.outbox.flushWrites;
    totals.failures += d.outbox.failures;
    if (d.outbox.lastError) totals.lastErrors.push(`${d.id}: ${d.outbox.lastError}`);
  }
  return totals;
}

async function ledgerTotals(base, accounts) {
  const balances = await inBatches(accounts, 10, (a) =>
    expectStatus(api(base, "GET", "/v1/balance", a.adminKey), 200, `balance ${a.id}`),
  );
  let captured = 0;
  let held = 0;
  for (const b of balances) {
    captured += b.capturedThisPeriod;
    held += b.held;
  }
  return { captured, held };
}

// ---- load ------------------------------------------------------------------------------------

/** Tallies of every request sent to a target, warm-ups and smoke checks included. */
function newTally() {
  return { sent: 0, completed: 0, ok2xx: 0, non2xx: 0, errors: 0, timeouts: 0, statusCodes: {} };
}
const tallies = { gateway: newTally(), forwarder: newTally(), floor: newTally() };
/** The first few non-2xx answers of each target, to say what went wrong. */
const failureSamples = { gateway: [], forwarder: [], floor: [] };

function sampleFailure(target, status, body) {
  if (status >= 200 && status < 300) return;
  const samples = failureSamples[target];
  if (samples.length < 5) samples.push({ status, body: String(body ?? "").slice(0, 400) });
}

function addToTally(tally, result) {
  tally.sent += result.requests.sent;
  tally.completed += result.requests.total;
  tally.ok2xx += result["2xx"];
  tally.non2xx += result.non2xx;
  tally.errors += result.errors;
  tally.timeouts += result.timeouts;
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) {
    tally.statusCodes[code] = (tally.statusCodes[code] ?? 0) + count;
  }
}

/** The loaded route's URL on a target; a base may carry a path prefix (the floor's `/floor`). */
function routeUrl(base) {
  return new URL(`${base}${ROUTE}`);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * One autocannon run, closed loop: each connection sends its next request as soon as the previous
 * one is answered. Latencies are kept at full (sub-ms) precision from the response events.
 */
function closedLoop({ base, keys, connections, seconds, target }) {
  const url = routeUrl(base);
  let next = 0;
  const requests = [
    {
      method: "POST",
      path: url.pathname,
      headers: { "content-type": "application/json" },
      body: BODY,
      setupRequest: (req) => {
        const key = keys[next % keys.length];
        next += 1;
        return { ...req, headers: { ...req.headers, authorization: `Bearer ${key}` } };
      },
      onResponse: (status, body) => sampleFailure(target, status, body),
    },
  ];
  const latencies = [];
  const options = { url: url.origin, connections, duration: seconds, requests, timeout: 10 };
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => {
      activeLoad = null;
      if (error) return reject(error);
      addToTally(tallies[target], result);
      latencies.sort((a, b) => a - b);
      resolve({ result, latencies });
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
function openLoop({ base, keys, connections, seconds, target, rate }) {
  const url = routeUrl(base);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  const result = {
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
    const key = keys[next % keys.length];
    next += 1;
    result.requests.sent += 1;
    inFlight += 1;
    const started = performance.now();
    const req = httpRequest(
      url,
      {
        method: "POST",
        agent,
        timeout: 10_000,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(BODY),
          authorization: `Bearer ${key}`,
        },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          inFlight -= 1;
          latencies.push(performance.now() - started);
          result.requests.total += 1;
          const code = res.statusCode ?? 0;
          result.statusCodeStats[code] = { count: (result.statusCodeStats[code]?.count ?? 0) + 1 };
          if (code >= 200 && code < 300) result["2xx"] += 1;
          else {
            result.non2xx += 1;
            sampleFailure(target, code, Buffer.concat(chunks).toString());
          }
        });
      },
    );
    req.on("timeout", () => {
      result.timeouts += 1;
      req.destroy(new Error("timeout"));
    });
    req.on("error", () => {
      inFlight -= 1;
      result.errors += 1;
    });
    req.end(BODY);
  };
  return new Promise((resolve) => {
    const interval = 1000 / rate;
    const begin = performance.now();
    let sent = 0;
    const tick = () => {
      if (stopped) return;
      const due = Math.floor((performance.now() - begin) / interval) + 1;
      while (sent < due && performance.now() - begin < seconds * 1000) {
        sent += 1;
        send();
      }
      if (performance.now() - begin >= seconds * 1000) {
        stopped = true;
        const finish = () => {
          if (inFlight > 0) return setTimeout(finish, 5);
          agent.destroy();
          activeLoad = null;
          addToTally(tallies[target], result);
          latencies.sort((a, b) => a - b);
          resolve({ result, latencies });
        };
        return finish();
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
function load(spec) {
  return spec.rate ? openLoop(spec) : closedLoop(spec);
}

/** Fails the run at once if the target's dev server is gone (no point loading a dead port). */
function requireAlive(server) {
  if (exited(server.child)) {
    throw new Error(
      `${server.child.label} exited (${server.child.exitCode ?? server.child.signalCode}):\n${logTail(server.logFile)}`,
    );
  }
}

/** Totals of one target over the slices of a phase. */
function newPhaseSum() {
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
    cpu: { seconds: 0, target: {}, serversMs: 0, loadGenMs: 0, machineMs: 0 },
    replaced: new Set(),
  };
}

async function slice(sum, { server, groups, keys, connections, rate, seconds, target }) {
  if (stopping) throw new Error("stopped");
  requireAlive(server);
  const cpuBefore = cpuSnapshot(groups);
  const { result, latencies } = await load({
    base: server.base,
    keys,
    connections,
    rate,
    seconds,
    target,
  });
  const cpuAfter = cpuSnapshot(groups);
  requireAlive(server);
  for (const label of replacedProcesses(cpuBefore, cpuAfter, server.child.pid)) {
    sum.replaced.add(label);
  }
  addCpu(sum.cpu, cpuUsed(cpuBefore, cpuAfter, server.child.pid));
  sum.seconds += result.duration;
  sum.sent += result.requests.sent;
  sum.completed += result.requests.total;
  sum.ok2xx += result["2xx"];
  sum.non2xx += result.non2xx;
  sum.errors += result.errors;
  sum.timeouts += result.timeouts;
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) {
    sum.statusCodes[code] = (sum.statusCodes[code] ?? 0) + count;
  }
  for (const ms of latencies) sum.latencies.push(ms);
}

function phaseResult(name, target, connections, sum) {
  const latencies = sum.latencies.sort((a, b) => a - b);
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
    maxMs: round(latencies[latencies.length - 1] ?? null),
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
 * One phase for its targets (`targets`: name -> server): a warm-up each (not counted), then the
 * measured time cut into slices run in the order of `targets`, then reversed, and so on
 * (gateway, forwarder, forwarder, gateway, ...; with the floor gateway, forwarder, floor, floor,
 * forwarder, gateway, ...), so every target meets the same background load on a shared machine
 * (a steady drift cancels out).
 */
async function phase({ name, keys, connections, rate, targets, groups }) {
  const how = `${connections} connection${connections === 1 ? "" : "s"}`;
  const names = Object.keys(targets);
  const sums = Object.fromEntries(names.map((target) => [target, newPhaseSum()]));
  log(
    `${name}: ${names.join(", ")}: ${CONFIG.warmupSeconds} s warm-up each, then ${CONFIG.durationSeconds} s each in ${CONFIG.slices} slices, ${how}`,
  );
  if (CONFIG.warmupSeconds > 0) {
    for (const target of names) {
      const server = targets[target];
      if (stopping) throw new Error("stopped");
      requireAlive(server);
      await load({
        base: server.base,
        keys,
        connections,
        rate,
        seconds: CONFIG.warmupSeconds,
        target,
      });
    }
  }
  const sliceSeconds = CONFIG.durationSeconds / CONFIG.slices;
  for (let i = 0; i < CONFIG.slices; i++) {
    const order = i % 2 === 0 ? names : names.toReversed();
    for (const target of order) {
      await slice(sums[target], {
        server: targets[target],
        groups,
        keys,
        connections,
        rate,
        seconds: sliceSeconds,
        target,
      });
    }
  }
  return names.map((target) => phaseResult(name, target, connections, sums[target]));
}

/**
 * One request per key through the gateway, one through the forwarder and one through the floor:
 * all must answer 2xx with the same body.
 */
async function smoke(gateway, forwarder, floor, accounts) {
  const call = async (base, key, target) => {
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
  const floored = await call(floor.base, accounts[0].memberKey, "floor");
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

/** Waits until every outbox is empty and the flushed count stops moving. */
/** How long to wait for the outboxes: the gateway's flush delay (from wrangler.toml) plus 20 s. */
function flushWaitMs() {
  const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const delay = Number(/^\s*OUTBOX_FLUSH_DELAY_MS\s*=\s*"?(\d+)"?/m.exec(toml)?.[1] ?? 1000);
  return Math.min(120_000, Math.max(30_000, delay + 20_000));
}

async function awaitFlush(base, accounts, expectedEvents, waitMs) {
  const deadline = Date.now() + waitMs;
  let last = null;
  while (Date.now() < deadline) {
    await sleep(1000);
    const totals = await outboxTotals(base, accounts);
    const settled =
      totals.pending === 0 &&
      last !== null &&
      last.flushedEvents === totals.flushedEvents &&
      totals.flushedEvents >= expectedEvents;
    last = totals;
    if (settled) return { ...totals, timedOut: false };
    log(`outbox: ${totals.pending} pending, ${totals.flushedEvents} flushed`);
  }
  return { ...last, timedOut: true };
}

/** Non-2xx request lines, reloads and errors from the gateway's log (wrangler's debug log or serve.mjs's). */
function gatewayLogFindings(limit = 15) {
  const dir = path.join(tmp, "wrangler-logs", "gateway");
  const found = [];
  let files = [path.join(tmp, "gateway.log")];
  try {
    files = files.concat(
      readdirSync(dir)
        .filter((f) => f.endsWith(".log"))
        .map((f) => path.join(dir, f)),
    );
  } catch {
    // no wrangler debug log (Miniflare runtime)
  }
  for (const file of files) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      if (found.length >= limit) return found;
      if (/Reloading local server|\[ERROR\]|Uncaught|internal error/i.test(line)) {
        found.push(line.slice(0, 400));
        continue;
      }
      const at = line.indexOf('{"requestId"');
      if (at < 0) continue;
      try {
        const entry = JSON.parse(line.slice(at));
        if (entry.status >= 300 || entry.error || entry.settleError) found.push(line.slice(0, 400));
      } catch {
        // not a request line
      }
    }
  }
  return found;
}

// ---- report ----------------------------------------------------------------------------------

function pad(value, width, right = false) {
  const text = value === null || value === undefined ? "-" : String(value);
  return right ? text.padEnd(width) : text.padStart(width);
}

function verdict(pass) {
  return pass ? "ok" : "MISSED";
}

function printReport(report) {
  const lines = [];
  const { spread, hot, floor, latency, d1, cpu } = report;
  lines.push("");
  lines.push(
    `creditgate bench  ${report.timestamp}  (runtime ${CONFIG.runtime}, state in ${tmp}; ${report.machine.cpus} cpus, node ${report.machine.node}, load avg at start ${report.machine.loadavgAtStart})`,
  );
  lines.push(
    `${CONFIG.accounts} accounts; per phase and target ${CONFIG.warmupSeconds} s warm-up, then ${CONFIG.durationSeconds} s in ${CONFIG.slices} slices interleaved with the other targets (the floor in spread only); POST ${ROUTE} ${BODY}`,
  );
  lines.push("");
  const header = [
    pad("phase", 8, true),
    pad("target", 9, true),
    pad("conns", 5),
    pad("req/s", 7),
    pad("p50 ms", 7),
    pad("p90 ms", 7),
    pad("p99 ms", 7),
    pad("2xx", 6),
    pad("non2xx", 6),
    pad("errors", 6),
    "| CPU ms/call: workerd proxy    host | cores: target loadgen other",
  ];
  lines.push(header.join(" "));
  for (const p of report.raw.phases) {
    const c = p.cpu?.msPerRequest ?? {};
    lines.push(
      [
        pad(p.phase, 8, true),
        pad(p.target, 9, true),
        pad(p.connections, 5),
        pad(p.rps, 7),
        pad(p.p50Ms, 7),
        pad(p.p90Ms, 7),
        pad(p.p99Ms, 7),
        pad(p.ok2xx, 6),
        pad(p.non2xx, 6),
        pad(p.errors, 6),
        `|              ${pad(c.workerd, 7)} ${pad(c.proxy, 5)} ${pad(c.host, 8)} |        ${pad(p.cpu?.targetCores, 6)} ${pad(p.cpu?.loadGeneratorCores, 7)} ${pad(p.cpu?.otherCores, 5)}`,
      ].join(" "),
    );
  }
  lines.push("");
  lines.push(`${pad("figure", 62, true)} ${pad("value", 13, true)} ${pad("target", 9, true)}`);
  const row = (label, value, target, pass) =>
    lines.push(
      `${pad(label, 62, true)} ${pad(value, 13, true)} ${pad(target, 9, true)} ${pass === undefined ? "" : verdict(pass)}`,
    );
  row("spread: gateway / forwarder req/s", spread.ratio, `>= ${TARGETS.spreadRatio}`, spread.pass);
  row("hot (one account): gateway / forwarder req/s", hot.ratio, "-");
  row(
    "spread: floor (2 ledger round trips, 1 write each) / forwarder",
    floor.ratioToForwarder,
    "-",
  );
  row("spread: gateway / floor req/s", floor.gatewayRatioToFloor, "-");
  row(
    `added p50 ms at ${latency.connections} connections, ${latency.offeredRate ?? "max"} req/s`,
    latency.addedP50Ms,
    `<= ${TARGETS.addedP50Ms}`,
    latency.pass,
  );
  row(
    `added p99 ms at ${latency.connections} connections, ${latency.offeredRate ?? "max"} req/s`,
    latency.addedP99Ms,
    "-",
  );
  row(
    "added p50 / p99 ms at 1 connection",
    `${latency.serial.addedP50Ms} / ${latency.serial.addedP99Ms}`,
    "-",
  );
  row(
    "D1 writes per settled call",
    report.d1WritesPerSettledCall,
    `<= ${round(TARGETS.d1WritesPerSettledCall, 3)}`,
    d1.pass,
  );
  if (report.export) {
    const e = report.export;
    row(
      `usage export, CSV events/s (${e.events} events)`,
      e.eventsPerSec,
      `>= ${TARGETS.exportEventsPerSec}`,
      e.pass,
    );
    row(
      "  workerd RSS growth MiB, half / whole range",
      `${e.halfRange.workerdRssGrowthMb} / ${e.workerdRssMb.growth}`,
      "-",
    );
  }
  row("gateway workerd CPU ms per call (spread)", cpu.gatewayWorkerdMsPerCall, "-");
  row("forwarder workerd CPU ms per call (spread)", cpu.forwarderWorkerdMsPerCall, "-");
  row("floor workerd CPU ms per call (spread)", floor.workerdMsPerCall, "-");
  lines.push(
    `  D1: ${d1.flushWrites} writes for ${d1.settledCalls} settled calls; ${d1.flushedEvents} events flushed, ${d1.pending} pending; hot account ${d1.hotAccount.flushedEvents} events in ${d1.hotAccount.flushWrites} writes`,
  );
  lines.push("");
  if (report.warnings.length > 0) {
    for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  }
  if (report.checks.problems.length === 0) {
    lines.push(
      "checks: every response 2xx, no request errors, one D1 event per settled call, no holds left",
    );
  } else {
    const bar = "!".repeat(80);
    lines.push(bar);
    lines.push("!! THIS RUN HAS PROBLEMS: its figures are not trustworthy");
    for (const problem of report.checks.problems) lines.push(`!! - ${problem}`);
    lines.push(bar);
  }
  lines.push(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

// ---- main ------------------------------------------------------------------------------------

async function main() {
  const startedAt = Date.now();
  const loadavgAtStart = round(loadavg()[0]);
  tmp = mkdtempSync(path.join(stateRoot(), "creditgate-bench-"));
  const gwState = path.join(tmp, "gateway-state");
  const fwState = path.join(tmp, "forwarder-state");
  const gwLog = path.join(tmp, "gateway.log");
  const fwLog = path.join(tmp, "forwarder.log");

  log("bundling gateway, forwarder, demo upstream");
  const [gatewayConfig, forwarderConfig, upstreamConfig] = await allSettled([
    snapshot("gateway", "wrangler.toml", gwLog),
    snapshot("forwarder", "bench/forwarder/wrangler.toml", fwLog),
    snapshot("upstream", "demo/upstream/wrangler.toml", path.join(tmp, "upstream.log")),
  ]);
  const gatewayVars = { OPERATOR_TOKEN, DEMO_UPSTREAM_TOKEN: UPSTREAM_TOKEN };
  let gateway;
  let forwarder;
  if (RUNTIME === "miniflare") {
    log("starting gateway and forwarder under Miniflare (serve.mjs applies the D1 migrations)");
    [gateway, forwarder] = await allSettled([
      startMiniflare(
        "gateway",
        [gatewayConfig, upstreamConfig],
        gwState,
        gatewayVars,
        gwLog,
        path.join(ROOT, "migrations"),
        { count: CONFIG.exportEvents },
      ),
      startMiniflare("forwarder", [forwarderConfig, upstreamConfig], fwState, {}, fwLog),
    ]);
  } else {
    log("applying D1 migrations to a temp persist dir");
    await runWrangler(
      "d1 migrations",
      [
        "d1",
        "migrations",
        "apply",
        "DB",
        "--local",
        "--persist-to",
        gwState,
        "-c",
        "wrangler.toml",
      ],
      path.join(tmp, "migrations.log"),
    );
    log("starting gateway and forwarder under wrangler dev");
    [gateway, forwarder] = await allSettled([
      startDev("gateway", [gatewayConfig, upstreamConfig], gwState, gatewayVars, gwLog),
      startDev("forwarder", [forwarderConfig, upstreamConfig], fwState, {}, fwLog),
    ]);
  }
  log(
    `gateway ${gateway.base} (pid ${gateway.child.pid}), forwarder ${forwarder.base} (pid ${forwarder.child.pid})`,
  );

  log(`seeding ${CONFIG.accounts} accounts through the HTTP API`);
  const indexes = Array.from({ length: CONFIG.accounts }, (_, i) => i);
  const accounts = await inBatches(indexes, 5, (i) => seedAccount(gateway.base, i));
  const before = await outboxTotals(gateway.base, accounts);

  // The floor is the forwarder's server under /floor: its CPU is the forwarder's workerd.
  const floor = { ...forwarder, base: `${forwarder.base}/floor` };
  await smoke(gateway, forwarder, floor, accounts);

  const allKeys = accounts.map((a) => a.memberKey);
  const hotKey = [allKeys[0]];
  const groups = [gateway.child.pid, forwarder.child.pid];
  const phases = [];
  // The floor runs in the spread phase only, to keep the bench short.
  const runPhase = async (spec, extra = {}) => {
    phases.push(...(await phase({ ...spec, targets: { gateway, forwarder, ...extra }, groups })));
  };
  await runPhase({ name: "hot", keys: hotKey, connections: CONFIG.connections });
  await runPhase({ name: "spread", keys: allKeys, connections: CONFIG.connections }, { floor });
  await runPhase({
    name: "latency",
    keys: allKeys,
    connections: CONFIG.latencyConnections,
    rate: CONFIG.latencyRate,
  });
  // One connection: nothing queues, so the difference is what the gateway adds to one call.
  // (At 10 connections two cores are saturated and latency mostly restates throughput.)
  await runPhase({ name: "serial", keys: allKeys, connections: 1 });

  log("waiting for the ledgers to flush their outboxes to D1");
  const gw = tallies.gateway;
  const waitMs = flushWaitMs();
  const after = await awaitFlush(gateway.base, accounts, gw.ok2xx, waitMs);
  const ledger = await ledgerTotals(gateway.base, accounts);

  let exportResult = null;
  if (RUNTIME === "miniflare") {
    log(`exporting ${CONFIG.exportEvents} usage events as CSV (half the range, then all of it)`);
    exportResult = await measureExport({
      api,
      base: gateway.base,
      serverPid: gateway.child.pid,
      operatorToken: OPERATOR_TOKEN,
      count: CONFIG.exportEvents,
    });
  }

  const find = (name, target) => phases.find((p) => p.phase === name && p.target === target);
  const ratio = (a, b) => (a && b ? round(a / b, 3) : null);
  const flushWrites = after.flushWrites - before.flushWrites;
  const flushedEvents = after.flushedEvents - before.flushedEvents;
  const settledCalls = ledger.captured / CONFIG.creditsPerCall;
  const abandoned = gw.sent - gw.completed - gw.errors;

  const problems = [];
  for (const [target, t] of Object.entries(tallies)) {
    if (t.non2xx > 0)
      problems.push(`${target}: ${t.non2xx} non-2xx responses ${JSON.stringify(t.statusCodes)}`);
    if (t.errors > 0)
      problems.push(`${target}: ${t.errors} request errors (${t.timeouts} timeouts)`);
  }
  if (after.timedOut || after.pending !== 0) {
    problems.push(
      `outbox did not drain: ${after.pending} events still pending after ${waitMs / 1000} s`,
    );
  }
  if (after.failures > before.failures) {
    problems.push(
      `outbox flush failures: ${after.failures - before.failures} (${after.lastErrors.join("; ")})`,
    );
  }
  if (!Number.isInteger(settledCalls)) {
    problems.push(
      `ledger captured ${ledger.captured} credits: not a multiple of ${CONFIG.creditsPerCall}`,
    );
  }
  if (flushedEvents + after.pending !== settledCalls) {
    problems.push(
      `LOST OR EXTRA EVENTS: the ledgers settled ${settledCalls} calls but ${flushedEvents} events reached D1 (${after.pending} pending)`,
    );
  }
  if (flushedEvents < gw.ok2xx || flushedEvents > gw.ok2xx + Math.max(0, abandoned)) {
    problems.push(
      `events in D1 (${flushedEvents}) do not match the ${gw.ok2xx} 2xx gateway responses (+ up to ${abandoned} requests cut off in flight when a phase ended)`,
    );
  }
  if (ledger.held !== 0) problems.push(`${ledger.held} credits still held after the run`);
  if (exportResult) problems.push(...exportResult.problems);
  for (const p of phases) {
    if (p.replacedProcesses.length > 0) {
      problems.push(
        `${p.target}: process(es) ${p.replacedProcesses.join(", ")} exited or restarted during the ${p.phase} phase`,
      );
    }
  }
  const reloads = gatewayLogFindings(1000).filter((l) => l.includes("Reloading local server"));
  if (reloads.length > 0)
    problems.push(`the gateway's dev server reloaded ${reloads.length} times`);

  const latencyOf = (name) => {
    const g = find(name, "gateway");
    const f = find(name, "forwarder");
    return {
      addedP50Ms: round(g.p50Ms - f.p50Ms),
      addedP99Ms: round(g.p99Ms - f.p99Ms),
      gateway: { rps: g.rps, p50Ms: g.p50Ms, p99Ms: g.p99Ms },
      forwarder: { rps: f.rps, p50Ms: f.p50Ms, p99Ms: f.p99Ms },
    };
  };
  const latency = latencyOf("latency");
  const d1WritesPerSettledCall = settledCalls > 0 ? round(flushWrites / settledCalls, 5) : null;
  const spreadRatio = ratio(find("spread", "gateway").rps, find("spread", "forwarder").rps);
  const spreadFloor = find("spread", "floor");
  const hotId = accounts[0].id;
  const hotBefore = before.byAccount[hotId] ?? { flushedEvents: 0, flushWrites: 0 };
  const hotAfter = after.byAccount[hotId] ?? hotBefore;

  const warnings = [];
  const busiest = Math.max(...phases.map((p) => p.cpu?.otherCores ?? 0));
  if (busiest > 0.25) {
    warnings.push(
      `other processes kept up to ${busiest} cores busy during a phase: req/s and latencies are skewed; CPU ms per call is the steadier figure`,
    );
  }

  const report = {
    timestamp: new Date().toISOString(),
    spread: {
      gatewayRps: find("spread", "gateway").rps,
      forwarderRps: find("spread", "forwarder").rps,
      ratio: spreadRatio,
      target: `>= ${TARGETS.spreadRatio}`,
      pass: spreadRatio !== null && spreadRatio >= TARGETS.spreadRatio,
    },
    hot: {
      gatewayRps: find("hot", "gateway").rps,
      forwarderRps: find("hot", "forwarder").rps,
      ratio: ratio(find("hot", "gateway").rps, find("hot", "forwarder").rps),
    },
    floor: {
      rps: spreadFloor.rps,
      workerdMsPerCall: spreadFloor.cpu?.msPerRequest.workerd ?? null,
      ratioToForwarder: ratio(spreadFloor.rps, find("spread", "forwarder").rps),
      gatewayRatioToFloor: ratio(find("spread", "gateway").rps, spreadFloor.rps),
    },
    latency: {
      ...latency,
      connections: CONFIG.latencyConnections,
      offeredRate: CONFIG.latencyRate || null,
      target: `addedP50Ms <= ${TARGETS.addedP50Ms}`,
      pass: latency.addedP50Ms !== null && latency.addedP50Ms <= TARGETS.addedP50Ms,
      serial: latencyOf("serial"),
    },
    d1WritesPerSettledCall,
    d1: {
      flushWrites,
      flushedEvents,
      settledCalls,
      pending: after.pending,
      gateway2xx: gw.ok2xx,
      cutOffInFlight: abandoned,
      hotAccount: {
        id: hotId,
        flushedEvents: hotAfter.flushedEvents - hotBefore.flushedEvents,
        flushWrites: hotAfter.flushWrites - hotBefore.flushWrites,
      },
      target: `<= ${TARGETS.d1WritesPerSettledCall}`,
      pass:
        d1WritesPerSettledCall !== null && d1WritesPerSettledCall <= TARGETS.d1WritesPerSettledCall,
    },
    export: exportResult && {
      events: exportResult.events,
      seconds: round(exportResult.seconds, 2),
      eventsPerSec: Math.round(exportResult.eventsPerSec),
      megabytes: round(exportResult.megabytes, 1),
      workerdRssMb: {
        before: round(exportResult.workerdRssMb.before, 1),
        peak: round(exportResult.workerdRssMb.peak, 1),
        growth: round(exportResult.workerdRssMb.growth, 1),
      },
      halfRange: {
        events: exportResult.halfRange.events,
        eventsPerSec: Math.round(exportResult.halfRange.eventsPerSec),
        workerdRssGrowthMb: round(exportResult.halfRange.workerdRssGrowthMb, 1),
      },
      target: `eventsPerSec >= ${TARGETS.exportEventsPerSec}`,
      pass: exportResult.eventsPerSec >= TARGETS.exportEventsPerSec,
    },
    cpu: {
      gatewayWorkerdMsPerCall: find("spread", "gateway").cpu?.msPerRequest.workerd ?? null,
      forwarderWorkerdMsPerCall: find("spread", "forwarder").cpu?.msPerRequest.workerd ?? null,
      gatewayTotalMsPerCall: find("spread", "gateway").cpu?.msPerRequest.total ?? null,
      forwarderTotalMsPerCall: find("spread", "forwarder").cpu?.msPerRequest.total ?? null,
    },
    checks: { ok: problems.length === 0, problems },
    warnings,
    config: { ...CONFIG, route: ROUTE, body: BODY, host: "127.0.0.1", targets: TARGETS },
    machine: {
      cpus: cpus().length,
      node: process.version,
      platform: process.platform,
      loadavgAtStart,
    },
    raw: {
      phases,
      tallies,
      failureSamples,
      outboxBefore: { ...before, byAccount: undefined },
      outboxAfter: { ...after, byAccount: undefined },
      ledger,
      wallSeconds: round((Date.now() - startedAt) / 1000, 1),
    },
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
  printReport(report);
  if (problems.length > 0) {
    for (const [target, samples] of Object.entries(failureSamples)) {
      for (const sample of samples) log(`${target} answered ${sample.status}: ${sample.body}`);
    }
    const findings = gatewayLogFindings();
    if (findings.length > 0) log(`from the gateway's log:\n${findings.join("\n")}`);
    log(`output of the gateway's server:\n${logTail(gwLog, 20)}`);
    return 1;
  }
  return 0;
}

const watchdog = setTimeout(() => {
  log(`the bench ran past ${WATCHDOG_MS / 1000} s: stopping everything`);
  cleanup().finally(() => process.exit(1));
}, WATCHDOG_MS);
watchdog.unref();

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  if (!stopping)
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await cleanup();
}
process.exit(exitCode);
