/**
 * The bench's targets: bundling each worker once, and starting the gateway's and the
 * forwarder's servers (each with the demo upstream, its own workerd and its own persist dir)
 * through the e2e tests' process helpers (test/e2e/support): Miniflare from Node (bench/serve.ts,
 * ServedGateway) by default, `wrangler dev` (DevServer) with BENCH_RUNTIME=wrangler.
 *
 * Under Miniflare two more gateway servers start beside them, the same bundle with other vars:
 * `held`, whose outbox flush and alarm are held back (the tail's attribution, latency phase),
 * and `metered`, whose ledgers count what they cost (LEDGER_METER=true; bench/meter.ts), its
 * flush held back too so the bench decides when it runs.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { ServedGateway, type ServeOptions } from "../test/e2e/support/miniflare";
import { snapshotWorker } from "../test/e2e/support/snapshot";
import {
  DevServer,
  exited,
  migrateD1,
  type Started,
  tail,
  type Workspace,
} from "../test/e2e/support/wrangler";
import { CONFIG, log, OPERATOR_TOKEN, ROOT, UPSTREAM_TOKEN, WATCHDOG_MS } from "./config";

/** A running server the bench loads. */
export interface Target {
  /** Its base URL; the floor's carries the `/floor` prefix. */
  base: string;
  /** Its process group (the guard leads it): the processes whose CPU counts for it. */
  pgid: number;
  /** Throws, with the server's last output, if the server's process is gone. */
  requireAlive(): void;
  /** The last lines the server wrote, for failure messages. */
  output(lines?: number): string;
  /** Files the server and its workers write (log lines, wrangler's debug log), to search. */
  logFiles(): string[];
  /** serve.ts's control port (Durable Object methods from Node, bench/meter.ts), or null. */
  control: string | null;
}

/**
 * "Held back": longer than any run, so no ledger alarm runs during it (the flush waits for its
 * delay, and a hold's expiry, which also sets the alarm, comes after the run).
 */
export const HELD_BACK_MS = "3600000";

/** Where the state lives: tmpfs unless BENCH_STATE=disk (or no /dev/shm here). */
function stateRoot(): string {
  if (CONFIG.state === "memory") {
    try {
      readdirSync("/dev/shm");
      return "/dev/shm";
    } catch {
      log("no /dev/shm here: state stays on disk");
    }
  }
  return tmpdir();
}

/**
 * The bench's temp dir, for state, bundles and every process's output. Its processes may live
 * a little past the watchdog, which stops them itself first.
 */
export function createWorkspace(): Workspace {
  return {
    root: ROOT,
    tmp: mkdtempSync(path.join(stateRoot(), "creditgate-bench-")),
    lifetimeMs: WATCHDOG_MS + 30_000,
  };
}

/** Like Promise.all, but waits for every promise, so nothing is still starting during cleanup. */
async function allSettled<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const values: T[] = [];
  for (const result of results) {
    if (result.status === "rejected") throw result.reason;
    values.push(result.value);
  }
  return values;
}

function filesIn(dir: string, ext: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(ext))
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

function targetOf(
  label: string,
  base: string,
  started: Started,
  logFiles: () => string[],
  control: string | null = null,
) {
  const output = (lines = 40) =>
    logFiles()
      .map((file) => `${file}:\n${tail(file, lines)}`)
      .join("\n");
  return {
    base,
    pgid: started.pgid,
    requireAlive: () => {
      if (exited(started.child)) {
        const how = started.child.exitCode ?? started.child.signalCode;
        throw new Error(`${label} exited (${how}):\n${output()}`);
      }
    },
    output,
    logFiles,
    control,
  } satisfies Target;
}

export interface Targets {
  gateway: Target;
  forwarder: Target;
  /** The gateway with its flush and alarm held back; null under wrangler dev. */
  held: Target | null;
  /** The gateway with LEDGER_METER=true and its flush held back; null under wrangler dev. */
  metered: Target | null;
}

/** Bundles the workers and starts both servers; the caller stops them (stopAll). */
export async function startTargets(ws: Workspace): Promise<Targets> {
  log("bundling gateway, forwarder, demo upstream");
  const [gatewayConfig, forwarderConfig, upstreamConfig] = await allSettled([
    snapshotWorker(ws, "gateway", "wrangler.toml", 120_000),
    snapshotWorker(ws, "forwarder", "bench/forwarder/wrangler.toml", 120_000),
    snapshotWorker(ws, "upstream", "demo/upstream/wrangler.toml", 120_000),
  ]);
  if (!gatewayConfig || !forwarderConfig || !upstreamConfig) throw new Error("bundling failed");
  const gatewayVars = { OPERATOR_TOKEN, DEMO_UPSTREAM_TOKEN: UPSTREAM_TOKEN };
  const heldBack = { OUTBOX_FLUSH_DELAY_MS: HELD_BACK_MS, HOLD_TTL_MS: HELD_BACK_MS };
  const miniflare = CONFIG.runtime === "miniflare";
  const specs: Spec[] = [
    {
      label: "gateway",
      configs: [gatewayConfig, upstreamConfig],
      persistTo: path.join(ws.tmp, "gateway-state"),
      vars: gatewayVars,
    },
    {
      label: "forwarder",
      configs: [forwarderConfig, upstreamConfig],
      persistTo: path.join(ws.tmp, "forwarder-state"),
      vars: {},
    },
  ];
  if (miniflare) {
    specs.push(
      {
        label: "held",
        configs: [gatewayConfig, upstreamConfig],
        persistTo: path.join(ws.tmp, "held-state"),
        vars: { ...gatewayVars, ...heldBack },
      },
      {
        label: "metered",
        configs: [gatewayConfig, upstreamConfig],
        persistTo: path.join(ws.tmp, "metered-state"),
        vars: { ...gatewayVars, ...heldBack, LEDGER_METER: "true" },
      },
    );
    // serve.ts opens its control port (bench/meter.ts) when its environment says so.
    process.env.BENCH_CONTROL = "1";
  }
  for (const spec of specs) mkdirSync(spec.persistTo, { recursive: true });
  const [gateway, forwarder, held = null, metered = null] = await allSettled(
    specs.map((spec) => (miniflare ? serve(ws, spec) : dev(ws, spec))),
  );
  if (!gateway || !forwarder) throw new Error("a server did not start");
  return { gateway, forwarder, held, metered };
}

interface Spec {
  label: string;
  configs: string[];
  persistTo: string;
  vars: Record<string, string>;
}

/**
 * Miniflare from Node: the gateways' servers apply the migrations; the main one also seeds the
 * export's events.
 */
async function serve(ws: Workspace, spec: Spec): Promise<Target> {
  const isGateway = spec.label !== "forwarder";
  const server = await ServedGateway.start(ws, {
    ...spec,
    migrate: isGateway,
    seedUsage: spec.label === "gateway" ? { count: CONFIG.exportEvents } : undefined,
    logFile: path.join(ws.tmp, `${spec.label}.log`),
  });
  const { started } = server;
  // serve.ts prints its control port before "ready".
  const control = /^control (\S+)$/m.exec(readFileSync(started.stdout, "utf8"))?.[1] ?? null;
  const logFiles = () => [server.logFile, started.stdout, started.stderr];
  return targetOf(spec.label, server.base, started, logFiles, control);
}

/** `wrangler dev`; the D1 migrations are applied to the gateway's persist dir first. */
async function dev(ws: Workspace, spec: Spec): Promise<Target> {
  if (spec.label === "gateway") {
    log("applying D1 migrations to a temp persist dir");
    await migrateD1(ws, spec.persistTo);
  }
  const server = await DevServer.start(ws, spec);
  const { started } = server;
  // wrangler's debug log has every worker log line (WRANGLER_LOG_PATH, see wrangler.ts).
  const debugLogs = path.join(ws.tmp, "wrangler-logs", spec.label);
  return targetOf(spec.label, server.base, started, () => [
    started.stdout,
    started.stderr,
    ...filesIn(debugLogs, ".log"),
  ]);
}

/**
 * The standalone tools' server (bench:profile, bench:archive, bench:ab): bundles the gateway
 * and the demo upstream (once per `bundled` promise passed back in) and serves them with the
 * bench's tokens plus `vars`, state in `persistTo` (created).
 */
export async function serveGateway(
  ws: Workspace,
  options: Omit<ServeOptions, "configs" | "vars"> & {
    vars?: Record<string, string>;
    bundled?: Promise<string[]>;
  },
): Promise<ServedGateway> {
  const { vars = {}, bundled = bundleGateway(ws), ...rest } = options;
  mkdirSync(rest.persistTo, { recursive: true });
  return ServedGateway.start(ws, {
    ...rest,
    configs: await bundled,
    vars: { OPERATOR_TOKEN, DEMO_UPSTREAM_TOKEN: UPSTREAM_TOKEN, ...vars },
  });
}

/** The gateway's and the demo upstream's bundled configs, in the order ServedGateway serves them. */
export async function bundleGateway(ws: Workspace): Promise<string[]> {
  log("bundling gateway and demo upstream");
  const gateway = await snapshotWorker(ws, "gateway", "wrangler.toml", 120_000);
  const upstream = await snapshotWorker(ws, "upstream", "demo/upstream/wrangler.toml");
  return [gateway, upstream];
}
