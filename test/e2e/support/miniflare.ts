/**
 * The gateway served by bench/serve.mjs: the same workerd as `wrangler dev`, started by
 * Miniflare from Node with no inspector session attached. wrangler dev's DevTools plumbing
 * (Network.enable) keeps a copy of every response body in workerd, which would hide whether
 * the gateway itself holds a large response in memory; this server measures the gateway alone.
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
  /** Usage events serve.mjs writes into D1 before serving (bench/export.mjs). */
  seedUsage?: { count: number };
  /** Open workerd's inspector on a free port (no session is attached unless a test does). */
  inspect?: boolean;
}

const READY_TIMEOUT_MS = 120_000;

export class ServedGateway {
  private constructor(
    readonly base: string,
    readonly inspectorPort: number | null,
    private readonly started: Started,
  ) {}

  static async start(ws: Workspace, options: ServeOptions): Promise<ServedGateway> {
    const port = await freePort();
    const inspectorPort = options.inspect ? await freePort() : null;
    const spec = path.join(options.persistTo, "serve.json");
    writeFileSync(
      spec,
      JSON.stringify({
        port,
        persistTo: options.persistTo,
        logFile: path.join(options.persistTo, "worker.log"),
        migrationsDir: path.join(ws.root, "migrations"),
        seedUsage: options.seedUsage,
        inspectorPort,
        workers: options.configs.map((config, i) => ({
          config,
          vars: i === 0 ? options.vars : {},
        })),
      }),
    );
    const serve = path.join(ws.root, "bench", "serve.mjs");
    const started = startGuarded(ws, options.label, [serve, spec]);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const ready = /ready (\S+)/.exec(readFileSync(started.stdout, "utf8"));
      if (ready?.[1]) return new ServedGateway(ready[1].replace(/\/$/, ""), inspectorPort, started);
      if (exited(started.child)) break;
      await sleep(200);
    }
    await stopGroup(started);
    throw new Error(`${options.label} did not start:\n${tail(started.stderr)}`);
  }

  workerdPids(): number[] {
    return workerdPidsOf(this.started.pgid);
  }

  async stop(): Promise<void> {
    await stopGroup(this.started);
  }
}
