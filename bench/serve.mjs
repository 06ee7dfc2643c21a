#!/usr/bin/env node
/**
 * Serves bundled workers with Miniflare from Node, for `npm run bench` (BENCH_RUNTIME=miniflare).
 *
 * Why not `wrangler dev` for the figures: wrangler dev attaches its inspector proxy to the
 * runtime with `Runtime.enable` and `Network.enable`, so every console.log of the worker is also
 * serialized for DevTools, and wrangler source-maps and prints every log line on the same cores.
 * That is dev tooling, not the gateway; production has neither. Here the runtime is the same
 * workerd, with no inspector session; the worker still writes its log line per request, and this
 * process appends each one to a file.
 *
 * Usage: node bench/serve.mjs SPEC.json, where SPEC is
 *   { port, persistTo, logFile, migrationsDir?, seedUsage?: { count }, inspectorPort?,
 *     workers: [{ config, vars? }] }
 * `config` is a wrangler config (the bench's bundled snapshot); the first worker gets the port.
 * Prints "ready <url>" once it answers. Stops on SIGTERM/SIGINT (Miniflare stops workerd).
 */
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { seedUsageSql } from "./export.mjs";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
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
  handleStructuredLogs: ({ level, message }) => {
    logOut.write(`${level} ${message}\n`);
  },
});

async function stop(code) {
  try {
    await mf.dispose();
  } finally {
    logOut.end(() => process.exit(code));
  }
}
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => stop(0));

try {
  const url = await mf.ready;
  if (spec.migrationsDir) {
    const db = await mf.getD1Database("DB");
    const files = readdirSync(spec.migrationsDir)
      .filter((f) => f.endsWith(".sql"))
      .sort();
    for (const file of files) {
      const text = readFileSync(path.join(spec.migrationsDir, file), "utf8");
      // drizzle-kit separates statements with a breakpoint marker line.
      for (const statement of text.split(/--> statement-breakpoint|;\s*$/m)) {
        if (statement.trim()) await db.prepare(statement).run();
      }
    }
  }
  if (spec.seedUsage) {
    // The export bench's events, written straight into D1 (see bench/export.mjs).
    const db = await mf.getD1Database("DB");
    const { sql, params } = seedUsageSql(spec.seedUsage.count);
    await db
      .prepare(sql)
      .bind(...params)
      .run();
  }
  process.stdout.write(`ready ${url.href}\n`);
} catch (error) {
  process.stderr.write(`serve failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  await stop(1);
}
