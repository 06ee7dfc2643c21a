/**
 * The shape of a generated proxy call, shared by the generators (proxy-paths.ts,
 * proxy-bodies.ts, proxy-model.ts) and the oracle (proxy-oracle.ts).
 */
import fc from "fast-check";
import type { Action } from "../../src/catalog";

export type Who =
  | "member"
  | "other seat"
  | "finance"
  | "admin"
  | "revoked"
  | "unknown secret"
  | "none"
  | "garbage";

export type Steer =
  | { kind: "echo"; usageUnits: string | null }
  | { kind: "status"; status: number }
  | { kind: "throw" }
  | { kind: "timeout" };

export type Framing =
  | { kind: "buffered" }
  | { kind: "trickle"; pieces: number; delayMs: number; declared: Declared }
  | { kind: "broken"; after: number };
export type Declared = "none" | "exact" | "under" | "over" | "huge" | "garbage";

/** A body: text (lone surrogates go as WTF-8 bytes), raw bytes, or JSON padded to `size`. */
export type Body = { text: string } | { bytes: number[] } | { padded: string; size: number };

/** An Idempotency-Key value replaced by a key unique to the run when the call is sent. */
export const FRESH_KEY = "<fresh>";

/**
 * Ends every generated record key (a domain): replaced, when the call is sent, by a suffix no
 * other call of the run has. With dedupe (issue 16) a record the account enriched already is
 * skipped, not forwarded and not charged; fresh keys keep every call on the charged path, while
 * repeats within one call (two records whose keys normalize alike) still happen and are judged.
 */
export const FRESH_RECORD = "<fresh-record>";

/** The `action` of a case aimed at no action in particular. */
export const ANY_ACTION = "*";

export interface ProxyCase {
  /** The action the call is spelled after, or ANY_ACTION. */
  action: string;
  method: string;
  path: string;
  tricks: string[];
  query: string;
  who: Who;
  headers: [string, string][];
  body: Body | null;
  framing: Framing;
  steer: Steer;
  /** Why the spec refuses the call; empty if it may go through. */
  spoils: string[];
  /** Nothing but spellings every standard server reads the same way: it must go through. */
  plain: boolean;
}

/** One part of a case: its value, why the spec refuses it, or why it is merely unusual. */
export type Part<T> = { value: T; spoil?: string; odd?: string };

/** `arb` in `percent` % of cases, else null. */
export function sometimes<T>(arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | null> {
  return fc.oneof(
    { weight: 100 - percent, arbitrary: fc.constant(null) },
    { weight: percent, arbitrary: arb },
  );
}

const NORMALIZED_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"];
/** The method a Request ends up with: fetch (and workerd, for PATCH) upper-cases these. */
export function effectiveMethod(m: string): string {
  return NORMALIZED_METHODS.includes(m.toUpperCase()) ? m.toUpperCase() : m;
}

/** The unit field or query parameter of an action's price, if any. */
export function unitSource(action: Action) {
  return "unit" in action.price ? action.price.unit : null;
}

/** The most units one call of the action may take. */
export function maxUnits(action: Action): number {
  return "unit" in action.price ? action.price.maxUnits : 1;
}
