/**
 * The worker's settings from its environment (`[vars]` and secrets), parsed in one place: the
 * worker reads them once per request (`c.var.settings`), each ledger object once at start-up.
 * A value that is missing or not what it should be falls back to its default.
 */

export interface Settings {
  /** A hold not settled by then is voided by the ledger's alarm. */
  holdTtlMs: number;
  /** How long the first waiting usage event waits before the outbox is flushed to D1. */
  outboxFlushDelayMs: number;
  /** The demo-history route and replay are open (npm start); never in production. */
  demoHistory: boolean;
  /** Account webhooks may use http and local addresses (local development only). */
  webhookAllowInsecure: boolean;
  /** Usage events stay in D1 this many days; older ones go to the archive bucket (issue 19). */
  usageHotDays: number;
  /** Account days one scheduled archive run moves at most (the rest wait for the next run). */
  archiveSliceDays: number;
  /**
   * The share of routine priced calls (answered 2xx, settled, no error) that get a log line,
   * from 0 to 1 (one call in round(1 / share)); every other request always gets one. See
   * `request-scope.ts`.
   */
  requestLogSample: number;
}

const DEFAULT_SETTINGS: Settings = {
  holdTtlMs: 60_000,
  outboxFlushDelayMs: 30_000,
  demoHistory: false,
  webhookAllowInsecure: false,
  usageHotDays: 62,
  archiveSliceDays: 50,
  requestLogSample: 0.01,
};

function positiveInteger(value: unknown, fallback: number): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** A number from 0 to 1, else the fallback. */
function share(value: unknown, fallback: number): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
  return n >= 0 && n <= 1 ? n : fallback;
}

/** Each environment's settings, parsed once: the request path reads them on every call. */
const parsed = new WeakMap<Env, Settings>();

/** The settings of an environment; only "true" turns a switch on. */
export function settingsOf(env: Env): Settings {
  let settings = parsed.get(env);
  if (!settings) {
    settings = parse(env);
    parsed.set(env, settings);
  }
  return settings;
}

function parse(env: Env): Settings {
  return {
    holdTtlMs: positiveInteger(env.HOLD_TTL_MS, DEFAULT_SETTINGS.holdTtlMs),
    outboxFlushDelayMs: positiveInteger(
      env.OUTBOX_FLUSH_DELAY_MS,
      DEFAULT_SETTINGS.outboxFlushDelayMs,
    ),
    demoHistory: env.DEMO_HISTORY === "true",
    webhookAllowInsecure: env.WEBHOOK_ALLOW_INSECURE === "true",
    usageHotDays: positiveInteger(env.USAGE_HOT_DAYS, DEFAULT_SETTINGS.usageHotDays),
    archiveSliceDays: positiveInteger(env.ARCHIVE_SLICE_DAYS, DEFAULT_SETTINGS.archiveSliceDays),
    requestLogSample: share(env.REQUEST_LOG_SAMPLE, DEFAULT_SETTINGS.requestLogSample),
  };
}
