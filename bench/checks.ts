/**
 * What makes a run untrustworthy (the checks) and what only skews it (the warnings): every
 * response 2xx, no request errors, one D1 event per settled call, no holds left, no server
 * process exited or restarted, no reloads; CPU taken by other processes.
 */

import { readFileSync } from "node:fs";
import { CONFIG, round } from "./config";
import type { ExportResult } from "./export";
import { tallies } from "./load";
import type { PhaseResult } from "./phase";
import type { LedgerTotals, OutboxTotals } from "./seed";
import type { Target } from "./servers";

/** What the run measured, for the checks and the report. */
export interface RunData {
  phases: PhaseResult[];
  /** Outbox totals after seeding and after the load (once drained, or timed out). */
  before: OutboxTotals;
  after: OutboxTotals & { timedOut: boolean };
  /** How long the outboxes were given to drain. */
  waitMs: number;
  ledger: LedgerTotals;
  exportResult: ExportResult | null;
  gateway: Target;
  /** D1 writes of the flushes the bench itself asked for (the tail's drains), left out. */
  benchFlushWrites: number;
}

/** The gateway's settled calls against the events that reached D1. */
export function settlement(data: RunData) {
  const gw = tallies.gateway;
  return {
    flushWrites: data.after.flushWrites - data.before.flushWrites - data.benchFlushWrites,
    flushedEvents: data.after.flushedEvents - data.before.flushedEvents,
    settledCalls: data.ledger.captured / CONFIG.creditsPerCall,
    /** Requests sent but neither answered nor failed: cut off in flight when a slice ended. */
    cutOffInFlight: gw.sent - gw.completed - gw.errors,
  };
}

export function problemsOf(data: RunData): string[] {
  const { before, after, ledger, waitMs } = data;
  const { flushedEvents, settledCalls, cutOffInFlight } = settlement(data);
  const gw = tallies.gateway;
  const problems: string[] = [];
  for (const [target, t] of Object.entries(tallies)) {
    if (t.non2xx > 0)
      problems.push(`${target}: ${t.non2xx} non-2xx responses ${JSON.stringify(t.statusCodes)}`);
    if (t.errors > 0)
      problems.push(`${target}: ${t.errors} request errors (${t.timeouts} timeouts)`);
  }
  if (after.timedOut || after.pending !== 0) {
    problems.push(
      `outbox did not drain: ${after.pending} events still pending after ${waitMs / 1000} s`,
    );
  }
  if (after.failures > before.failures) {
    problems.push(
      `outbox flush failures: ${after.failures - before.failures} (${after.lastErrors.join("; ")})`,
    );
  }
  if (!Number.isInteger(settledCalls)) {
    problems.push(
      `ledger captured ${ledger.captured} credits: not a multiple of ${CONFIG.creditsPerCall}`,
    );
  }
  if (flushedEvents + after.pending !== settledCalls) {
    problems.push(
      `LOST OR EXTRA EVENTS: the ledgers settled ${settledCalls} calls but ${flushedEvents} events reached D1 (${after.pending} pending)`,
    );
  }
  if (flushedEvents < gw.ok2xx || flushedEvents > gw.ok2xx + Math.max(0, cutOffInFlight)) {
    problems.push(
      `events in D1 (${flushedEvents}) do not match the ${gw.ok2xx} 2xx gateway responses (+ up to ${cutOffInFlight} requests cut off in flight when a phase ended)`,
    );
  }
  if (ledger.held !== 0) problems.push(`${ledger.held} credits still held after the run`);
  if (data.exportResult) problems.push(...data.exportResult.problems);
  for (const p of data.phases) {
    if (p.replacedProcesses.length > 0) {
      problems.push(
        `${p.target}: process(es) ${p.replacedProcesses.join(", ")} exited or restarted during the ${p.phase} phase`,
      );
    }
  }
  const reloads = gatewayLogFindings(data.gateway, 1000).filter((l) =>
    l.includes("Reloading local server"),
  );
  if (reloads.length > 0)
    problems.push(`the gateway's dev server reloaded ${reloads.length} times`);
  return problems;
}

export function warningsOf(phases: PhaseResult[]): string[] {
  const warnings: string[] = [];
  const busiest = Math.max(...phases.map((p) => p.cpu?.otherCores ?? 0));
  if (busiest > 0.25) {
    warnings.push(
      `other processes kept up to ${busiest} cores busy during a phase: req/s and latencies are skewed; CPU ms per call is the steadier figure`,
    );
  }
  return warnings;
}

/**
 * Non-2xx request lines, reloads and errors from the gateway's logs (its workers' log lines,
 * its server's output and, under wrangler dev, wrangler's debug log).
 */
export function gatewayLogFindings(gateway: Target, limit = 15): string[] {
  const found: string[] = [];
  for (const file of gateway.logFiles()) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      if (found.length >= limit) return found;
      if (/Reloading local server|\[ERROR\]|Uncaught|internal error/i.test(line)) {
        found.push(line.slice(0, 400));
        continue;
      }
      const at = line.indexOf('{"requestId"');
      if (at < 0) continue;
      try {
        const entry = JSON.parse(line.slice(at)) as {
          status?: number;
          error?: unknown;
          settleError?: unknown;
        };
        if ((entry.status ?? 0) >= 300 || entry.error || entry.settleError) {
          found.push(line.slice(0, 400));
        }
      } catch {
        // not a request line
      }
    }
  }
  return found;
}

/**
 * The request log lines the target's workers wrote for calls to `path`, per completed call: what
 * Workers Logs would count per call (issue 18). The workers' own log file only (the first of
 * `logFiles`); null if it cannot be read or no call completed.
 */
export function logLinesPerCall(target: Target, path: string, completed: number): number | null {
  const file = target.logFiles()[0];
  if (!file || completed === 0) return null;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return null;
  }
  const needle = `"path":${JSON.stringify(path)}`;
  let lines = 0;
  for (const line of text.split("\n")) if (line.includes(needle)) lines += 1;
  return round(lines / completed, 5);
}
