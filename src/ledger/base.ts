/**
 * What every AccountLedger does besides answering calls: start-up and schema migration, one
 * synchronous transaction per decision, and the alarm that flushes the outbox to D1, voids
 * lapsed holds and rolls periods.
 */
import { DurableObject } from "cloudflare:workers";
import { iso } from "../lib/time";
import { EVENTS_PER_FLUSH, insertAlerts, insertUsageEvents } from "../usage/flush";
import { type Comparison, compare, d1Captured } from "../usage/reconcile";
import { deliverWebhook } from "../webhooks/deliver";
import { type Period, periodAt } from "./core/period";
import { Ledger } from "./ledger";
import { alertsToCopy, forgetFiredLines, markCopied } from "./store/alerts";
import * as config from "./store/config";
import { heldTotal } from "./store/holds";
import * as idempotency from "./store/idempotency";
import {
  acknowledge,
  flushStats,
  hasPending,
  pendingEvents,
  recordFlushFailure,
} from "./store/outbox";
import { flushedBelow, ledgerCaptured, pendingCaptured } from "./store/reconcile";
import { migrate } from "./store/schema";
import {
  type DeliveryView,
  dueDeliveries,
  listDeliveries,
  nextDeliveryAt,
  recordAttempt,
  setWebhook,
  webhookOf,
} from "./store/webhooks";
import type { AdmitRequest } from "./types";

const MAX_FLUSH_BACKOFF_MS = 5 * 60 * 1000;
/** Webhook deliveries one alarm sends at most (the rest are due at once: the next alarm). */
const WEBHOOK_BATCH = 20;
/** Alerts per D1 statement when copying (each is one JSON element of one bound parameter). */
const ALERTS_PER_COPY = 100;

/** One call of a demo history: what the proxy would ask at `at`, and what it would settle. */
export interface HistoryCall {
  at: number;
  admit: AdmitRequest;
  /** Credits and units captured by the settlement (the metered count for metered actions). */
  credits: number;
  units: number;
  durationMs: number;
}

export interface FlushResult {
  flushed: number;
  pending: number;
  error: string | null;
}

/** Which period to reconcile: the current one, the one before, or the one containing a time. */
export type PeriodChoice = "current" | "previous" | { at: number };

export interface ReconcileView extends Comparison {
  period: { start: string; end: string };
  /** D1 holds every event of this account that occurred before this time. */
  watermark: string;
  /** Captured events of this period still in the outbox, all outcomes' events waiting. */
  outbox: { capturedEvents: number; waiting: number };
  flushed: { requested: boolean; events: number; error: string | null };
}

export abstract class LedgerObject extends DurableObject<Env> {
  protected readonly sql: SqlStorage;
  protected readonly ledger: Ledger;
  /** The clock; tests replace it to cross period boundaries. */
  clock: () => number = () => Date.now();
  private alarmAt: number | null = null;
  private flushing: Promise<FlushResult> | null = null;
  private delivering: Promise<number> | null = null;
  private flushFailures = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.ledger = new Ledger(this.sql, { holdTtlMs: Number(env.HOLD_TTL_MS) || 60_000 });
    ctx.blockConcurrencyWhile(async () => {
      migrate(this.sql);
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /**
   * Runs `work` as one SQLite transaction. Only the request path passes `requestPath`: it may
   * use the ledger's read cache, which every other transaction, and any that fails, drops.
   */
  protected tx<T>(work: (now: number) => T, options: { requestPath?: boolean } = {}): T {
    const now = this.clock();
    const keepCache = options.requestPath === true;
    try {
      const result = this.ctx.storage.transactionSync(() => {
        this.ledger.begin(keepCache);
        return work(now);
      });
      if (!keepCache) this.ledger.forget();
      return result;
    } catch (error) {
      this.ledger.forget();
      // Alert lines noted as fired in the failed transaction were rolled back with it.
      forgetFiredLines();
      throw error;
    }
  }

  /**
   * Copies waiting usage events to D1. Reports how many were copied and, if D1 refused, why;
   * refused events stay in the outbox for the next try (I5).
   */
  async flush(): Promise<FlushResult> {
    if (!this.flushing) {
      this.flushing = this.flushAll().finally(() => {
        this.flushing = null;
      });
    }
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
        await insertUsageEvents(this.env.DB, batch);
      } catch (error) {
        this.flushFailures += 1;
        const message = error instanceof Error ? error.message : String(error);
        recordFlushFailure(this.sql, message);
        return { flushed, pending: flushStats(this.sql).pending, error: message };
      }
      this.flushFailures = 0;
      acknowledge(
        this.sql,
        batch.map((e) => e.id),
        1,
        this.clock(),
      );
      flushed += batch.length;
    }
  }

  /** Copies fired alerts to D1 (exactly once, by id); the error if D1 refused, else null. */
  private async copyAlerts(): Promise<string | null> {
    const account = config.accountRow(this.sql);
    if (!account) return null;
    for (;;) {
      const batch = alertsToCopy(this.sql, account.id, ALERTS_PER_COPY);
      if (batch.length === 0) return null;
      try {
        await insertAlerts(this.env.DB, batch);
      } catch (error) {
        return `alerts: ${error instanceof Error ? error.message : String(error)}`;
      }
      this.tx(() =>
        markCopied(
          this.sql,
          batch.map((a) => a.id),
        ),
      );
    }
  }

  /**
   * The period's captured credits by the ledger beside D1's (SPEC §5). Optionally flushes first
   * so D1 is complete. The ledger's half, with the outbox and the seq below which D1 is known to
   * be complete, is read in one transaction; D1 is then read up to that seq. A flush landing in
   * between, or one whose acknowledgement was lost, can then neither count an event twice nor
   * miss one: an event is in D1's half or in the outbox's, by its seq.
   */
  async reconcile(choice: PeriodChoice, flushFirst: boolean): Promise<ReconcileView | null> {
    const flushed = flushFirst ? await this.flush() : null;
    const ledgerSide = this.tx((now) => {
      const account = config.accountRow(this.sql);
      if (!account) return null;
      const current = periodAt(account.billing_anchor_day, now);
      const period: Period =
        choice === "current"
          ? current
          : choice === "previous"
            ? periodAt(account.billing_anchor_day, current.start - 1)
            : periodAt(account.billing_anchor_day, choice.at);
      const stats = flushStats(this.sql);
      return {
        accountId: account.id,
        period,
        ledger: ledgerCaptured(this.sql, period.start),
        pending: pendingCaptured(this.sql, iso(period.start)),
        seqBelow: flushedBelow(this.sql),
        waiting: stats.pending,
        watermark: stats.oldestPendingAt ?? now,
      };
    });
    if (!ledgerSide) return null;
    const { accountId, period, seqBelow } = ledgerSide;
    const d1 = await d1Captured(this.env.DB, accountId, iso(period.start), seqBelow);
    return {
      ...compare(ledgerSide.ledger, d1, ledgerSide.pending.totals),
      period: { start: iso(period.start), end: iso(period.end) },
      watermark: iso(ledgerSide.watermark),
      outbox: { capturedEvents: ledgerSide.pending.events, waiting: ledgerSide.waiting },
      flushed: {
        requested: flushFirst,
        events: flushed?.flushed ?? 0,
        error: flushed?.error ?? null,
      },
    };
  }

  // ---- webhooks (issue 6) ------------------------------------------------------------------

  /** Where alerts go, or null. The secret never leaves the object except when it is set. */
  async webhook(): Promise<{ url: string; secretPrefix: string; updatedAt: string } | null> {
    const hook = webhookOf(this.sql);
    if (!hook) return null;
    return {
      url: hook.url,
      secretPrefix: hook.secret.slice(0, 10),
      updatedAt: iso(hook.updatedAt),
    };
  }

  async setWebhook(hook: { url: string; secret: string } | null): Promise<void> {
    if (!config.accountRow(this.sql)) throw new Error("ledger has no account");
    this.tx((now) => setWebhook(this.sql, hook, now));
  }

  async deliveries(options: Parameters<typeof listDeliveries>[1]): Promise<DeliveryView[]> {
    return listDeliveries(this.sql, options);
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
    const now = this.clock();
    const due = dueDeliveries(this.sql, now, WEBHOOK_BATCH);
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
        this.tx((at) => recordAttempt(this.sql, d.id, result, at));
      }),
    );
    return due.length;
  }

  /** Rolls the period, voids lapsed holds and forgets old idempotency keys, without flushing. */
  async tick(): Promise<void> {
    this.tx((now) => this.ledger.tick(now));
  }

  override async alarm(): Promise<void> {
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

  /**
   * Demo only (`DEMO_HISTORY=true`, which `npm start` sets): replays calls at past times through
   * the same admit and settle decisions as live traffic, so a new demo account has weeks of
   * history in its ledger, counters and usage events. The whole replay runs synchronously, one
   * transaction per decision, so no live call ever sees the moved clock. The account's creation
   * time moves back to the first call, so burn rates measure the history.
   */
  async replayHistory(
    calls: readonly HistoryCall[],
  ): Promise<{ admitted: number; denied: number }> {
    if (this.env.DEMO_HISTORY !== "true") throw new Error("demo history is off");
    const realClock = this.clock;
    let admitted = 0;
    let denied = 0;
    try {
      const first = calls[0]?.at;
      if (first !== undefined) {
        this.tx(() => this.sql.exec("UPDATE account SET created_at = MIN(created_at, ?)", first));
      }
      for (const call of calls) {
        this.clock = () => call.at;
        const result = this.tx((now) => this.ledger.admit(call.admit, now), { requestPath: true });
        if (result.kind !== "admitted") {
          denied += 1;
          continue;
        }
        admitted += 1;
        // Every admitted call is settled as the proxy settles it (an on_request one records
        // its upstream status; its credits were captured at admission).
        this.clock = () => call.at + call.durationMs;
        const settle = {
          holdId: result.holdId,
          idempotencyKey: null,
          decision: "capture" as const,
          credits: call.credits,
          units: call.units,
          upstreamStatus: 200,
          failure: null,
          durationMs: call.durationMs,
        };
        this.tx((now) => this.ledger.settle(settle, now), { requestPath: true });
      }
    } finally {
      this.clock = realClock;
      this.ledger.forget();
    }
    await this.schedule();
    return { admitted, denied };
  }

  /** Sets the alarm for the earliest thing that needs doing, if that is sooner than the one set. */
  protected async schedule(): Promise<void> {
    const now = this.clock();
    const delay = Number(this.env.OUTBOX_FLUSH_DELAY_MS) || 30_000;
    // A request adds only things due at now + delay (outbox) or later (its hold's expiry):
    // an alarm already set before that covers them, so the common case reads nothing.
    if (this.alarmAt !== null && this.alarmAt <= now + delay) return;
    const due: number[] = [];
    const holds = heldTotal(this.sql);
    if (holds.oldestExpiresAt !== null) due.push(holds.oldestExpiresAt);
    const account = config.accountRow(this.sql);
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
      await this.ctx.storage.setAlarm(at);
    }
  }
}
