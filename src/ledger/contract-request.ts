/**
 * The request path's part of the ledger's contract (contract.ts re-exports it): what the worker
 * asks when it admits a call and when it settles it, and what it gets back. Structured-clonable.
 */
import type { ProblemInit } from "../lib/problem";
import type { ActionTerms, Caller } from "./core/terms";

export interface AdmitRequest {
  keyHash: string;
  requestId: string;
  action: ActionTerms;
  purpose: string | null;
  idempotency: { key: string; fingerprint: string } | null;
  dryRun: boolean;
  /** The caller's `X-Credit-Tags`, recorded on the call's usage event; null: none. */
  tags?: Record<string, string> | null;
  /** For an action with dedupe: the call's records by key; null: charge every record. */
  dedupe?: DedupeRequest | null;
}

/**
 * The records of a call of an action with dedupe (issue 16), as the worker read them: the
 * distinct hashes of their keys and how many records have none. `action.units` counts every
 * record; each repeat of a key within the call is skipped by the worker's count.
 */
export interface DedupeRequest {
  /** The action's dedupe group: actions of one group share their enriched records. */
  group: string;
  windowMs: number;
  /** Distinct key hashes (lib/records.ts), in the order they first appear in the call. */
  keys: string[];
  /** Records without a key: each is charged. */
  unkeyed: number;
}

/** What dedupe decided of a call: keys skipped (enriched when, or in flight), and the counts. */
export interface DedupeOutcome {
  /** Records charged: those without a key and each new key once. */
  charged: number;
  /** Records skipped: repeats within the call and keys enriched or in flight. */
  skipped: number;
  /** The request's keys that are not charged, by index into `keys`. */
  skippedKeys: KeySkip[];
  /** Credits the skipped records would have cost. */
  saved: number;
}

/** A key of the request that is not charged: enriched at `enrichedAt`, or (null) in flight. */
export interface KeySkip {
  /** Index into the request's `keys`. */
  key: number;
  enrichedAt: number | null;
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
      /** The units charged: with dedupe, the records left after skipping; else the request's. */
      units: number;
      /** Credits the hold reserved (for on_request: the capture). */
      credits: number;
      dedupe: DedupeOutcome | null;
    }
  | {
      kind: "quote";
      caller: Caller;
      credits: number;
      units: number;
      available: number;
      dedupe: DedupeOutcome | null;
    }
  /** Every record was skipped: nothing is charged and the upstream is not called. */
  | { kind: "skipped"; caller: Caller; available: number; dedupe: DedupeOutcome }
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
