/**
 * What every management route can rely on (Hono's `c.var`): the request's scope, the worker's
 * settings (parsed once per request by the app's first middleware), and after account-key auth the account, the caller and the
 * account's ledger with its failures already mapped (ledger/client.ts).
 */
import type { LedgerRpc, Principal } from "../ledger/contract";
import type { LogFields } from "../lib/request-scope";
import type { Settings } from "../lib/settings";

/** Hono's environment for every route: the Worker bindings and per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    startedAt: number;
    /** Facts the request log line reports (account, action, decision, credits, ...). */
    log: LogFields;
    settings: Settings;
    /** Set by account-key auth on /v1 management routes. */
    accountId: string;
    principal: Principal;
    /** The authenticated account's ledger (`ledgerClient`). */
    ledger: LedgerRpc;
  };
}
