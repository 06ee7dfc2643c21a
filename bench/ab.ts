/**
 * `npm run bench:ab -- VARIANTS [SECONDS [ROUNDS [ACCOUNTS]]]`: what a setting costs per call.
 * One gateway bundle is served once per variant (a JSON array of worker vars to add, e.g.
 * `'[{"REQUEST_LOG_SAMPLE":"1"},{}]'`), each its own workerd with its own accounts; then, round
 * after round, each server in turn (the order reversed every other round) takes the spread phase's load (50 connections, round robin
 * over the accounts' keys) for SECONDS and then one connection for 2 s.
 *
 * This machine's speed moves by a third from one minute to the next, so figures of two bench
 * runs cannot tell a 10% change from the drift; interleaving the variants round by round can.
 * It prints each variant's workerd CPU ms per call over all its rounds and its serial p50 per
 * round. Defaults: 8 s, 3 rounds, 50 accounts. Servers listen on 127.0.0.1 only.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { argv } from "node:process";
import type { ServedGateway } from "../test/e2e/support/miniflare";
import { stopAll } from "../test/e2e/support/wrangler";
import { log } from "./config";
import { cpuSnapshot, cpuUsed } from "./cpu";
import { load } from "./load";
import { seedAccounts } from "./seed";
import { bundleGateway, createWorkspace, serveGateway } from "./servers";

interface Variant {
  vars: Record<string, string>;
  server: ServedGateway;
  keys: string[];
  cpuMs: number;
  calls: number;
  serialP50: number[];
  rounds: number[];
}

/** Request log lines the variant's workers wrote (a check that its vars took). */
function logLines(server: ServedGateway): number {
  return readFileSync(server.logFile, "utf8")
    .split("\n")
    .filter((line) => line.includes('{"requestId"')).length;
}

function parseVariants(text: string | undefined): Record<string, string>[] {
  const parsed: unknown = JSON.parse(text ?? "[]");
  if (
    !Array.isArray(parsed) ||
    parsed.length === 0 ||
    !parsed.every(
      (v) =>
        typeof v === "object" &&
        v !== null &&
        Object.values(v).every((value) => typeof value === "string"),
    )
  ) {
    throw new Error(`VARIANTS must be a JSON array of objects of strings, e.g. '[{"X":"1"},{}]'`);
  }
  return parsed as Record<string, string>[];
}

async function main() {
  const variants = parseVariants(argv[2]);
  const seconds = Number(argv[3] ?? 8);
  const rounds = Number(argv[4] ?? 3);
  const accounts = Number(argv[5] ?? 50);
  const ws = createWorkspace();
  try {
    const bundled = bundleGateway(ws);
    const served: Variant[] = [];
    for (const [i, vars] of variants.entries()) {
      const label = `variant-${i}`;
      const persistTo = path.join(ws.tmp, label);
      const server = await serveGateway(ws, { label, persistTo, vars, bundled });
      const keys = (await seedAccounts(server.base, accounts)).map((a) => a.memberKey);
      served.push({ vars, server, keys, cpuMs: 0, calls: 0, serialP50: [], rounds: [] });
    }
    log(`${variants.length} variants, ${rounds} rounds of ${seconds} s each, ${accounts} accounts`);
    for (const v of served) {
      await load({
        base: v.server.base,
        keys: v.keys,
        target: "gateway",
        connections: 50,
        seconds: 2,
      });
    }
    for (let round = 0; round < rounds; round++) {
      // Every other round in reverse (A B, B A, ...), so neither side always follows the other.
      for (const v of round % 2 === 0 ? served : [...served].reverse()) {
        const spec = { base: v.server.base, keys: v.keys, target: "gateway" as const };
        const pgid = v.server.started.pgid;
        const before = cpuSnapshot([pgid]);
        const run = await load({ ...spec, connections: 50, seconds });
        const used = cpuUsed(before, cpuSnapshot([pgid]), pgid);
        if (run.result.non2xx > 0 || run.result.errors > 0) {
          throw new Error(
            `${JSON.stringify(v.vars)}: ${run.result.non2xx} non-2xx, ${run.result.errors} errors`,
          );
        }
        v.cpuMs += used.target.workerd ?? 0;
        v.calls += run.result.requests.total;
        v.rounds.push(run.result.requests.total);
        const serial = await load({ ...spec, connections: 1, seconds: 2 });
        v.serialP50.push(serial.latencies[Math.floor(serial.latencies.length / 2)] ?? Number.NaN);
      }
    }
    for (const v of served) {
      const cpu = v.calls > 0 ? (v.cpuMs / v.calls).toFixed(3) : "-";
      const serial = v.serialP50.map((ms) => ms.toFixed(2)).join(" ");
      console.log(
        `${JSON.stringify(v.vars)}: workerd ${cpu} ms per call over ${v.calls} calls (${v.rounds.join(" + ")}); serial p50 ms per round ${serial}; ${logLines(v.server)} request log lines`,
      );
    }
  } finally {
    await stopAll();
  }
}

await main();
