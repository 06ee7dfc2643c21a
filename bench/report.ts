/**
 * The run's figures: bench/results.json and the printed report. The headline is gateway / floor
 * in the spread phase: how close the gateway comes to the least any gateway of this design can
 * cost on this machine (1.0: as cheap as the floor).
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { platform, version } from "node:process";
import { type RunData, settlement } from "./checks";
import { BODY, CONFIG, LOAD_BODY, RESULTS_FILE, ROUTE, round, TARGETS } from "./config";
import { failureSamples, type TargetName, tallies } from "./load";
import { type CallCost, type CostResult, costPerMillion, METER } from "./meter";
import type { PhaseResult } from "./phase";
import { PRICES, PRICES_AS_OF } from "./prices";
import { HELD_BACK_MS } from "./servers";
import type { TargetTail } from "./tail";

export interface LatencyTail {
  /**
   * Outbox flushes (D1 writes): the gateway's during its tail run, held's during its own (0),
   * the gateway's during held's run (0: its outboxes were emptied), and the bench's drains.
   */
  flushes: {
    gateway: number | null;
    held: number | null;
    gatewayDuringHeld: number | null;
    drainWrites: number;
  };
  /** Flush completions timed (one per ledger: its last); below `flushes.gateway`, some missed. */
  flushTimesCaptured: number;
  gateway: TargetTail | null;
  held: TargetTail | null;
  /** The latency phase (gateway and forwarder interleaved) beside the gateway's flushes in it. */
  latencyPhase: {
    flushes: number;
    flushTimesCaptured: number;
    gateway: TargetTail | null;
    forwarder: TargetTail | null;
  };
}

export const HEADLINE = "gateway / floor (spread)";

function phaseOf(phases: PhaseResult[], name: string, target: TargetName): PhaseResult {
  const found = phases.find((p) => p.phase === name && p.target === target);
  if (!found) throw new Error(`no ${name} phase for ${target}`);
  return found;
}

/** The tail at 10 connections: the gateway as it is against the same with its flush held back. */
function tailReport(t: LatencyTail, phases: PhaseResult[]) {
  const pct = (share: number | null | undefined) =>
    share === null || share === undefined ? "-" : `${Math.round(share * 100)}%`;
  const describe = (name: string, x: TargetTail | null) => {
    if (!x) return `${name}: not measured.`;
    const next = (ms: number | null) => (ms === null ? "-" : `${ms} ms`);
    const during = `${pct(x.duringFlush.slow)} of them were in flight when one of the gateway's flushes completed (all calls: ${pct(x.duringFlush.all)}), the next flush completing a median ${next(x.nextFlushMs.slow)} after they were sent (all calls: ${next(x.nextFlushMs.all)})`;
    const s = x.slow;
    const a = x.all;
    if (!s || !a) return `${name}: slowest 1% (${x.slowCalls} calls >= ${x.p99Ms} ms): ${during}.`;
    return `${name}: the slowest 1% (${x.slowCalls} calls >= ${x.p99Ms} ms) took ${s.latencyMs} ms on average: ${s.outsideMs} ms outside the gateway's handler (queued before it ran or after it answered), ${s.gatewayMs} ms its own time (both ledger round trips included), ${s.upstreamMs} ms upstream (every call: ${a.latencyMs} = ${a.outsideMs} + ${a.gatewayMs} + ${a.upstreamMs} ms); ${during}.`;
  };
  const run = phases.find((p) => p.phase === "tail");
  const f = t.flushes;
  const lp = t.latencyPhase;
  const note = [
    `p99 ${t.gateway?.p99Ms ?? "-"} ms with the outbox flush and alarm as they are (${f.gateway ?? "-"} flushes to D1 during the run, ${t.flushTimesCaptured} of them timed), ${t.held?.p99Ms ?? "-"} ms with them held back (${f.held ?? "-"} flushes; the gateway's meanwhile: ${f.gatewayDuringHeld ?? "-"}).`,
    describe("As is", t.gateway),
    describe("Held back", t.held),
    `In the latency phase (${lp.flushes} of the gateway's flushes landed in it, ${lp.flushTimesCaptured} timed): gateway p99 ${lp.gateway?.p99Ms ?? "-"} ms, ${pct(lp.gateway?.duringFlush.slow)} of its slowest 1% in flight at a flush completion (all: ${pct(lp.gateway?.duringFlush.all)}), next one a median ${lp.gateway?.nextFlushMs.slow ?? "-"} ms after their send (all: ${lp.gateway?.nextFlushMs.all ?? "-"} ms); forwarder p99 ${lp.forwarder?.p99Ms ?? "-"} ms, ${pct(lp.forwarder?.duringFlush.slow)} (all: ${pct(lp.forwarder?.duringFlush.all)}), ${lp.forwarder?.nextFlushMs.slow ?? "-"} ms (all: ${lp.forwarder?.nextFlushMs.all ?? "-"} ms).`,
  ].join(" ");
  return {
    connections: CONFIG.latencyConnections,
    offeredRate: CONFIG.latencyRate || null,
    /** Each run: that load on one target alone, for one flush delay and 3 s more. */
    runSeconds: run?.durationSeconds ?? null,
    heldBack: `OUTBOX_FLUSH_DELAY_MS and HOLD_TTL_MS ${HELD_BACK_MS} on its own server and accounts: no alarm runs`,
    p99Ms: { asIs: t.gateway?.p99Ms ?? null, flushHeldBack: t.held?.p99Ms ?? null },
    flushes: f,
    flushTimesCaptured: t.flushTimesCaptured,
    asIs: t.gateway,
    flushHeldBack: t.held,
    latencyPhase: lp,
    note,
  };
}

/** USD per million calls at Cloudflare's prices, gateway beside floor (CPU: spread phase). */
function costReport(
  costs: CostResult | null,
  gatewayCpuMs: number | null,
  floorCpuMs: number | null,
  logLines: Context["logLinesPerCall"],
) {
  if (!costs) return null;
  const perMillion = Object.fromEntries(
    Object.entries(PRICES).map(([k, v]) => [k, round(v * 1_000_000, 4)]),
  );
  return {
    pricesAsOf: PRICES_AS_OF,
    note: "Cloudflare's published Workers Paid prices as written down on pricesAsOf (bench/prices.ts): recheck them",
    usdPerMillionUnits: perMillion,
    cpuMsPerCall: { gateway: gatewayCpuMs, floor: floorCpuMs },
    logLinesPerCall: logLines,
    gateway: costPerMillion(costs.perCall.gateway, gatewayCpuMs, logLines.gateway),
    floor: costPerMillion(costs.perCall.floor, floorCpuMs, logLines.floor),
  };
}

function ratio(a: number | null, b: number | null): number | null {
  return a && b ? round(a / b, 3) : null;
}

export interface Context {
  startedAt: number;
  loadavgAtStart: number | null;
  /** The accounts' first (the hot phase's) id. */
  hotAccount: string;
  problems: string[];
  warnings: string[];
  /** Per-call costs (meter.ts); null when not measured (BENCH_RUNTIME=wrangler). */
  costs: CostResult | null;
  /** The latency phase's tail (bench/tail.ts) and the outbox flushes meanwhile. */
  latencyTail: LatencyTail;
  /** Request log lines per call of the load's route (checks.ts `logLinesPerCall`). */
  logLinesPerCall: { gateway: number | null; floor: number | null };
}

export function buildReport(data: RunData, context: Context) {
  const { phases, before, after, ledger, exportResult } = data;
  const find = (name: string, target: TargetName) => phaseOf(phases, name, target);
  const { flushWrites, flushedEvents, settledCalls, cutOffInFlight } = settlement(data);
  const latencyOf = (name: string) => {
    const g = find(name, "gateway");
    const f = find(name, "forwarder");
    const floorPhase = phases.find((p) => p.phase === name && p.target === "floor") ?? null;
    const added = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
    const floorAddedP50Ms = floorPhase ? round(added(floorPhase.p50Ms, f.p50Ms)) : null;
    return {
      addedP50Ms: round(added(g.p50Ms, f.p50Ms)),
      addedP99Ms: round(added(g.p99Ms, f.p99Ms)),
      gateway: { rps: g.rps, p50Ms: g.p50Ms, p99Ms: g.p99Ms },
      forwarder: { rps: f.rps, p50Ms: f.p50Ms, p99Ms: f.p99Ms },
      /** The floor's own added p50, and how far the gateway's is above it (issue 18: <= 0.5). */
      floor: floorPhase
        ? { rps: floorPhase.rps, p50Ms: floorPhase.p50Ms, p99Ms: floorPhase.p99Ms }
        : null,
      floorAddedP50Ms,
      addedP50OverFloorMs: floorPhase ? round(added(g.p50Ms, floorPhase.p50Ms)) : null,
    };
  };
  const spreadGateway = find("spread", "gateway");
  const spreadForwarder = find("spread", "forwarder");
  const spreadFloor = find("spread", "floor");
  const gatewayRatioToFloor = ratio(spreadGateway.rps, spreadFloor.rps);
  const latency = latencyOf("latency");
  const d1WritesPerSettledCall = settledCalls > 0 ? round(flushWrites / settledCalls, 5) : null;
  const hotBefore = before.byAccount[context.hotAccount] ?? { flushedEvents: 0, flushWrites: 0 };
  const hotAfter = after.byAccount[context.hotAccount] ?? hotBefore;
  const { problems, warnings, costs } = context;
  const gatewayCpuMs = spreadGateway.cpu?.msPerRequest.workerd ?? null;
  const floorCpuMs = spreadFloor.cpu?.msPerRequest.workerd ?? null;
  return {
    headline: {
      name: HEADLINE,
      value: gatewayRatioToFloor,
      gatewayRps: spreadGateway.rps,
      floorRps: spreadFloor.rps,
    },
    timestamp: new Date().toISOString(),
    perCall: costs?.perCall ?? null,
    perCallByKind: costs?.perCallByKind ?? null,
    perAlarmTick: costs?.perAlarmTick ?? null,
    floorDefinition: costs?.floorDefinition ?? null,
    costPerMillionCalls: costReport(costs, gatewayCpuMs, floorCpuMs, context.logLinesPerCall),
    tail: tailReport(context.latencyTail, phases),
    spread: {
      gatewayRps: spreadGateway.rps,
      forwarderRps: spreadForwarder.rps,
      ratio: ratio(spreadGateway.rps, spreadForwarder.rps),
    },
    hot: {
      gatewayRps: find("hot", "gateway").rps,
      forwarderRps: find("hot", "forwarder").rps,
      ratio: ratio(find("hot", "gateway").rps, find("hot", "forwarder").rps),
    },
    floor: {
      rps: spreadFloor.rps,
      workerdMsPerCall: spreadFloor.cpu?.msPerRequest.workerd ?? null,
      ratioToForwarder: ratio(spreadFloor.rps, spreadForwarder.rps),
      gatewayRatioToFloor,
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
      gateway2xx: tallies.gateway.ok2xx,
      cutOffInFlight,
      hotAccount: {
        id: context.hotAccount,
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
      gatewayWorkerdMsPerCall: spreadGateway.cpu?.msPerRequest.workerd ?? null,
      forwarderWorkerdMsPerCall: spreadForwarder.cpu?.msPerRequest.workerd ?? null,
      gatewayTotalMsPerCall: spreadGateway.cpu?.msPerRequest.total ?? null,
      forwarderTotalMsPerCall: spreadForwarder.cpu?.msPerRequest.total ?? null,
    },
    checks: { ok: problems.length === 0, problems },
    warnings,
    config: {
      ...CONFIG,
      route: ROUTE,
      body: LOAD_BODY,
      smokeBody: BODY,
      host: "127.0.0.1",
      targets: TARGETS,
      meter: METER,
    },
    machine: {
      cpus: cpus().length,
      node: version,
      platform,
      loadavgAtStart: context.loadavgAtStart,
    },
    raw: {
      phases,
      tallies,
      failureSamples,
      outboxBefore: { ...before, byAccount: undefined },
      outboxAfter: { ...after, byAccount: undefined },
      ledger,
      wallSeconds: round((Date.now() - context.startedAt) / 1000, 1),
    },
  };
}

export type Report = ReturnType<typeof buildReport>;

export function writeResults(report: Report): void {
  writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
}

type Cell = string | number | null | undefined;

function pad(value: Cell, width: number, left = false): string {
  const text = value === null || value === undefined ? "-" : String(value);
  return left ? text.padEnd(width) : text.padStart(width);
}

function phaseTable(phases: PhaseResult[]): string[] {
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
  return [
    header.join(" "),
    ...phases.map((p) => {
      const c = p.cpu?.msPerRequest;
      const cores = `${pad(p.cpu?.targetCores, 6)} ${pad(p.cpu?.loadGeneratorCores, 7)} ${pad(p.cpu?.otherCores, 5)}`;
      return [
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
        `|              ${pad(c?.workerd, 7)} ${pad(c?.proxy, 5)} ${pad(c?.host, 8)} |        ${cores}`,
      ].join(" ");
    }),
  ];
}

/** The figures below the table, the headline first; targets get an ok / MISSED verdict. */
function figures(report: Report): string[] {
  const { headline, spread, hot, floor, latency, d1, cpu } = report;
  const lines = [`${pad("figure", 62, true)} ${pad("value", 13, true)} ${pad("target", 9, true)}`];
  const row = (label: string, value: Cell, target = "-", pass?: boolean) =>
    lines.push(
      `${pad(label, 62, true)} ${pad(value, 13, true)} ${pad(target, 9, true)} ${pass === undefined ? "" : pass ? "ok" : "MISSED"}`.trimEnd(),
    );
  const rate = `${latency.connections} connections, ${latency.offeredRate ?? "max"} req/s`;
  row("spread: gateway / floor req/s (the headline)", headline.value);
  row("spread: gateway / forwarder req/s", spread.ratio);
  row("hot (one account): gateway / forwarder req/s", hot.ratio);
  row("spread: floor (2 ledger round trips, 1 write each) / forwarder", floor.ratioToForwarder);
  row(`added p50 ms at ${rate}`, latency.addedP50Ms, `<= ${TARGETS.addedP50Ms}`, latency.pass);
  row(`added p99 ms at ${rate}`, latency.addedP99Ms);
  row(
    "added p50 / p99 ms at 1 connection",
    `${latency.serial.addedP50Ms} / ${latency.serial.addedP99Ms}`,
  );
  row(
    "added p50 ms at 1 connection: floor / gateway over floor",
    `${latency.serial.floorAddedP50Ms ?? "-"} / ${latency.serial.addedP50OverFloorMs ?? "-"}`,
    "<= 0.5",
    latency.serial.addedP50OverFloorMs === null
      ? undefined
      : latency.serial.addedP50OverFloorMs <= 0.5,
  );
  const d1Target = `<= ${round(TARGETS.d1WritesPerSettledCall, 3)}`;
  row("D1 writes per settled call", report.d1WritesPerSettledCall, d1Target, d1.pass);
  const e = report.export;
  if (e) {
    const exportTarget = `>= ${TARGETS.exportEventsPerSec}`;
    row(`usage export, CSV events/s (${e.events} events)`, e.eventsPerSec, exportTarget, e.pass);
    row(
      "  workerd RSS growth MiB, half / whole range",
      `${e.halfRange.workerdRssGrowthMb} / ${e.workerdRssMb.growth}`,
    );
  }
  row("gateway workerd CPU ms per call (spread)", cpu.gatewayWorkerdMsPerCall);
  row("forwarder workerd CPU ms per call (spread)", cpu.forwarderWorkerdMsPerCall);
  row("floor workerd CPU ms per call (spread)", floor.workerdMsPerCall);
  lines.push(
    `  D1: ${d1.flushWrites} writes for ${d1.settledCalls} settled calls; ${d1.flushedEvents} events flushed, ${d1.pending} pending; hot account ${d1.hotAccount.flushedEvents} events in ${d1.hotAccount.flushWrites} writes`,
  );
  return lines;
}

const KIND_LABELS: Array<[string, string]> = [
  ["on_success", "on_success (the load's call: 1 fresh record, dedupe)"],
  ["on_success_no_dedupe", "on_success without dedupe (buyer intent)"],
  ["metered", "metered (AI generation)"],
  ["idempotent_first", "first call with an Idempotency-Key"],
  ["idempotent", "idempotent (the key replayed)"],
  ["denied", "denied (seat_required)"],
  ["dedupePerRecord", "each extra record of a dedupe action"],
];

/** Per-call costs per kind, gateway and floor, and what a million calls cost. */
function costLines(report: Report): string[] {
  const byKind = report.perCallByKind as Record<string, CallCost> | null;
  const floor = report.perCall?.floor;
  if (!byKind || !floor) return ["per-call costs: not measured (BENCH_RUNTIME=wrangler)"];
  const head = `${pad("per call (ledger rows from its SQLite cursors)", 56, true)} ${pad("DO req", 7)} ${pad("stmts", 7)} ${pad("rows rd", 8)} ${pad("rows wr", 8)} ${pad("D1 wr", 7)} ${pad("D1 rd", 7)}`;
  const line = (label: string, c: CallCost) =>
    `${pad(label, 56, true)} ${pad(c.doRequests, 7)} ${pad(c.statements, 7)} ${pad(c.rowsRead, 8)} ${pad(c.rowsWritten, 8)} ${pad(c.d1RowsWritten, 7)} ${pad(c.d1RowsRead, 7)}`;
  const lines = [head];
  for (const [kind, label] of KIND_LABELS) {
    const c = byKind[kind];
    if (c) lines.push(line(`gateway ${label}`, c));
  }
  lines.push(line("floor (hold + capture, no D1)", floor));
  const first = report.perCallByKind?.on_success;
  if (first) {
    lines.push(
      `  gateway figures include the flush's share: ${first.calls / first.accounts} calls per ledger per flush; on_success request path alone ${first.requestPath.doRequests} DO req, ${first.requestPath.statements} stmts, ${first.requestPath.rowsRead} rows read, ${first.requestPath.rowsWritten} rows written`,
    );
  }
  const cost = report.costPerMillionCalls;
  if (cost) {
    const usd = (v: number | null) => (v === null ? "-" : `$${v.toFixed(2)}`);
    const row = (name: string, c: typeof cost.gateway, cpu: number | null, logs: number | null) =>
      `  ${pad(name, 8, true)} ${pad(usd(c.total), 8)} = requests ${usd(c.workerRequests)} + CPU ${usd(c.workerCpu)} (${cpu ?? "-"} ms) + DO requests ${usd(c.doRequests)} + DO rows written ${usd(c.doRowsWritten)} + read ${usd(c.doRowsRead)} + D1 rows written ${usd(c.d1RowsWritten)} + read ${usd(c.d1RowsRead)} + log events ${usd(c.logEvents)} (${logs ?? "-"} lines)`;
    lines.push(
      `a million calls at Cloudflare's Workers Paid prices as of ${cost.pricesAsOf} (bench/prices.ts; recheck them), allowances left out:`,
      row("gateway", cost.gateway, cost.cpuMsPerCall.gateway, cost.logLinesPerCall.gateway),
      row("floor", cost.floor, cost.cpuMsPerCall.floor, cost.logLinesPerCall.floor),
    );
  }
  const statements = report.perCallByKind?.on_success.statementsPerCall ?? [];
  if (statements.length > 0) {
    lines.push(
      "statements of one on_success call's request path (per call: count, rows read, rows written):",
    );
    for (const st of statements) {
      lines.push(
        `  ${pad(st.count, 5)} ${pad(st.rowsRead, 6)} ${pad(st.rowsWritten, 6)}  ${st.sql.length > 110 ? `${st.sql.slice(0, 107)}...` : st.sql}`,
      );
    }
  }
  return lines;
}

export function printReport(report: Report, tmp: string): void {
  const { headline, machine } = report;
  const bar = "=".repeat(100);
  const lines = [
    "",
    `creditgate bench  ${report.timestamp}  (runtime ${CONFIG.runtime}, state in ${tmp}; ${machine.cpus} cpus, node ${machine.node}, load avg at start ${machine.loadavgAtStart})`,
    `${CONFIG.accounts} accounts; per phase and target ${CONFIG.warmupSeconds} s warm-up, then ${CONFIG.durationSeconds} s in ${CONFIG.slices} slices interleaved with the other targets (the floor in spread only); POST ${ROUTE} ${LOAD_BODY}, a new domain each request`,
    "",
    bar,
    `  HEADLINE  ${headline.name}: ${pad(headline.value, 0)}   (gateway ${pad(headline.gatewayRps, 0)} req/s, floor ${pad(headline.floorRps, 0)} req/s; 1.0 = as cheap as the design allows)`,
    bar,
    "",
    ...phaseTable(report.raw.phases),
    "",
    ...figures(report),
    "",
    ...costLines(report),
    "",
    `tail at ${report.tail.connections} connections, ${report.tail.offeredRate ?? "max"} req/s, ${report.tail.runSeconds ?? "-"} s per run: p99 ${report.tail.p99Ms.asIs ?? "-"} ms as is, ${report.tail.p99Ms.flushHeldBack ?? "-"} ms with the flush and alarm held back`,
    `  ${report.tail.note}`,
    "",
    ...report.warnings.map((warning) => `warning: ${warning}`),
  ];
  if (report.checks.problems.length === 0) {
    lines.push(
      "checks: every response 2xx, no request errors, one D1 event per settled call, no holds left",
    );
  } else {
    const alarm = "!".repeat(80);
    lines.push(alarm, "!! THIS RUN HAS PROBLEMS: its figures are not trustworthy");
    for (const problem of report.checks.problems) lines.push(`!! - ${problem}`);
    lines.push(alarm);
  }
  lines.push("results written to bench/results.json");
  console.log(lines.join("\n"));
}
