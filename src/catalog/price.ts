/**
 * What a call costs under the price in force when it is admitted (config/price.ts `priceAt`):
 * the unit count of a request, the credits for a count, the hold to reserve at admission, and
 * the units a metered upstream reports. The same price then settles the call.
 */
import type { Config } from "../config/load";
import { priceCredits } from "../config/price";
import type { Action, Price } from "../config/schema";

export type UnitsResult = { ok: true; units: number } | { ok: false; detail: string };

/** A positive integer without sign, spaces or leading zeros: read the same by every parser. */
const POSITIVE_INTEGER = /^[1-9][0-9]{0,9}$/;
/** A reported unit count: digits only, at most 10^9. */
const REPORTED_UNITS = /^[0-9]{1,10}$/;
const MAX_REPORTED_UNITS = 1_000_000_000;

/** Credits charged for `units` under a price. */
export function creditsFor(price: Price, units: number): number {
  return priceCredits(price, units);
}

/** Credits to reserve at admission: the price, or for metered actions the declared maximum. */
export function holdCredits(price: Price, units: number): number {
  if ("unit" in price && price.unit.from === "response_header") {
    return priceCredits(price, price.maxUnits);
  }
  return creditsFor(price, units);
}

/**
 * What the ledger is told of a call of `action` with `units` (for metered actions, the declared
 * maximum): the action's terms and the credits to hold. The ledger's `ActionTerms`.
 */
export function termsOf(config: Config, action: Action, price: Price, units: number) {
  return {
    id: action.id,
    category: action.category,
    plans: config.plansIncluding(action),
    seat: action.seat ?? null,
    settlement: action.settlement,
    price,
    units,
    holdCredits: holdCredits(price, units),
  };
}

/** Whether the unit count comes from the JSON body (the proxy must read and parse it). */
export function needsJsonBody(action: Action): boolean {
  return "unit" in action.price && action.price.unit.from === "body";
}

/** The unit count of a request, from its body or query; metered actions hold for maxUnits. */
export function unitsForRequest(price: Price, url: URL, body: unknown): UnitsResult {
  if (!("unit" in price)) return { ok: true, units: 1 };
  const { unit, maxUnits } = price;
  switch (unit.from) {
    case "response_header":
      return { ok: true, units: maxUnits };
    case "body": {
      const where = `body field "${unit.field}"`;
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        return { ok: false, detail: `the body must be a JSON object with ${where}` };
      }
      // A key that differs only in case could be read as the field by a case-insensitive
      // upstream decoder, which would then act on items that were never priced (I7).
      const lower = unit.field.toLowerCase();
      const lookalike = Object.keys(body).find(
        (k) => k !== unit.field && k.toLowerCase() === lower,
      );
      if (lookalike !== undefined) {
        return { ok: false, detail: `the body must not hold "${lookalike}" beside ${where}` };
      }
      const items: unknown = Object.hasOwn(body, unit.field)
        ? (body as Record<string, unknown>)[unit.field]
        : undefined;
      if (!Array.isArray(items)) return { ok: false, detail: `${where} must be an array` };
      if (items.length < 1 || items.length > maxUnits) {
        return { ok: false, detail: `${where} must hold 1 to ${maxUnits} items` };
      }
      return { ok: true, units: items.length };
    }
    case "query": {
      const where = `query parameter "${unit.param}"`;
      // As for body fields: a case-insensitive upstream could read a lookalike instead (I7).
      const lower = unit.param.toLowerCase();
      const lookalike = [...url.searchParams.keys()].find(
        (k) => k !== unit.param && k.toLowerCase() === lower,
      );
      if (lookalike !== undefined) {
        return { ok: false, detail: `the query must not hold "${lookalike}" beside ${where}` };
      }
      const values = url.searchParams.getAll(unit.param);
      // Given twice, the gateway and the upstream might read different values: refuse.
      if (values.length !== 1) {
        return { ok: false, detail: `${where} must be given exactly once` };
      }
      const raw = values[0] ?? "";
      const units = POSITIVE_INTEGER.test(raw) ? Number(raw) : 0;
      if (units < 1 || units > maxUnits) {
        return {
          ok: false,
          detail: `${where} must be an integer from 1 to ${maxUnits} (digits only, no leading zero)`,
        };
      }
      return { ok: true, units };
    }
  }
}

/**
 * The units a metered upstream reported in the response header its price names (the demo's:
 * `X-Usage-Units`), or null if absent or invalid.
 */
export function parseReportedUnits(price: Price, headers: Headers): number | null {
  if (!("unit" in price) || price.unit.from !== "response_header") return null;
  const headerValue = headers.get(price.unit.header);
  if (headerValue === null || !REPORTED_UNITS.test(headerValue)) return null;
  const units = Number(headerValue);
  return units <= MAX_REPORTED_UNITS ? units : null;
}
