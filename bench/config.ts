/**
 * The bench's knobs (environment variables, read once at start), its fixed inputs and the
 * targets some figures are held to. See bench/README.md, "Results and knobs".
 */
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const RESULTS_FILE = path.join(ROOT, "bench", "results.json");

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${raw}`);
  }
  return value;
}

function oneOf<T extends string>(name: string, values: readonly T[]): T {
  const raw = process.env[name] || values[0];
  const value = values.find((v) => v === raw);
  if (value === undefined) {
    throw new Error(`${name} must be one of ${values.join(", ")}, got ${raw}`);
  }
  return value;
}

export const CONFIG = {
  /** Miniflare from Node (bench/serve.ts), or `wrangler dev` (its DevTools plumbing taxes every log line). */
  runtime: oneOf("BENCH_RUNTIME", ["miniflare", "wrangler"] as const),
  /**
   * Where the servers keep their throw-away state (Durable Object SQLite files, D1). Locally each
   * ledger commit is an fsync on the machine's disk that blocks workerd's one thread; a deployed
   * Durable Object's storage does not work that way. `memory` puts the state on tmpfs
   * (/dev/shm) so the figures show the gateway's own work; `disk` keeps it in the temp dir.
   */
  state: oneOf("BENCH_STATE", ["memory", "disk"] as const),
  accounts: intFromEnv("BENCH_ACCOUNTS", 50, 1, 200),
  connections: intFromEnv("BENCH_CONNECTIONS", 50, 1, 200),
  latencyConnections: intFromEnv("BENCH_LATENCY_CONNECTIONS", 10, 1, 200),
  /** Offered load of the latency phase in requests/s over all its connections (0: closed loop). */
  latencyRate: intFromEnv("BENCH_LATENCY_RATE", 100, 0, 100_000),
  durationSeconds: intFromEnv("BENCH_DURATION", 9, 1, 20),
  slices: intFromEnv("BENCH_SLICES", 3, 1, 10),
  warmupSeconds: intFromEnv("BENCH_WARMUP", 2, 0, 10),
  /** Usage events the export phase streams as CSV (Miniflare runtime only). */
  exportEvents: intFromEnv("BENCH_EXPORT_EVENTS", 100_000, 1_000, 1_000_000),
  grantCredits: 10_000_000,
  creditsPerCall: 10,
};
export type BenchConfig = typeof CONFIG;

/**
 * Figures held to a target (each gets an ok / MISSED verdict). The headline, gateway / floor in
 * the spread phase, and the gateway / forwarder ratios are reported, not held to a target.
 */
export const TARGETS = {
  addedP50Ms: 3,
  d1WritesPerSettledCall: 1 / 25,
  exportEventsPerSec: 20_000,
};

/** Hard ceiling on the whole run: past it everything is stopped and the run fails. */
export const WATCHDOG_MS = 290_000;
export const ROUTE = "/v1/enrichment/companies";
/** The smoke calls' body: one record, each account's first call (10 credits). */
export const BODY = JSON.stringify({ records: [{ domain: "acme.com" }] });

/** What the load's bodies look like (`n` counts up), for the report. */
export const LOAD_BODY = '{"records":[{"domain":"load-<n>.example"}]}';
let loadBodies = 0;

/**
 * The body of one load request: one record whose domain no earlier request of the run sent. The
 * demo catalog charges each company once per 30 days (`dedupe` on `domain`): a record enriched
 * already would be answered by the gateway itself, free and without the upstream, so a repeated
 * body would not measure the charged, forwarded path. The other targets get the same kind of
 * body, so every target parses and forwards the same bytes' worth.
 */
export function loadBody(): string {
  loadBodies += 1;
  return LOAD_BODY.replace("<n>", String(loadBodies));
}

function token(prefix: string, bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  return `${prefix}${Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
export const OPERATOR_TOKEN = token("bench-", 16);
export const UPSTREAM_TOKEN = token("bench-upstream-", 8);

export function log(message: string): void {
  console.error(`[bench] ${message}`);
}

export function round(value: number | null | undefined, digits = 2): number | null {
  return value === null || value === undefined || !Number.isFinite(value)
    ? null
    : Number(value.toFixed(digits));
}
