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
 *
 * With BENCH_CONTROL=1 in its environment (`npm run bench` sets it) it first prints
 * "control <url>": a second port on 127.0.0.1 through which the bench calls a few methods of the
 * first worker's Durable Objects (CONTROL_METHODS: reading the ledgers' meters and outbox stats,
 * flushing their outboxes; bench/meter.ts, bench/tail.ts), from Node through Miniflare, without
 * any route in the workers.
 */
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import process, { argv, exit } from "node:process";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { type SeedShape, seedUsageSql } from "./export";
import { onStopSignal } from "./signals";

export interface ServeSpec {
  port: number;
  persistTo: string;
  /** The workers' log lines are appended here, as `level message`. */
  logFile: string;
  /** drizzle-kit's migrations, applied to the first worker's `DB` before serving. */
  migrationsDir?: string;
  /**
   * Usage events written into D1 before serving (bench/export.ts `seedUsageSql`; the export's
   * account unless the shape says otherwise). serve.ts prints D1's size before and after, as
   * `d1-size <bytes before> <bytes after>`, for bench/archive.ts.
   */
  seedUsage?: { count: number } & SeedShape;
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

/** What the control port may call on an object: meters, outbox stats, a flush, housekeeping. */
const CONTROL_METHODS = new Set(["meter", "outboxStats", "flush", "tick"]);

/**
 * `POST /rpc {"binding", "names", "method"}`: calls `method` on the object of each name (by
 * `idFromName`) of the first worker's namespace `binding`, one after the other; answers the
 * results as a JSON array.
 */
async function openControl(): Promise<string> {
  const server = createServer(async (req, res) => {
    try {
      let text = "";
      for await (const chunk of req) text += String(chunk);
      const { binding, names, method } = JSON.parse(text) as {
        binding: string;
        names: string[];
        method: string;
      };
      if (req.method !== "POST" || req.url !== "/rpc" || !CONTROL_METHODS.has(method)) {
        res.writeHead(404).end();
        return;
      }
      const namespace = await mf.getDurableObjectNamespace(binding);
      const results: unknown[] = [];
      for (const name of names) {
        const stub = namespace.get(namespace.idFromName(name)) as unknown as Record<
          string,
          () => Promise<unknown>
        >;
        results.push(await stub[method]?.());
      }
      // Miniflare hands results back as proxies; JSON makes plain values of them.
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(results));
    } catch (error) {
      res.writeHead(500).end(error instanceof Error ? error.message : String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

try {
  const url = await mf.ready;
  if (process.env.BENCH_CONTROL === "1") console.log(`control ${await openControl()}`);
  if (spec.migrationsDir) await migrate(spec.migrationsDir);
  if (spec.seedUsage) {
    // The export bench's events, written straight into D1 (see bench/export.ts).
    const db = await mf.getD1Database("DB");
    const { sql, params } = seedUsageSql(spec.seedUsage.count, spec.seedUsage);
    const before = await db.prepare("SELECT 1").run();
    const after = await db
      .prepare(sql)
      .bind(...params)
      .run();
    console.log(`d1-size ${before.meta.size_after} ${after.meta.size_after}`);
  }
  console.log(`ready ${url.href}`);
} catch (error) {
  console.error(`serve failed: ${error instanceof Error ? error.stack : String(error)}`);
  await stop(1);
}
