/**
 * Serves bundled workers with Miniflare from Node: `npm run bench`'s targets (the default
 * runtime) and test/e2e's export test, both through ServedGateway (test/e2e/support/miniflare.ts).
 *
 * Why not `wrangler dev` for the figures: wrangler dev attaches its inspector proxy to the
 * runtime with `Runtime.enable` and `Network.enable`, so every console.log of the worker is also
 * serialized for DevTools, and wrangler source-maps and prints every log line on the same cores.
 * That is dev tooling, not the gateway; production has neither. Here the runtime is the same
 * workerd, with no inspector session; the worker still writes its log line per request, and this
 * process appends each one to a file.
 *
 * Usage: node --import tsx bench/serve.ts SPEC.json, where SPEC is a ServeSpec. Each `config` is
 * a wrangler config (a bundled snapshot); the first worker gets the port. Prints "ready <url>"
 * once it answers. Stops on SIGTERM/SIGINT/SIGHUP (Miniflare stops workerd).
 */
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { argv, exit } from "node:process";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { seedUsageSql } from "./export";
import { onStopSignal } from "./signals";

export interface ServeSpec {
  port: number;
  persistTo: string;
  /** The workers' log lines are appended here, as `level message`. */
  logFile: string;
  /** drizzle-kit's migrations, applied to the first worker's `DB` before serving. */
  migrationsDir?: string;
  /** Usage events of the export account written into D1 before serving (bench/export.ts). */
  seedUsage?: { count: number };
  /** workerd's inspector port; no session is attached here. */
  inspectorPort?: number | null;
  workers: Array<{ config: string; vars?: Record<string, string> }>;
}

const specFile = argv[2];
if (!specFile) throw new Error("usage: node --import tsx bench/serve.ts SPEC.json");
const spec = JSON.parse(readFileSync(specFile, "utf8")) as ServeSpec;
const logOut = createWriteStream(spec.logFile, { flags: "a" });

const workers = spec.workers.map(({ config, vars = {} }) => {
  const { workerOptions, main } = unstable_getMiniflareWorkerOptions(config);
  const name = /^name\s*=\s*"([^"]+)"/m.exec(readFileSync(config, "utf8"))?.[1];
  if (!name || !main) throw new Error(`${config}: no name or main`);
  const scriptPath = path.resolve(path.dirname(config), main);
  return {
    ...workerOptions,
    name,
    modules: true,
    scriptPath,
    modulesRoot: path.dirname(scriptPath),
    bindings: { ...workerOptions.bindings, ...vars },
  };
});

const mf = new Miniflare({
  host: "127.0.0.1",
  port: spec.port,
  workers,
  // Only when asked (the e2e export test reads the isolate's heap): no session is attached here.
  ...(spec.inspectorPort ? { inspectorPort: spec.inspectorPort } : {}),
  durableObjectsPersist: path.join(spec.persistTo, "do"),
  d1Persist: path.join(spec.persistTo, "d1"),
  handleStructuredLogs: ({ level, message }: { level: string; message: string }) => {
    logOut.write(`${level} ${message}\n`);
  },
});

async function stop(code: number): Promise<void> {
  try {
    await mf.dispose();
  } finally {
    logOut.end(() => exit(code));
  }
}
onStopSignal(() => stop(0));

async function migrate(dir: string): Promise<void> {
  const db = await mf.getD1Database("DB");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  for (const file of files) {
    const text = readFileSync(path.join(dir, file), "utf8");
    // drizzle-kit separates statements with a breakpoint marker line.
    for (const statement of text.split(/--> statement-breakpoint|;\s*$/m)) {
      if (statement.trim()) await db.prepare(statement).run();
    }
  }
}

try {
  const url = await mf.ready;
  if (spec.migrationsDir) await migrate(spec.migrationsDir);
  if (spec.seedUsage) {
    // The export bench's events, written straight into D1 (see bench/export.ts).
    const db = await mf.getD1Database("DB");
    const { sql, params } = seedUsageSql(spec.seedUsage.count);
    await db
      .prepare(sql)
      .bind(...params)
      .run();
  }
  console.log(`ready ${url.href}`);
} catch (error) {
  console.error(`serve failed: ${error instanceof Error ? error.stack : String(error)}`);
  await stop(1);
}
