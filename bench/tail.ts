/**
 * The tail at 10 connections (issue 18): what the latency phase's slowest calls waited for.
 *
 * Two measurements, side by side in the latency phase: the gateway as it is, and `held`, the same
 * bundle on its own server with its outbox flush and alarm held back (no alarm runs). For each,
 * the slowest 1% of calls are split by the gateway's own Server-Timing (its time, both ledger
 * round trips included; the upstream's; and the rest, outside its handler), and set beside the
 * gateway's outbox flushes of the phase: the share of calls whose span, from send to answer,
 * contains the moment a flush completed (its ledger's `lastFlushAt`), for the slow calls and for
 * all of them. Every target is timed against the gateway's flushes, since all servers share the
 * machine's two cores.
 */
import { round } from "./config";
import { type CallTiming, percentile } from "./load";
import { rpc } from "./meter";
import type { Target } from "./servers";

/** Mean ms per call: client latency, the gateway's own time, the upstream's, and the rest. */
export interface TimeSplit {
  latencyMs: number | null;
  gatewayMs: number | null;
  upstreamMs: number | null;
  outsideMs: number | null;
}

export interface TargetTail {
  p99Ms: number | null;
  /** Calls at or above the p99. */
  slowCalls: number;
  /** From Server-Timing; null for a target without it (the forwarder). */
  slow: TimeSplit | null;
  all: TimeSplit | null;
  /** Share of calls whose span contains a gateway flush's completion: the slow ones, all. */
  duringFlush: { slow: number | null; all: number | null };
  /**
   * Median ms from a call's send to the next completion of a gateway flush (null: none came):
   * the slow ones, all. A flush works before it completes, so calls it held up sit just before.
   */
  nextFlushMs: { slow: number | null; all: number | null };
}

function split(timings: CallTiming[]): TimeSplit | null {
  const timed = timings.flatMap((t) =>
    t.gatewayMs === null || t.upstreamMs === null
      ? []
      : [{ latency: t.latencyMs, gateway: t.gatewayMs, upstream: t.upstreamMs }],
  );
  if (timed.length === 0) return null;
  const mean = (f: (t: (typeof timed)[number]) => number) =>
    round(timed.reduce((n, t) => n + f(t), 0) / timed.length);
  return {
    latencyMs: mean((t) => t.latency),
    gatewayMs: mean((t) => t.gateway),
    upstreamMs: mean((t) => t.upstream),
    outsideMs: mean((t) => Math.max(0, t.latency - t.gateway - t.upstream)),
  };
}

function shareDuring(timings: CallTiming[], flushTimes: number[]): number | null {
  if (timings.length === 0) return null;
  const during = timings.filter((t) =>
    flushTimes.some((f) => f >= t.sentAt && f <= t.sentAt + t.latencyMs),
  );
  return round(during.length / timings.length, 3);
}

function medianToNextFlush(timings: CallTiming[], flushTimes: number[]): number | null {
  const gaps = timings
    .map((t) => Math.min(...flushTimes.filter((f) => f >= t.sentAt).map((f) => f - t.sentAt)))
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  return round(percentile(gaps, 50), 0);
}

/** One target's slowest 1% beside all its calls; null without timings. */
export function tailOf(timings: CallTiming[] | undefined, flushTimes: number[]): TargetTail | null {
  if (!timings || timings.length === 0) return null;
  const p99 = percentile(
    timings.map((t) => t.latencyMs).sort((a, b) => a - b),
    99,
  );
  const slow = timings.filter((t) => p99 !== null && t.latencyMs >= p99);
  return {
    p99Ms: round(p99),
    slowCalls: slow.length,
    slow: split(slow),
    all: split(timings),
    duringFlush: { slow: shareDuring(slow, flushTimes), all: shareDuring(timings, flushTimes) },
    nextFlushMs: {
      slow: medianToNextFlush(slow, flushTimes),
      all: medianToNextFlush(timings, flushTimes),
    },
  };
}

/**
 * When each of the gateway's ledgers last completed a flush, for those at or after `since`
 * (through serve.ts's control port; empty without one). One time per ledger: a ledger that
 * flushed twice since shows only its last, so the caller compares the count with the flushes.
 */
export async function flushTimesSince(
  server: Target,
  names: string[],
  since: number,
): Promise<number[]> {
  if (!server.control) return [];
  const stats = (await rpc(server, "LEDGER", names, "outboxStats")) as Array<{
    lastFlushAt: number | null;
  }>;
  return stats.flatMap((s) =>
    s.lastFlushAt !== null && s.lastFlushAt >= since ? [s.lastFlushAt] : [],
  );
}
