import type { Principal } from "../ledger/types";

/** Hono's environment for every route: the Worker bindings and per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    startedAt: number;
    /** Set by account-key auth on /v1 management routes. */
    accountId: string;
    principal: Principal;
    /** Facts the request log line reports (account, action, decision, credits, ...). */
    log: Record<string, string | number | boolean | null>;
  };
}

/** The ledger object of an account. */
export function ledgerOf(env: Env, accountId: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(accountId));
}
