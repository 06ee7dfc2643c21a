/**
 * The reference model's vocabulary: plain data for grants, holds, events, keys, rules and
 * policy, and the product constants of SPEC §2 (written out here, not imported from src: only
 * the shapes of src's types are shared, so a drift fails the type check).
 */

import type { Price } from "../../../src/config/schema";
import type { Category, PlanId, Seat, Settlement } from "../../../src/ledger/contract";
import type { AccountPolicy, TeamRules } from "../../../src/ledger/core/rules";

export const HOLD_TTL_MS = 60_000;
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
export const RATE_WINDOW_MS = 60_000;
export const OVERAGE_PRIORITY = 1_000_000;
/** The demo configuration's plans: what each one includes every period. */
export const INCLUDED: Record<PlanId, number> = {
  starter: 500,
  professional: 3000,
  enterprise: 5000,
};
/** The demo's plans from the smallest; a test action "from" a plan is in it and every larger one. */
export const PLAN_ORDER: readonly PlanId[] = ["starter", "professional", "enterprise"];

/** The plans that include an action offered from `plan` up (the demo's plans nest). */
export function plansFrom(plan: PlanId): PlanId[] {
  return PLAN_ORDER.slice(Math.max(0, PLAN_ORDER.indexOf(plan)));
}

/** The shapes come from src (a drift fails the type check); the values below are the model's own. */
export type Rules = TeamRules;

export const OPEN_RULES: Rules = {
  allowedActions: null,
  allowedCategories: null,
  purpose: { required: false, allowed: null },
  memberRateLimitPerMinute: null,
  teamBudget: null,
  memberBudget: null,
};

export type Policy = AccountPolicy;

export const DEFAULT_POLICY: Policy = {
  overage: { policy: "block", limit: 0 },
  monthlySpendCap: null,
  rolloverCap: 0,
  actionCaps: {},
};

export type Scope = "account" | "team" | "member" | "action";

export interface Spend {
  captured: number;
  held: number;
}

/** Credits taken from one grant (by creation order, `seq`). */
export interface Allocation {
  seq: number;
  amount: number;
}

export interface MGrant {
  seq: number;
  source: string;
  priority: number;
  effectiveAt: number;
  expiresAt: number | null;
  periodStart: number | null;
  amount: number;
  remaining: number;
  held: number;
  captured: number;
  expired: number;
}

export interface MHold {
  requestId: string;
  amount: number;
  /** In the order they were taken. */
  allocations: Allocation[];
  expiresAt: number;
  periodStart: number;
  teamId: string;
  memberId: string;
  actionId: string;
  idemKey: string | null;
  /** With dedupe: the keys the hold took and what dedupe decided of the call; else absent. */
  records?: MHoldRecords | null;
}

/**
 * The records of a call of an action with dedupe (issue 16): its group and window, and per
 * record (in body order) the key field's value as sent, or null when the record has none (field
 * missing or null). A value that is not a string is refused before the ledger is asked.
 */
export interface MRecordsRequest {
  group: string;
  windowMs: number;
  values: (string | null)[];
}

/** A record the call does not charge, and why. */
export type MSkip =
  | { index: number; reason: "repeated"; firstIndex: number }
  | { index: number; reason: "enriched"; enrichedAt: number }
  | { index: number; reason: "in_flight" };

/** What dedupe decided of a call. */
export interface MDedupe {
  /** Records charged: those without a key and each new key once. */
  charged: number;
  /** Records skipped: repeats within the call, keys enriched or in flight. */
  skipped: number;
  /** Credits the skipped records would have cost. */
  saved: number;
  /** The skipped records, in body order. */
  skips: MSkip[];
}

/** What a hold of a call with dedupe took. */
export interface MHoldRecords {
  group: string;
  /** The normalized keys it charges, in the order they first appear in the call. */
  keys: string[];
  charged: number;
  skipped: number;
  saved: number;
}

/** An event's dedupe fields (null on events of actions without dedupe, and on denials). */
export interface MEventRecords {
  charged: number;
  skipped: number;
  saved: number;
  /** The normalized keys of the records charged. */
  keys: string[];
}

export interface MEvent {
  requestId: string;
  outcome: "captured" | "voided" | "denied";
  credits: number;
  reason: string | null;
  idemKey: string | null;
  periodStart: number;
  /** With dedupe: records charged and skipped, credits saved, the keys charged; else absent. */
  records?: MEventRecords | null;
  inOutbox: boolean;
  inD1: boolean;
}

export interface MIdem {
  fingerprint: string;
  state: "in_flight" | "settled";
  /** The request whose hold the key belongs to. */
  requestId: string;
  outcome: { charged: number; status: number } | null;
  expiresAt: number;
}

export interface MMember {
  id: string;
  teamId: string;
  seat: Seat;
  active: boolean;
  budget: number | null;
}

export interface MKey {
  id: string;
  secret: string;
  role: "admin" | "member" | "finance";
  memberId: string | null;
  revoked: boolean;
}

/** The priced action as the gateway hands it to the ledger. */
export interface Terms {
  id: string;
  category: Category;
  /** The plans that include the action. */
  plans: readonly PlanId[];
  seat: Seat | null;
  settlement: Settlement;
  units: number;
  holdCredits: number;
  /** The price in force at admission, as the gateway hands it over (recorded, not computed). */
  price: Price;
}

export interface Denial {
  code: string;
  rule: string | null;
  retryAfter: number | null;
  /** A budget's limit and what was captured and held against it (budget_exhausted only). */
  limit: number | null;
  used: number | null;
}

export type Admission =
  | { kind: "unknown_key" }
  | ({ kind: "denied" } & Denial)
  | { kind: "idempotency"; code: "idempotency_mismatch" | "idempotency_in_progress" }
  | { kind: "replay"; charged: number; status: number; requestId: string }
  | { kind: "quote"; credits: number; dedupe?: MDedupe | null }
  | { kind: "admitted"; hold: MHold; charged: number; dedupe?: MDedupe | null }
  /** Every record was skipped (dedupe): served by the gateway, nothing held or charged. */
  | { kind: "skipped"; dedupe: MDedupe };

/** What the upstream did, as the gateway saw it. */
export type Upstream =
  | { kind: "answer"; status: number; unitsHeader: string | null }
  | { kind: "timeout" }
  | { kind: "connection_error" };

/** What the gateway asks the ledger once the upstream answered or failed. */
export interface SettleAsk {
  decision: "capture" | "void";
  credits: number;
  upstreamStatus: number | null;
  failure: string | null;
}

/**
 * What a property test's settle step asks: a capture of `share` of the hold plus `beyond` (a
 * metered report past the estimate), or a void after the upstream failed.
 */
export function settleAsk(
  op: { kind: "capture"; share: number; beyond: number } | { kind: "void" },
  hold: { amount: number },
): SettleAsk {
  return op.kind === "capture"
    ? {
        decision: "capture",
        credits: Math.floor(hold.amount * op.share) + op.beyond,
        upstreamStatus: 200,
        failure: null,
      }
    : { decision: "void", credits: 0, upstreamStatus: 500, failure: "upstream_status" };
}

/**
 * The billing period containing `now` (SPEC §2: monthly from the anchor day, UTC). An anchor
 * past a short month's end falls on that month's last day (31 gives Feb 28, or 29).
 */
export function periodOf(anchorDay: number, now: number): { start: number; end: number } {
  const startIn = (year: number, month: number) => {
    const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    return Date.UTC(year, month, Math.min(anchorDay, lastDay));
  };
  const d = new Date(now);
  const year = d.getUTCFullYear();
  let month = d.getUTCMonth();
  if (now < startIn(year, month)) month -= 1;
  return { start: startIn(year, month), end: startIn(year, month + 1) };
}

/** SPEC §2 settlement modes: what a call is charged once its upstream answered or failed (I4). */
export function settlementOf(
  settlement: Settlement,
  holdCredits: number,
  upstream: Upstream,
  meteredCredits: (unitsHeader: string | null) => number,
): SettleAsk {
  if (upstream.kind !== "answer") {
    return { decision: "void", credits: 0, upstreamStatus: null, failure: upstream.kind };
  }
  const status = upstream.status;
  if (settlement === "on_request") {
    return { decision: "capture", credits: holdCredits, upstreamStatus: status, failure: null };
  }
  if (status < 200 || status > 299) {
    return { decision: "void", credits: 0, upstreamStatus: status, failure: "upstream_status" };
  }
  const credits = settlement === "metered" ? meteredCredits(upstream.unitsHeader) : holdCredits;
  return { decision: "capture", credits, upstreamStatus: status, failure: null };
}
