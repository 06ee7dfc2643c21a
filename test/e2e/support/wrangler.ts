/**
 * `wrangler dev` and one-shot wrangler commands for the end-to-end tests and `npm run bench`, on
 * 127.0.0.1 only, and the process, port and /proc helpers both use.
 *
 * Every process is started through guard.mjs as the leader of a new process group, so a test can
 * stop it gracefully (SIGTERM to wrangler), kill everything it started at once (SIGKILL to the
 * group), and never leave anything behind: the guard kills its group if the test process dies or
 * its lifetime passes. Nothing here signals a process it did not start.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import process from "node:process";
import { childEnv } from "../../../scripts/child-env";

/** Longest a process started here may live by default; the guard kills its group after that. */
const LIFETIME_MS = 240_000;
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 10_000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Process groups started here and not yet known to be gone, by leader pid. */
const groups = new Map<number, Started>();

// Last resort if the test process exits without its afterAll (the guards would also notice).
process.on("exit", () => {
  for (const pgid of groups.keys()) signalGroup(pgid, "SIGKILL");
});

function signalGroup(pgid: number, signal: "SIGTERM" | "SIGKILL"): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone already
  }
}

/** True while any process of the group is alive (a zombie counts until it is reaped). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Waits until no process of the group is left, SIGKILLing stragglers; bounded. */
async function reapGroup(pgid: number): Promise<void> {
  for (let i = 0; i < 50 && groupAlive(pgid); i++) await sleep(100);
  if (groupAlive(pgid)) {
    signalGroup(pgid, "SIGKILL");
    for (let i = 0; i < 30 && groupAlive(pgid); i++) await sleep(100);
  }
  groups.delete(pgid);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port"))));
    });
  });
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

export interface Workspace {
  /** The repository: wrangler runs here. */
  root: string;
  /** A temp dir for logs and state; removed by the global teardown (or the bench). */
  tmp: string;
  /** Longest a process started in this workspace may live (default 240 s). */
  lifetimeMs?: number;
}

function wranglerEnv(ws: Workspace, label: string): NodeJS.ProcessEnv {
  return childEnv({
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    CI: "true",
    NO_COLOR: "1",
    FORCE_COLOR: "0",
    // wrangler's debug log (every worker log line included), for a post-mortem.
    WRANGLER_LOG_PATH: path.join(ws.tmp, "wrangler-logs", label.replace(/\W+/g, "-")),
  });
}

export interface Started {
  child: ChildProcess;
  pgid: number;
  stdout: string;
  stderr: string;
}

/** Starts `wrangler <args>` under the guard, in a new process group, output to files. */
function startWrangler(ws: Workspace, label: string, args: string[]): Started {
  const wrangler = path.join(ws.root, "node_modules", "wrangler", "bin", "wrangler.js");
  return startGuarded(ws, label, [wrangler, ...args]);
}

/** Starts `node <args>` under the guard, in a new process group, output to files. */
export function startGuarded(ws: Workspace, label: string, args: string[]): Started {
  const dir = path.join(ws.tmp, "out");
  mkdirSync(dir, { recursive: true });
  const stem = path.join(dir, `${label.replace(/\W+/g, "-")}-${Date.now()}`);
  const stdout = `${stem}.out`;
  const stderr = `${stem}.err`;
  const out = openSync(stdout, "a");
  const err = openSync(stderr, "a");
  const guard = path.join(ws.root, "test", "e2e", "support", "guard.mjs");
  const child = spawn(
    process.execPath,
    [guard, String(process.pid), String(ws.lifetimeMs ?? LIFETIME_MS), process.execPath, ...args],
    {
      cwd: ws.root,
      env: wranglerEnv(ws, label),
      stdio: ["ignore", out, err],
      detached: true,
    },
  );
  closeSync(out);
  closeSync(err);
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`${label}: could not start ${args[0]}`);
  const started: Started = { child, pgid, stdout, stderr };
  groups.set(pgid, started);
  return started;
}

/** Stops a group gracefully (SIGTERM to the guard, which passes it on), then by force. */
export async function stopGroup(started: Started): Promise<void> {
  if (!exited(started.child)) {
    started.child.kill("SIGTERM");
    if (!(await waitForExit(started.child, STOP_TIMEOUT_MS))) {
      signalGroup(started.pgid, "SIGKILL");
      await waitForExit(started.child, 3_000);
    }
  }
  await reapGroup(started.pgid);
}

/** Stops every group started here and not stopped yet (servers and one-shot commands alike). */
export async function stopAll(): Promise<void> {
  await Promise.all([...groups.values()].map(stopGroup));
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a one-shot wrangler command to completion, bounded in time. */
export async function runWrangler(
  ws: Workspace,
  label: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<CommandResult> {
  const started = startWrangler(ws, label, args);
  const done = await waitForExit(started.child, timeoutMs);
  if (!done) {
    signalGroup(started.pgid, "SIGKILL");
    await reapGroup(started.pgid);
    throw new Error(`${label} did not finish in ${timeoutMs / 1000} s:\n${tail(started.stderr)}`);
  }
  await reapGroup(started.pgid);
  return {
    code: started.child.exitCode,
    stdout: readFileSync(started.stdout, "utf8"),
    stderr: readFileSync(started.stderr, "utf8"),
  };
}

/** Like runWrangler, but a non-zero exit is an error that shows wrangler's output. */
export async function wrangler(
  ws: Workspace,
  label: string,
  args: string[],
  timeoutMs?: number,
): Promise<string> {
  const result = await runWrangler(ws, label, args, timeoutMs);
  if (result.code !== 0) {
    throw new Error(
      `${label} exited with ${result.code}:\n${result.stderr.slice(-3000)}\n${result.stdout.slice(-2000)}`,
    );
  }
  return result.stdout;
}

export interface DevOptions {
  label: string;
  /** wrangler configs: the first is the worker served on the port, the rest its services. */
  configs: string[];
  persistTo: string;
  vars: Record<string, string>;
}

/** A running `wrangler dev`: its base URL, and how to stop or kill it. */
export class DevServer {
  private constructor(
    readonly label: string,
    readonly base: string,
    readonly port: number,
    /** Its process group (the guard leads it): for the bench's CPU accounting and logs. */
    readonly started: Started,
  ) {}

  /**
   * Starts `wrangler dev` on 127.0.0.1 with free ports and waits until it answers HTTP. A port
   * found free can be taken by another process before workerd binds it: when the runtime fails
   * to start, it is tried once more on new ports.
   */
  static async start(ws: Workspace, options: DevOptions): Promise<DevServer> {
    try {
      return await DevServer.startOnce(ws, options);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes("runtime failed to start"))
        throw error;
      return DevServer.startOnce(ws, options);
    }
  }

  private static async startOnce(ws: Workspace, options: DevOptions): Promise<DevServer> {
    const port = await freePort();
    const inspectorPort = await freePort();
    const args = [
      "dev",
      ...options.configs.flatMap((config) => ["-c", config]),
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--inspector-ip",
      "127.0.0.1",
      "--persist-to",
      options.persistTo,
      "--log-level",
      "warn",
      "--show-interactive-dev-session=false",
    ];
    for (const [name, value] of Object.entries(options.vars))
      args.push("--var", `${name}:${value}`);
    const started = startWrangler(ws, options.label, args);
    const server = new DevServer(options.label, `http://127.0.0.1:${port}`, port, started);
    try {
      await server.waitUntilReady();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited(this.started.child)) {
        throw new Error(`${this.label} exited during start-up:\n${this.output()}`);
      }
      try {
        const res = await fetch(`${this.base}/`, { signal: AbortSignal.timeout(2_000) });
        await res.arrayBuffer();
        return;
      } catch {
        await sleep(200);
      }
    }
    throw new Error(`${this.label} did not answer within ${READY_TIMEOUT_MS / 1000} s`);
  }

  /** The last lines wrangler wrote, for failure messages. */
  output(lines = 30): string {
    return `${tail(this.started.stderr, lines)}\n${tail(this.started.stdout, lines)}`;
  }

  /** The pids of the server's workerd processes (Linux /proc; empty elsewhere). */
  workerdPids(): number[] {
    return workerdPidsOf(this.started.pgid);
  }

  /** SIGTERM, wait, then SIGKILL whatever of the group is left. */
  async stop(): Promise<void> {
    await stopGroup(this.started);
  }

  /** SIGKILL to the whole process group at once: wrangler, workerd and all, mid-flight. */
  async kill(): Promise<void> {
    signalGroup(this.started.pgid, "SIGKILL");
    await waitForExit(this.started.child, 5_000);
    await reapGroup(this.started.pgid);
  }
}

/** The workerd processes of a process group (Linux /proc; empty elsewhere). */
export function workerdPidsOf(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    // After the command: state, ppid, pgrp.
    const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    if (pgrp === pgid && comm.startsWith("workerd")) pids.push(Number(entry));
  }
  return pids;
}

/** Runs a read-only SQL statement against the local D1 of a persist dir (server stopped). */
export async function d1Query<T>(ws: Workspace, persistTo: string, sql: string): Promise<T[]> {
  const stdout = await wrangler(ws, "d1 execute", [
    "d1",
    "execute",
    "DB",
    "--local",
    "--persist-to",
    persistTo,
    "-c",
    "wrangler.toml",
    "--json",
    "--command",
    sql,
  ]);
  const parsed = JSON.parse(stdout) as Array<{ results: T[]; success: boolean }>;
  const first = parsed[0];
  if (!first?.success) throw new Error(`d1 execute failed: ${stdout.slice(0, 2000)}`);
  return first.results;
}

/** Applies the D1 migrations to a fresh persist dir. */
export async function migrateD1(ws: Workspace, persistTo: string): Promise<void> {
  await wrangler(ws, "d1 migrations", [
    "d1",
    "migrations",
    "apply",
    "DB",
    "--local",
    "--persist-to",
    persistTo,
    "-c",
    "wrangler.toml",
  ]);
}
