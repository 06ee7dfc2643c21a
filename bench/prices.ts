/**
 * Cloudflare's published prices (Workers Paid plan, USD), the only place the bench keeps them:
 * what a million calls cost (bench/meter.ts, `costPerMillion`).
 *
 * RECHECK BEFORE QUOTING. These are the per-unit prices Cloudflare published on its pricing
 * pages (developers.cloudflare.com: workers/platform/pricing, durable-objects/platform/pricing,
 * d1/platform/pricing, workers/observability/logs/workers-logs) as written down on PRICES_AS_OF. This machine had no web access that day:
 * they were taken as issue 18 lists them, not re-read from the pages, and Cloudflare changes its
 * prices. Only marginal prices count: the plan's $5 a month and its included allowances (10M
 * requests, 30M CPU ms, 1M Durable Object requests, 25B rows read, 50M rows written, 20M log
 * events, ...) are left
 * out, and so are Durable Object duration (GB-s) and stored GB-months, which per-call counters
 * cannot measure.
 */
export const PRICES_AS_OF = "2026-12-03";

const PER_MILLION = 1 / 1_000_000;

/** USD per unit. */
export const PRICES = {
  /** Workers: a request to the worker. */
  workerRequest: 0.3 * PER_MILLION,
  /** Workers: a millisecond of CPU. */
  workerCpuMs: 0.02 * PER_MILLION,
  /** Durable Objects: a request (an RPC call, an alarm). */
  doRequest: 0.15 * PER_MILLION,
  /** SQLite-backed Durable Object storage: a row read, a row written (index entries count). */
  doRowRead: 0.001 * PER_MILLION,
  doRowWritten: 1.0 * PER_MILLION,
  /** D1: a row read, a row written (index entries count). */
  d1RowRead: 0.001 * PER_MILLION,
  d1RowWritten: 1.0 * PER_MILLION,
  /** Workers Logs: a log event (each `console.log` line a Worker writes, with logs enabled). */
  logEvent: 0.6 * PER_MILLION,
} as const;
