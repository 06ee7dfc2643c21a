/**
 * The ledger's vocabulary: tiers, seats, categories, roles, grant sources and what it is told of
 * a priced action. Plain data that the pure core, the stores and the RPC contract all speak;
 * it imports nothing, so every other module of the ledger can import it.
 */

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

/** The most credits any amount, budget or price may be (SPEC §5: integers in 0..10^12). */
export const MAX_CREDITS = 1_000_000_000_000;

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

/** The caller as the ledger resolved it. */
export interface Caller {
  keyId: string;
  memberId: string;
  teamId: string;
}
