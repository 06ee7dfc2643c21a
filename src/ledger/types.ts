/**
 * The plain-data contract between the worker and the AccountLedger object. Everything here
 * crosses the RPC boundary, so it is structured-clonable: no classes, no functions.
 */
import type { ProblemInit } from "../lib/problem";
import type { Forecast } from "./core/forecast";
import type { AccountPolicy } from "./core/rules";

export const TIERS = ["starter", "professional", "enterprise"] as const;
export type Tier = (typeof TIERS)[number];
export const SEATS = ["core", "sales", "service", "none"] as const;
export type Seat = (typeof SEATS)[number];
export const CATEGORIES = [
  "enrichment",
  "prospecting",
  "ai",
  "record_refresh",
  "insights",
] as const;
export type Category = (typeof CATEGORIES)[number];
export const ROLES = ["admin", "member", "finance"] as const;
export type Role = (typeof ROLES)[number];
/** `rollover` and `overage` are issued by the ledger itself, never through the API. */
export const GRANT_SOURCES = [
  "included",
  "pack",
  "promo",
  "adjustment",
  "rollover",
  "overage",
] as const;
export type GrantSource = (typeof GRANT_SOURCES)[number];
export type Settlement = "on_success" | "metered" | "on_request";
export type OveragePolicy = "block" | "allow";

/** Included credits per period by tier. */
export const INCLUDED_CREDITS: Record<Tier, number> = {
  starter: 500,
  professional: 3000,
  enterprise: 5000,
};

/** What the ledger needs to know of the priced action; the worker derives it from the catalog. */
export interface ActionTerms {
  id: string;
  category: string;
  minTier: Tier;
  seat: Seat | null;
  settlement: Settlement;
  units: number;
  /** Credits reserved at admission (the price, or the metered estimate). */
  holdCredits: number;
}

export interface AdmitRequest {
  keyHash: string;
  requestId: string;
  action: ActionTerms;
  purpose: string | null;
  idempotency: { key: string; fingerprint: string } | null;
  dryRun: boolean;
}

/** The caller as the ledger resolved it. */
export interface Caller {
  keyId: string;
  memberId: string;
  teamId: string;
}

/** What a settled idempotent request answers on replay. */
export interface StoredOutcome {
  requestId: string;
  holdId: string;
  action: string;
  /** The upstream's status; 0 while an on_request call's upstream has not answered. */
  status: number;
  charged: number;
  remaining: number;
}

export type AdmitResult =
  | {
      kind: "admitted";
      holdId: string;
      caller: Caller;
      held: number;
      /** Credits already captured at admission (on_request actions). */
      charged: number;
      available: number;
    }
  | { kind: "quote"; caller: Caller; credits: number; available: number }
  | { kind: "denied"; problem: ProblemInit; retryAfterSeconds?: number; caller: Caller | null }
  | { kind: "replay"; outcome: StoredOutcome };

export interface SettleRequest {
  holdId: string;
  idempotencyKey: string | null;
  /** capture: the upstream served the call; void: it did not (I4). */
  decision: "capture" | "void";
  /** Credits to capture (ignored for void). May exceed the hold for metered actions. */
  credits: number;
  units: number;
  upstreamStatus: number | null;
  failure: "upstream_status" | "timeout" | "connection_error" | null;
  durationMs: number;
}

export interface SettleResult {
  /** False when the hold had already expired or been settled: nothing changed. */
  settled: boolean;
  charged: number;
  available: number;
}

export interface GrantView {
  id: string;
  amount: number;
  remaining: number;
  held: number;
  captured: number;
  expired: number;
  source: GrantSource;
  priority: number;
  effectiveAt: string;
  expiresAt: string | null;
  note: string | null;
}

export interface AccountConfig {
  id: string;
  name: string;
  tier: Tier;
  billingAnchorDay: number;
  overagePolicy: OveragePolicy;
  policy: AccountPolicy;
  createdAt: string;
  updatedAt: string;
}

export interface BalanceView {
  /** Spendable credits of the grants, the overage allowance not included. */
  available: number;
  overage: { policy: OveragePolicy; limit: number; used: number; available: number };
  held: number;
  capturedThisPeriod: number;
  period: { start: string; end: string };
  /** Burn rate and projected depletion (see core/forecast.ts for the rules). */
  forecast: Forecast;
  grants: GrantView[];
  /** Every grant spendable at some time in this period, spent and expired ones included. */
  periodGrants: GrantView[];
  holds: { count: number; oldestExpiresAt: string | null };
}

export interface TeamView {
  id: string;
  name: string;
  createdAt: string;
}

export interface MemberView {
  id: string;
  name: string;
  teamId: string;
  seat: Seat;
  active: boolean;
  /** Per-period budget of this member, overriding the team's default; null: the team's. */
  budget: number | null;
  createdAt: string;
}

export interface KeyView {
  id: string;
  role: Role;
  memberId: string | null;
  name: string | null;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

/** A usage event as the outbox holds it and D1 stores it. */
export interface UsageEvent {
  id: string;
  accountId: string;
  seq: number;
  occurredAt: string;
  periodStart: string;
  requestId: string;
  teamId: string | null;
  memberId: string | null;
  keyId: string | null;
  action: string;
  category: string;
  outcome: "captured" | "voided" | "denied";
  reason: string | null;
  units: number;
  credits: number;
  heldCredits: number;
  grants: string;
  purpose: string | null;
  idempotencyKey: string | null;
  upstreamStatus: number | null;
  durationMs: number | null;
}

export interface Principal {
  keyId: string;
  role: Role;
  memberId: string | null;
}

/** A management result that may be refused; refusals cross RPC as data, not as thrown errors. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; problem: ProblemInit };
