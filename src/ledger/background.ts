/**
 * What the ledger does off the request path, in its alarm: rolls the period, voids lapsed holds
 * and forgets old idempotency keys, rate-limit admissions and hourly spend (`tick`); sends due webhook
 * deliveries; copies the outbox's usage events and fired alerts to D1 (`flush`); and sets the
 * next alarm for the earliest thing due (`schedule`).
 */
import type { Settings } from "../lib/settings";
import { EVENTS_PER_FLUSH, insertAlerts, insertUsageEvents } from "../usage/flush";
import { deliverWebhook } from "../webhooks/deliver";
import type { FlushResult } from "./contract";
import type { LedgerMeter } from "./meter";
import { expireHolds } from "./settlement";
import type { LedgerState } from "./state";
import { accountRow } from "./store/account";
import { alertsToCopy, markCopied } from "./store/alerts";
import { pruneDedupe } from "./store/dedupe";
import { heldTotal } from "./store/holds";
import * as idempotency from "./store/idempotency";
import {
  acknowledge,
  flushStats,
  hasPending,
  pendingEvents,
  recordFlushFailure,
} from "./store/outbox";
import { pruneAdmissions } from "./store/rates";
import { pruneSpendHours } from "./store/spend-hours";
import { dueDeliveries, nextDeliveryAt, recordAttempt, webhookOf } from "./store/webhooks";
import type { Transactions } from "./transaction";

/** Enriched records past their window are forgotten at most this often (the sweep scans them). */
const DEDUPE_PRUNE_EVERY_MS = 60 * 60 * 1000;
const MAX_FLUSH_BACKOFF_MS = 5 * 60 * 1000;
/** Webhook deliveries one alarm sends at most (the rest are due at once: the next alarm). */
const WEBHOOK_BATCH = 20;
/** Alerts per D1 statement when copying (each is one JSON element of one bound parameter). */
const ALERTS_PER_COPY = 100;

export class Background {
  private alarmAt: number | null = null;
  private flushing: Promise<FlushResult> | null = null;
  private delivering: Promise<number> | null = null;
  private flushFailures = 0;
  /** When the alarm last forgot enriched records past their window (at most hourly: a scan). */
  private dedupePrunedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly storage: DurableObjectStorage,
    /** D1, read at each use (a test may swap the object's `env.DB` for a failing one). */
    private readonly db: () => D1Database,
    private readonly settings: Settings,
    private readonly state: LedgerState,
    private readonly tx: Transactions,
    private readonly clock: () => number,
    /** Counts the D1 rows of each flush when the object is metered (meter.ts); else null. */
    private readonly meter: LedgerMeter | null = null,
  ) {}

  private get sql(): SqlStorage {
    return this.state.sql;
  }

  /** Reads the alarm already set (at start-up, before any request). */
  async load(): Promise<void> {
    this.alarmAt = await this.storage.getAlarm();
  }

  /** The alarm: housekeeping, then webhooks, then the flush, then the next alarm. */
  async alarm(): Promise<void> {
    this.alarmAt = null;
    await this.tick();
    await this.deliverWebhooks();
    const result = await this.flush();
    if (result.error !== null) {
      const line = {
        msg: "outbox flush failed",
        failures: this.flushFailures,
        pending: result.pending,
      };
      console.log(JSON.stringify({ ...line, error: result.error.slice(0, 200) }));
    }
    await this.schedule();
  }

  /** Rolls the period, voids lapsed holds, forgets old idempotency keys and rate admissions. */
  async tick(): Promise<void> {
    this.tx.run((now) => {
      this.state.currentPeriod(now);
      expireHolds(this.state, now);
      idempotency.purgeExpired(this.sql, now);
      pruneAdmissions(this.sql, now);
      pruneSpendHours(this.sql, now);
      if (now - this.dedupePrunedAt >= DEDUPE_PRUNE_EVERY_MS) {
        pruneDedupe(this.sql, now);
        this.dedupePrunedAt = now;
      }
    });
  }

  /**
   * Copies waiting usage events to D1. Reports how many were copied and, if D1 refused, why;
   * refused events stay in the outbox for the next try (I5).
   */
  async flush(): Promise<FlushResult> {
    this.flushing ??= this.flushAll().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async flushAll(): Promise<FlushResult> {
    let flushed = 0;
    const alertError = await this.copyAlerts();
    if (alertError !== null) {
      this.flushFailures += 1;
      recordFlushFailure(this.sql, alertError);
      return { flushed, pending: flushStats(this.sql).pending, error: alertError };
    }
    for (;;) {
      const batch = pendingEvents(this.sql, EVENTS_PER_FLUSH);
      if (batch.length === 0) return { flushed, pending: 0, error: null };
      try {
        const rows = await insertUsageEvents(this.db(), batch);
        this.meter?.d1(rows);
      } catch (error) {
        this.flushFailures += 1;
        const message = error instanceof Error ? error.message : String(error);
        recordFlushFailure(this.sql, message);
        return { flushed, pending: flushStats(this.sql).pending, error: message };
      }
      this.flushFailures = 0;
      acknowledge(
        this.sql,
        batch.map((e) => e.seq),
        1,
        this.clock(),
      );
      flushed += batch.length;
    }
  }

  /** Copies fired alerts to D1 (exactly once, by id); the error if D1 refused, else null. */
  private async copyAlerts(): Promise<string | null> {
    const account = accountRow(this.sql);
    if (!account) return null;
    for (;;) {
      const batch = alertsToCopy(this.sql, account.id, ALERTS_PER_COPY);
      if (batch.length === 0) return null;
      try {
        const rows = await insertAlerts(this.db(), batch);
        this.meter?.d1(rows);
      } catch (error) {
        return `alerts: ${error instanceof Error ? error.message : String(error)}`;
      }
      this.tx.run(() =>
        markCopied(
          this.sql,
          batch.map((a) => a.id),
        ),
      );
    }
  }

  /**
   * Sends the deliveries that are due, at most WEBHOOK_BATCH per alarm, side by side; each
   * attempt is recorded in its own small transaction once its answer is in. Runs only in the
   * alarm: a slow or failing receiver never touches a proxied call.
   */
  async deliverWebhooks(): Promise<number> {
    // One round at a time: a second caller waits for it instead of sending the same ones again.
    this.delivering ??= this.deliverDue().finally(() => {
      this.delivering = null;
    });
    return this.delivering;
  }

  private async deliverDue(): Promise<number> {
    const due = dueDeliveries(this.sql, this.clock(), WEBHOOK_BATCH);
    if (due.length === 0) return 0;
    const hook = webhookOf(this.sql);
    const fetcher = (request: Request) => fetch(request);
    await Promise.all(
      due.map(async (d) => {
        const result = hook
          ? await deliverWebhook(fetcher, hook, {
              id: d.id,
              timestamp: Math.floor(this.clock() / 1000),
              body: d.payload,
            })
          : { ok: false, status: null, error: "no webhook configured" };
        this.tx.run((at) => recordAttempt(this.sql, d.id, result, at));
      }),
    );
    return due.length;
  }

  /** Sets the alarm for the earliest thing that needs doing, if that is sooner than the one set. */
  async schedule(): Promise<void> {
    const now = this.clock();
    const delay = this.settings.outboxFlushDelayMs;
    // A request adds only things due at now + delay (outbox) or later (its hold's expiry):
    // an alarm already set before that covers them, so the common case reads nothing.
    if (this.alarmAt !== null && this.alarmAt <= now + delay) return;
    const due: number[] = [];
    const holds = heldTotal(this.sql);
    if (holds.oldestExpiresAt !== null) due.push(holds.oldestExpiresAt);
    const account = accountRow(this.sql);
    if (account?.period_end) due.push(account.period_end);
    const idem = idempotency.nextExpiry(this.sql);
    if (idem !== null) due.push(idem);
    const delivery = nextDeliveryAt(this.sql);
    if (delivery !== null) due.push(delivery);
    if (hasPending(this.sql)) {
      const backoff =
        this.flushFailures > 0
          ? Math.min(delay * 2 ** this.flushFailures, MAX_FLUSH_BACKOFF_MS)
          : delay;
      due.push(now + backoff);
    }
    if (due.length === 0) return;
    const at = Math.min(...due);
    if (this.alarmAt === null || at < this.alarmAt) {
      this.alarmAt = at;
      await this.storage.setAlarm(at);
    }
  }
}
