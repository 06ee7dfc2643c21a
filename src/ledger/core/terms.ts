/**
 * The ledger's vocabulary: roles, grant sources and what it is told of a priced action. Plain
 * data that the pure core, the stores and the RPC contract all speak. Plans, seats and
 * categories are the configuration's own ids (config/), so here they are plain strings.
 */
import type { Price } from "../../config/schema";
import { MAX_CREDITS } from "../../lib/credits";

export { MAX_CREDITS };

/** A plan id of the configuration. */
export type PlanId = string;
/** A seat kind of the configuration, or `none`. */
export type Seat = string;
/** A category id of the configuration. */
export type Category = string;
export const ROLES = ["admin", "member", "finance"] as const;
export type Role = (typeof ROLES)[number];
/**
 * `rollover`, `overage`, `plan_change` (the difference a larger plan brings mid-period) and
 * `add_on` (a recurring add-on's credits) are issued by the ledger itself, never through the API.
 */
export const GRANT_SOURCES = [
  "included",
  "pack",
  "promo",
  "adjustment",
  "rollover",
  "overage",
  "plan_change",
  "add_on",
] as const;
export type GrantSource = (typeof GRANT_SOURCES)[number];
export type Settlement = "on_success" | "metered" | "on_request";
export type OveragePolicy = "block" | "allow";

/** What the ledger needs to know of the priced action; the worker derives it from the catalog. */
export interface ActionTerms {
  id: string;
  category: Category;
  /** The plans that include the action (by its id or its category). */
  plans: readonly PlanId[];
  seat: Seat | null;
  settlement: Settlement;
  /** The price in force at admission: recorded on the call's usage event. */
  price: Price;
  units: number;
  /** Credits reserved at admission (the price, or the metered estimate). */
  holdCredits: number;
}

/** The caller as the ledger resolved it. */
export interface Caller {
  keyId: string;
  memberId: string;
  teamId: string;
}
