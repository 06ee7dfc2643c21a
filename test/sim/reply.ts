/** What the client sees of a call, as the gateway answered it and as the model expects it. */

import type { Admission } from "../support/model/types";
import type { Reply } from "./gateway";
import type { Plan } from "./upstream";

/** SPEC §4's statuses, written out here rather than imported, so a wrong mapping is caught. */
const DENIAL_STATUS: Record<string, number> = {
  invalid_key: 401,
  forbidden: 403,
  plan_excludes_action: 403,
  seat_required: 403,
  team_not_allowed: 403,
  purpose_required: 403,
  purpose_not_allowed: 403,
  rate_limited: 429,
  budget_exhausted: 402,
  insufficient_credits: 402,
  idempotency_in_progress: 409,
  idempotency_mismatch: 422,
};

/** The parts of an answer the simulation compares (a missing number reads as NaN). */
export interface Seen {
  status: number;
  code: string | null;
  rule: string | null;
  charged: number;
  replayed: boolean;
  retryAfter: number | null;
  quote: number | null;
}

/** What the model says the client sees. */
export function expectedReply(admission: Admission, charged: number, plan: Plan): Seen {
  const none = { rule: null, charged: 0, replayed: false, retryAfter: null, quote: null };
  switch (admission.kind) {
    case "unknown_key":
      return { ...none, status: 401, code: "invalid_key", rule: "key" };
    case "denied":
      return {
        ...none,
        status: DENIAL_STATUS[admission.code] ?? 0,
        code: admission.code,
        rule: admission.rule,
        retryAfter: admission.retryAfter,
      };
    case "idempotency":
      return {
        ...none,
        status: DENIAL_STATUS[admission.code] ?? 0,
        code: admission.code,
        rule: "idempotency",
        retryAfter: admission.code === "idempotency_in_progress" ? 1 : null,
      };
    case "replay":
      return {
        ...none,
        status: admission.status >= 200 && admission.status <= 599 ? admission.status : 200,
        code: null,
        charged: admission.charged,
        replayed: true,
      };
    case "quote":
      return { ...none, status: 200, code: null, quote: admission.credits };
    case "admitted":
      if (plan.kind === "answer") return { ...none, status: plan.status, code: null, charged };
      return {
        ...none,
        status: plan.kind === "timeout" ? 504 : 502,
        code: plan.kind === "timeout" ? "gateway_timeout" : "bad_gateway",
        charged,
      };
  }
}

/** What the client saw: status, problem code and rule, and the credit headers. */
export function seen(reply: Reply): Seen {
  const header = (name: string) => reply.headers.get(name);
  const problem = header("content-type") === "application/problem+json";
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    status: reply.status,
    code: problem ? text(reply.body?.code) : null,
    rule: problem ? text(reply.body?.rule) : null,
    charged: Number(header("x-credits-charged") ?? Number.NaN),
    replayed: header("x-credits-replayed") === "true",
    retryAfter: header("retry-after") === null ? null : Number(header("retry-after")),
    quote: header("x-credits-quote") === null ? null : Number(header("x-credits-quote")),
  };
}
