/**
 * What a price charges for a number of units, and which price is in force when: the action's
 * `price`, or the latest `priceSchedule` entry whose `from` has come.
 */
import type { Action, Price } from "./schema";

/** Credits for `units` under a price: flat per request, or ceil(units / per) blocks. */
export function priceCredits(price: Price, units: number): number {
  if (!("unit" in price)) return price.credits;
  if (!Number.isSafeInteger(units) || units < 0) {
    throw new RangeError(`units must be a non-negative integer, got ${units}`);
  }
  return Math.ceil(units / price.per) * price.credits;
}

/** The price of the action at `at` (epoch ms): the latest scheduled entry that has begun. */
export function priceAt(action: Pick<Action, "price" | "priceSchedule">, at: number): Price {
  let price = action.price;
  for (const entry of action.priceSchedule ?? []) {
    if (Date.parse(entry.from) <= at) price = entry.price;
  }
  return price;
}

/** The scheduled prices that have not begun at `at`, oldest first. */
export function upcomingPrices(
  action: Pick<Action, "priceSchedule">,
  at: number,
): { from: string; price: Price }[] {
  return (action.priceSchedule ?? []).filter((entry) => Date.parse(entry.from) > at);
}

/** Whether two prices count units the same way (both per request, or the same unit source). */
export function sameShape(a: Price, b: Price): boolean {
  if (!("unit" in a) || !("unit" in b)) return !("unit" in a) && !("unit" in b);
  return JSON.stringify(a.unit) === JSON.stringify(b.unit);
}
