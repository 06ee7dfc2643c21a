/**
 * The value report's figures (issue 16): what a credit costs and what an hour of a person's work
 * costs, in one currency. The configuration may declare them (`value`); an account's admin may
 * set its own hourly cost and currency over them, and a credit price in that currency. Pure:
 * how the two combine, and what an account may set.
 */
import type { ProblemInit } from "../../lib/problem";

/** A credit's price and an hour's cost, both in `currency` (ISO 4217). */
export interface ValueFigures {
  creditPrice: number;
  hourlyCost: number;
  currency: string;
}

/** What an account set of the figures; null: the configuration's. */
export interface ValueSettings {
  hourlyCost: number | null;
  currency: string | null;
  creditPrice: number | null;
}

/** The account's settings, the configuration's figures, and what the report uses of both. */
export interface ValueSettingsView extends ValueSettings {
  /** The configuration's `value`; null when it declares none. */
  configuration: ValueFigures | null;
  /** The account's settings over the configuration's; null when together they name no value. */
  effective: ValueFigures | null;
}

export const NO_VALUE_SETTINGS: ValueSettings = {
  hourlyCost: null,
  currency: null,
  creditPrice: null,
};

/**
 * The figures the report uses: each the account's when set, else the configuration's. The
 * configuration's prices are in its own currency, so they stand in only when the account keeps
 * that currency; null when a figure is missing.
 */
export function effectiveValue(
  own: ValueSettings,
  defaults: ValueFigures | null,
): ValueFigures | null {
  const currency = own.currency ?? defaults?.currency ?? null;
  if (currency === null) return null;
  const fallback = defaults?.currency === currency ? defaults : null;
  const creditPrice = own.creditPrice ?? fallback?.creditPrice ?? null;
  const hourlyCost = own.hourlyCost ?? fallback?.hourlyCost ?? null;
  if (creditPrice === null || hourlyCost === null) return null;
  return { creditPrice, hourlyCost, currency };
}

function missing(field: string, detail: string): ProblemInit {
  return { code: "validation_failed", detail, extras: { field } };
}

/**
 * Why an account may not set these, or null. Clearing everything is always allowed; anything
 * else must leave the report a whole value: a currency other than the configuration's brings
 * its own credit price and hourly cost, since the configuration's are in its currency.
 */
export function valueSettingsProblem(
  own: ValueSettings,
  defaults: ValueFigures | null,
): ProblemInit | null {
  const cleared = own.hourlyCost === null && own.currency === null && own.creditPrice === null;
  if (cleared || effectiveValue(own, defaults) !== null) return null;
  const currency = own.currency ?? defaults?.currency ?? null;
  if (currency === null) {
    return missing(
      "currency",
      "The configuration declares no value, so set currency, hourlyCost and creditPrice together.",
    );
  }
  const why =
    defaults === null
      ? "the configuration declares no value to fall back on"
      : `the configuration's figures are in ${defaults.currency}`;
  if (own.creditPrice === null) {
    return missing(
      "creditPrice",
      `A currency of ${currency} needs a creditPrice in ${currency} (what one credit costs): ${why}.`,
    );
  }
  return missing(
    "hourlyCost",
    `A currency of ${currency} needs an hourlyCost in ${currency}: ${why}.`,
  );
}

/** The account's settings from their stored JSON (null or '{}': none set). */
export function valueSettingsOf(stored: string | null | undefined): ValueSettings {
  if (!stored) return { ...NO_VALUE_SETTINGS };
  const raw = JSON.parse(stored) as Partial<ValueSettings>;
  return {
    hourlyCost: raw.hourlyCost ?? null,
    currency: raw.currency ?? null,
    creditPrice: raw.creditPrice ?? null,
  };
}

/** The settings' stored JSON: only what was set; null when nothing is. */
export function storedValueSettings(own: ValueSettings): string | null {
  const set = Object.fromEntries(Object.entries(own).filter(([, v]) => v !== null));
  return Object.keys(set).length === 0 ? null : JSON.stringify(set);
}

/** The view of an account's settings beside the configuration's figures. */
export function valueSettingsView(
  own: ValueSettings,
  defaults: ValueFigures | null,
): ValueSettingsView {
  return {
    ...own,
    configuration: defaults === null ? null : { ...defaults },
    effective: effectiveValue(own, defaults),
  };
}
