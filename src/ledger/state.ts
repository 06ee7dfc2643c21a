/**
 * What every decision of the ledger works with: the object's SQLite storage, the read cache
 * that request-path transactions share, and what the current transaction already read of the
 * account and its period. One per object; `transaction.ts` starts and ends its transactions.
 */

import type { Period } from "./core/period";
import { CachedReads } from "./reads";
import { type AccountRow, accountPolicy, accountRow } from "./store/account";
import type { EventFields } from "./store/events";
import { expireGrants } from "./store/grants";
import { appendEvent } from "./store/outbox";
import { enterPeriod } from "./store/periods";

export interface LedgerSettings {
  /** A hold not settled by then is voided. */
  holdTtlMs: number;
}

export class LedgerState {
  /** What this transaction already read of the account and its period (see `begin`). */
  private memo: { now: number; account: AccountRow; period: Period } | null = null;
  private cache: CachedReads;

  constructor(
    readonly sql: SqlStorage,
    readonly settings: LedgerSettings,
  ) {
    this.cache = new CachedReads(sql);
  }

  /** Reads that request-path transactions keep between them (dropped by `forget`). */
  get reads(): CachedReads {
    return this.cache;
  }

  /**
   * Starts a transaction, forgetting what the last one read of the period. Only the request
   * path keeps the cached reads (it writes no config and updates them on a period roll or a
   * hold); other transactions, and failed ones, start and end without them (`forget`).
   */
  begin(keepCache: boolean) {
    this.memo = null;
    if (!keepCache) this.forget();
  }

  /** Drops every cached read: the next transaction reads from SQLite again. */
  forget() {
    this.cache = new CachedReads(this.sql);
  }

  /**
   * Brings the account into the period that contains `now`: expires what has lapsed and issues
   * the period's included grant once. Returns null for an object with no account.
   */
  currentPeriod(now: number): Period | null {
    if (this.memo?.now === now) return this.memo.period;
    const account = this.cache.account();
    if (!account) return null;
    if (account.period_start !== null && account.period_end !== null) {
      if (now >= account.period_start && now < account.period_end) {
        if (this.cache.grantsDue(now)) {
          expireGrants(this.sql, now);
          this.cache.grantsExpired();
        }
        const period = { start: account.period_start, end: account.period_end };
        this.memo = { now, account, period };
        return period;
      }
    }
    // Entering a period reads the last one's unused credits for rollover before expiring them.
    const { period, plan } = enterPeriod(this.sql, account, accountPolicy(account), now);
    const pending_plan = plan === account.plan ? account.pending_plan : null;
    const entered = {
      ...account,
      plan,
      pending_plan,
      period_start: period.start,
      period_end: period.end,
    };
    this.cache.enteredPeriod(entered);
    this.memo = { now, account: entered, period };
    return period;
  }

  /** The account and its current period, as `currentPeriod` left them in this transaction. */
  inPeriod(): { account: AccountRow; period: Period } | null {
    return this.memo;
  }

  /** The account row: this transaction's, or read now. */
  account(): AccountRow | null {
    return this.memo?.account ?? accountRow(this.sql);
  }

  /** Appends a usage event to the outbox, in the caller's transaction. */
  writeEvent(fields: EventFields, periodStart: number, now: number) {
    appendEvent(this.sql, this.account()?.id ?? "", fields, periodStart, now);
  }
}
