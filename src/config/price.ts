/** What a price charges for a number of units: the one rule, for the loader and the catalog. */
import type { Price } from "./schema";

/** Credits for `units` under a price: flat per request, or ceil(units / per) blocks. */
export function priceCredits(price: Price, units: number): number {
  if (!("unit" in price)) return price.credits;
  if (!Number.isSafeInteger(units) || units < 0) {
    throw new RangeError(`units must be a non-negative integer, got ${units}`);
  }
  return Math.ceil(units / price.per) * price.credits;
}
