import type { Principal } from "../ledger/types";
import type { LogFields } from "./request-scope";

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
    log: LogFields;
  };
}

/** The ledger object of an account. */
export function ledgerOf(env: Env, accountId: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(accountId));
}
