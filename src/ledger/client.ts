/**
 * How the worker reaches an account's ledger. `ledgerStub` is the object itself, for the
 * request path, which maps its own failures (a refused admission, a retried settlement).
 * `ledgerClient` is what every management route uses: the same methods, and any failure to get
 * an answer (the object unreachable, overloaded or throwing) becomes one 503
 * `ledger_unavailable` problem: fail closed, never a 500 that hides what happened.
 */
import { Problem } from "../lib/problem";
import type { LedgerRpc } from "./contract";

/** The account's ledger object (one per account, by name: no lookup). */
export function ledgerStub(env: Env, accountId: string): LedgerRpc {
  return env.LEDGER.get(env.LEDGER.idFromName(accountId));
}

/** The account's ledger, its failures mapped to 503 `ledger_unavailable`. */
export function ledgerClient(env: Env, accountId: string): LedgerRpc {
  const stub = ledgerStub(env, accountId);
  return new Proxy({} as LedgerRpc, {
    get(_, name) {
      // Not a thenable: `await client` must not call into the object.
      if (typeof name !== "string" || name === "then") return undefined;
      const methods = stub as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      return async (...args: unknown[]) => {
        try {
          // Called on the stub itself: an RPC stub's method is a stub too, whose `apply` or
          // `call` would be another remote name, not Function.prototype's.
          return await methods[name]?.(...args);
        } catch (error) {
          const detail = "The account's ledger is unavailable; retry.";
          throw new Problem("ledger_unavailable", detail).causedBy(error);
        }
      };
    },
  });
}
