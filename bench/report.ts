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
import type { PhaseResult } from "./phase";

export const HEADLINE = "gateway / floor (spread)";

function phaseOf(phases: PhaseResult[], name: string, target: TargetName): PhaseResult {
  const found = phases.find((p) => p.phase === name && p.target === target);
  if (!found) throw new Error(`no ${name} phase for ${target}`);
  return found;
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
}

export function buildReport(data: RunData, context: Context) {
  const { phases, before, after, ledger, exportResult } = data;
  const find = (name: string, target: TargetName) => phaseOf(phases, name, target);
  const { flushWrites, flushedEvents, settledCalls, cutOffInFlight } = settlement(data);
  const latencyOf = (name: string) => {
    const g = find(name, "gateway");
    const f = find(name, "forwarder");
    const added = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
    return {
      addedP50Ms: round(added(g.p50Ms, f.p50Ms)),
      addedP99Ms: round(added(g.p99Ms, f.p99Ms)),
      gateway: { rps: g.rps, p50Ms: g.p50Ms, p99Ms: g.p99Ms },
      forwarder: { rps: f.rps, p50Ms: f.p50Ms, p99Ms: f.p99Ms },
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
  const { problems, warnings } = context;
  return {
    headline: {
      name: HEADLINE,
      value: gatewayRatioToFloor,
      gatewayRps: spreadGateway.rps,
      floorRps: spreadFloor.rps,
    },
    timestamp: new Date().toISOString(),
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
