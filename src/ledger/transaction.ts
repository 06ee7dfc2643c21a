/**
 * One synchronous SQLite transaction per decision. Work runs inside `transactionSync` with no
 * `await`, so it happens whole or not at all and no other request interleaves with it. Only the
 * request path may keep the ledger's read cache between transactions; every other
 * transaction, and any that fails, drops it (with it, whatever the failed one had noted).
 */
import type { LedgerState } from "./state";

export interface TxOptions {
  /** The transaction is admission or settlement: it may use the read cache. */
  requestPath?: boolean;
}

export class Transactions {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly state: LedgerState,
    private readonly clock: () => number,
  ) {}

  /** Runs `work` as one transaction at the clock's time. */
  run<T>(work: (now: number) => T, options: TxOptions = {}): T {
    return this.runAt(this.clock(), work, options);
  }

  /** Runs `work` as one transaction at a given time (the demo's replay of past calls). */
  runAt<T>(now: number, work: (now: number) => T, options: TxOptions = {}): T {
    const keepCache = options.requestPath === true;
    try {
      const result = this.storage.transactionSync(() => {
        this.state.begin(keepCache);
        return work(now);
      });
      if (!keepCache) this.state.forget();
      return result;
    } catch (error) {
      this.state.forget();
      throw error;
    }
  }
}
