/**
 * Workers served by bench/serve.ts: the same workerd as `wrangler dev`, started by Miniflare
 * from Node with no inspector session attached. wrangler dev's DevTools plumbing
 * (Network.enable) keeps a copy of every response body in workerd, which would hide whether
 * the gateway itself holds a large response in memory; this server measures the gateway alone.
 * `npm run bench` serves its targets the same way (bench/servers.ts).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  exited,
  freePort,
  type Started,
  sleep,
  startGuarded,
  stopGroup,
  tail,
  type Workspace,
  workerdPidsOf,
} from "./wrangler";

export interface ServeOptions {
  label: string;
  /** Bundled wrangler configs: the first is served on the port, the rest are its services. */
  configs: string[];
  persistTo: string;
  vars: Record<string, string>;
  /** Apply the D1 migrations to the first worker's `DB` before serving (default true). */
  migrate?: boolean;
  /**
   * Usage events serve.ts writes into D1 before serving (bench/export.ts `seedUsageSql`): how
   * many, and optionally whose, from when and how far apart (ms).
   */
  seedUsage?: { count: number; accountId?: string; from?: number; stepMs?: number };
  /** Open workerd's inspector on a free port (no session is attached unless a test does). */
  inspect?: boolean;
  /** Where the workers' log lines go (default `worker.log` in persistTo). */
  logFile?: string;
}

const READY_TIMEOUT_MS = 120_000;

export class ServedGateway {
  private constructor(
    readonly base: string,
    readonly inspectorPort: number | null,
    /** The workers' log lines, one per line as `level message`. */
    readonly logFile: string,
    /** Its process group (the guard leads it): for the bench's CPU accounting and logs. */
    readonly started: Started,
  ) {}

  static async start(ws: Workspace, options: ServeOptions): Promise<ServedGateway> {
    const port = await freePort();
    const inspectorPort = options.inspect ? await freePort() : null;
    const logFile = options.logFile ?? path.join(options.persistTo, "worker.log");
    const spec = path.join(options.persistTo, "serve.json");
    writeFileSync(
      spec,
      JSON.stringify({
        port,
        persistTo: options.persistTo,
        logFile,
        migrationsDir: options.migrate === false ? undefined : path.join(ws.root, "migrations"),
        seedUsage: options.seedUsage,
        inspectorPort,
        workers: options.configs.map((config, i) => ({
          config,
          vars: i === 0 ? options.vars : {},
        })),
      }),
    );
    const serve = path.join(ws.root, "bench", "serve.ts");
    // tsx's loader runs the TypeScript as it is (resolved from ws.root, the working directory).
    const started = startGuarded(ws, options.label, ["--import", "tsx", serve, spec]);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const ready = /ready (\S+)/.exec(readFileSync(started.stdout, "utf8"));
      if (ready?.[1]) {
        const base = ready[1].replace(/\/$/, "");
        return new ServedGateway(base, inspectorPort, logFile, started);
      }
      if (exited(started.child)) break;
      await sleep(200);
    }
    await stopGroup(started);
    throw new Error(`${options.label} did not start:\n${tail(started.stderr)}`);
  }

  /** The last lines the server wrote, for failure messages. */
  output(lines = 30): string {
    return `${tail(this.started.stderr, lines)}\n${tail(this.started.stdout, lines)}`;
  }

  workerdPids(): number[] {
    return workerdPidsOf(this.started.pgid);
  }

  async stop(): Promise<void> {
    await stopGroup(this.started);
  }
}
