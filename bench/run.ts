/**
 * `npm run bench`: the gateway against a bare Hono forwarder to the same upstream, and against
 * the floor (SPEC §10; see bench/README.md). The headline is gateway / floor req/s in the spread
 * phase.
 *
 * Bundles the workers once and starts the servers on 127.0.0.1 (servers.ts), seeds accounts
 * through the gateway's HTTP API (seed.ts), measures what each kind of call costs on Cloudflare's
 * bill (meter.ts), loads the targets phase by phase (phase.ts, load.ts, cpu.ts), waits for the
 * ledgers' outboxes to reach D1, streams a CSV export (export.ts), checks the run (checks.ts),
 * prints the report and writes bench/results.json (report.ts).
 *
 * Every process it starts runs under the e2e tests' guard (test/e2e/support/wrangler.ts) and is
 * stopped by its process group, also on errors, Ctrl-C and the watchdog; the temp dir is removed
 * unless BENCH_KEEP_TMP=1.
 */
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import process, { exit } from "node:process";
import { stopAll, type Workspace, workerdPidsOf } from "../test/e2e/support/wrangler";
import {
  gatewayLogFindings,
  logLinesPerCall,
  problemsOf,
  type RunData,
  warningsOf,
} from "./checks";
import { CONFIG, log, OPERATOR_TOKEN, ROUTE, round, WATCHDOG_MS } from "./config";
import { HAS_PROC } from "./cpu";
import { measureExport } from "./export";
import { failureSamples, stopLoad, tallies } from "./load";
import { measureCosts, rpc } from "./meter";
import { callTimings, type PhaseResult, type PhaseSpec, phase, smoke, stopPhases } from "./phase";
import { buildReport, type LatencyTail, printReport, writeResults } from "./report";
import {
  type Account,
  awaitFlush,
  flushDelayMs,
  flushWaitMs,
  ledgerTotals,
  outboxTotals,
  seedAccounts,
} from "./seed";
import { createWorkspace, startTargets, type Target } from "./servers";
import { onStopSignal } from "./signals";
import { flushTimesSince, tailOf } from "./tail";

let ws: Workspace | null = null;
let cleaning: Promise<void> | null = null;
let stopping = false;

/** Stops the load and every process started, and removes the temp dir; once. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    stopLoad();
    await stopAll();
    if (ws && process.env.BENCH_KEEP_TMP !== "1") rmSync(ws.tmp, { recursive: true, force: true });
    else if (ws) log(`kept ${ws.tmp}`);
  })();
  return cleaning;
}

async function main(): Promise<number> {
  const startedAt = Date.now();
  const loadavgAtStart = round(loadavg()[0]);
  ws = createWorkspace();
  const { gateway, forwarder, held, metered } = await startTargets(ws);
  log(
    `gateway ${gateway.base} (group ${gateway.pgid}), forwarder ${forwarder.base} (group ${forwarder.pgid})`,
  );
  if (held && metered) {
    log(
      `held (flush and alarm held back) ${held.base} (group ${held.pgid}), metered ${metered.base} (group ${metered.pgid})`,
    );
  }

  log(`seeding ${CONFIG.accounts} accounts through the HTTP API${held ? " (and on held)" : ""}`);
  const [accounts, heldAccounts] = await Promise.all([
    seedAccounts(gateway.base),
    held ? seedAccounts(held.base) : Promise.resolve([]),
  ]);
  const before = await outboxTotals(gateway.base, accounts);
  // The floor is the forwarder's server under /floor: its CPU is the forwarder's workerd.
  const floor = { ...forwarder, base: `${forwarder.base}/floor` };
  await smoke(gateway, forwarder, floor, accounts);
  const costs = await measureCosts(metered, forwarder);

  const allKeys = accounts.map((a) => a.memberKey);
  const hotKey = allKeys.slice(0, 1);
  const pgids = [gateway, forwarder, held, metered].flatMap((t) => (t ? [t.pgid] : []));
  const phases: PhaseResult[] = [];
  const runPhase = async (spec: Omit<PhaseSpec, "targets" | "pgids">, withFloor = false) => {
    const targets: PhaseSpec["targets"] = [
      { name: "gateway", server: gateway },
      { name: "forwarder", server: forwarder },
    ];
    if (withFloor) targets.push({ name: "floor", server: floor });
    phases.push(...(await phase({ ...spec, targets, pgids })));
  };
  await runPhase({ name: "hot", keys: hotKey, connections: CONFIG.connections });
  // The floor runs in the spread and serial phases only, to keep the bench short.
  await runPhase({ name: "spread", keys: allKeys, connections: CONFIG.connections }, true);
  // The gateway's flushes that land in the latency phase (its earlier phases' backlog, at
  // whatever moment each ledger's alarm comes due) are counted and timed: bench/tail.ts.
  const latencyFlushesBefore = (await outboxTotals(gateway.base, accounts)).flushWrites;
  const latencyStartedAt = Date.now();
  await runPhase({
    name: "latency",
    keys: allKeys,
    connections: CONFIG.latencyConnections,
    rate: CONFIG.latencyRate,
  });
  const latencyFlushTimes = await flushTimesSince(
    gateway,
    accounts.map((a) => a.id),
    latencyStartedAt,
  );
  const latencyPhase = {
    flushes: (await outboxTotals(gateway.base, accounts)).flushWrites - latencyFlushesBefore,
    flushTimesCaptured: latencyFlushTimes.length,
    gateway: tailOf(callTimings.get("latency/gateway"), latencyFlushTimes),
    forwarder: tailOf(callTimings.get("latency/forwarder"), latencyFlushTimes),
  };
  // One connection: nothing queues, so the difference is what the gateway adds to one call.
  // (At 10 connections two cores are saturated and latency mostly restates throughput.)
  // The floor too: the gateway's added p50 is judged against the floor's (issue 18).
  await runPhase({ name: "serial", keys: allKeys, connections: 1 }, true);
  const latencyTail = {
    ...(await tailRuns(gateway, accounts, held, heldAccounts, pgids, phases)),
    latencyPhase,
  };

  log("waiting for the ledgers to flush their outboxes to D1");
  const waitMs = flushWaitMs();
  const after = await awaitFlush(gateway.base, accounts, tallies.gateway.ok2xx, waitMs);
  const ledger = await ledgerTotals(gateway.base, accounts);

  let exportResult = null;
  if (CONFIG.runtime === "miniflare") {
    log(`exporting ${CONFIG.exportEvents} usage events as CSV (half the range, then all of it)`);
    exportResult = await measureExport({
      base: gateway.base,
      workerdPid: HAS_PROC ? (workerdPidsOf(gateway.pgid)[0] ?? null) : null,
      operatorToken: OPERATOR_TOKEN,
      count: CONFIG.exportEvents,
    });
  }

  const data: RunData = {
    phases,
    before,
    after,
    waitMs,
    ledger,
    exportResult,
    gateway,
    benchFlushWrites: latencyTail.flushes.drainWrites,
  };
  const problems = problemsOf(data);
  if (latencyTail.flushes.held) {
    problems.push(
      `the held gateway flushed ${latencyTail.flushes.held} times: its flush was not held back`,
    );
  }
  const hotAccount = accounts[0]?.id ?? "";
  const context = {
    startedAt,
    loadavgAtStart,
    hotAccount,
    problems,
    warnings: warningsOf(phases),
    costs,
    latencyTail,
    logLinesPerCall: {
      gateway: logLinesPerCall(gateway, ROUTE, tallies.gateway.completed),
      floor: logLinesPerCall(forwarder, `/floor${ROUTE}`, tallies.floor.completed),
    },
  };
  const report = buildReport(data, context);
  writeResults(report);
  printReport(report, ws.tmp);
  if (problems.length === 0) return 0;
  for (const [target, samples] of Object.entries(failureSamples)) {
    for (const sample of samples) log(`${target} answered ${sample.status}: ${sample.body}`);
  }
  const findings = gatewayLogFindings(gateway);
  if (findings.length > 0) log(`from the gateway's log:\n${findings.join("\n")}`);
  log(`output of the gateway's server:\n${gateway.output(20)}`);
  return 1;
}

/**
 * The tail (bench/tail.ts): the latency phase's load (open loop, same rate and connections) on
 * the gateway alone with its flush and alarm as they are, then on `held` alone, each after the
 * usual warm-up for one flush delay and 3 s more, so every ledger of the gateway completes a
 * flush inside its run.
 * Each starts with the gateway's outboxes empty (flushed through the control port), so the
 * earlier phases' backlog does not land in either; the flushes each run meets are counted.
 */
async function tailRuns(
  gateway: Target,
  accounts: Account[],
  held: Target | null,
  heldAccounts: Account[],
  pgids: number[],
  phases: PhaseResult[],
): Promise<Omit<LatencyTail, "latencyPhase">> {
  const names = accounts.map((a) => a.id);
  if (!held || !gateway.control) {
    const flushes = { gateway: null, held: null, gatewayDuringHeld: null, drainWrites: 0 };
    return { flushes, flushTimesCaptured: 0, gateway: null, held: null };
  }
  const seconds = Math.min(60, Math.max(9, Math.round(flushDelayMs() / 1000) + 3));
  // Slices of about 3 s, back to back, as in the other phases (each its own connections).
  const slices = Math.max(1, Math.round(seconds / 3));
  const timing = { warmupSeconds: CONFIG.warmupSeconds, durationSeconds: seconds, slices };
  const spec = {
    connections: CONFIG.latencyConnections,
    rate: CONFIG.latencyRate,
    pgids,
    timing,
  };
  const flushWrites = async (target: Target, of: Account[]) =>
    (await outboxTotals(target.base, of)).flushWrites;

  // The bench's own flushes (drains) are counted, to leave them out of D1 writes per call.
  let drainWrites = 0;
  const drain = async () => {
    const before = await flushWrites(gateway, accounts);
    await rpc(gateway, "LEDGER", names, "flush");
    drainWrites += (await flushWrites(gateway, accounts)) - before;
  };
  await drain();
  const gatewayBefore = await flushWrites(gateway, accounts);
  const startedAt = Date.now();
  phases.push(
    ...(await phase({
      ...spec,
      name: "tail",
      keys: accounts.map((a) => a.memberKey),
      targets: [{ name: "gateway", server: gateway }],
    })),
  );
  const gatewayFlushes = (await flushWrites(gateway, accounts)) - gatewayBefore;
  const flushTimes = await flushTimesSince(gateway, names, startedAt);

  await drain();
  const heldBefore = await flushWrites(held, heldAccounts);
  const quietBefore = await flushWrites(gateway, accounts);
  phases.push(
    ...(await phase({
      ...spec,
      name: "tail",
      keys: heldAccounts.map((a) => a.memberKey),
      targets: [{ name: "held", server: held }],
    })),
  );
  const heldFlushes = (await flushWrites(held, heldAccounts)) - heldBefore;
  const gatewayDuringHeld = (await flushWrites(gateway, accounts)) - quietBefore;
  return {
    flushes: { gateway: gatewayFlushes, held: heldFlushes, gatewayDuringHeld, drainWrites },
    flushTimesCaptured: flushTimes.length,
    gateway: tailOf(callTimings.get("tail/gateway"), flushTimes),
    held: tailOf(callTimings.get("tail/held"), flushTimes),
  };
}

onStopSignal((signal) => {
  // Under tsx the signal may come twice: from the terminal and relayed by tsx's own process.
  if (stopping) return;
  stopping = true;
  stopPhases();
  log(`${signal}: stopping everything`);
  cleanup().finally(() => exit(130));
});

setTimeout(() => {
  log(`the bench ran past ${WATCHDOG_MS / 1000} s: stopping everything`);
  cleanup().finally(() => exit(1));
}, WATCHDOG_MS);

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  if (!stopping)
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await cleanup();
}
exit(exitCode);
