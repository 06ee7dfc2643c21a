/**
 * The value settings' pure rules (ledger/core/value.ts): the account's figures over the
 * configuration's, which stand in only in their own currency, and what an admin may set.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  effectiveValue,
  NO_VALUE_SETTINGS,
  storedValueSettings,
  type ValueSettings,
  valueSettingsOf,
  valueSettingsProblem,
} from "../../src/ledger/core/value";

const USD = { creditPrice: 0.01, hourlyCost: 45, currency: "USD" };
const own = (s: Partial<ValueSettings>): ValueSettings => ({ ...NO_VALUE_SETTINGS, ...s });

describe("the value report's figures", () => {
  it("takes each figure from the account when set, else from the configuration", () => {
    expect(effectiveValue(NO_VALUE_SETTINGS, USD)).toEqual(USD);
    expect(effectiveValue(own({ hourlyCost: 60 }), USD)).toEqual({ ...USD, hourlyCost: 60 });
    expect(effectiveValue(own({ creditPrice: 0.008, currency: "USD" }), USD)).toEqual({
      ...USD,
      creditPrice: 0.008,
    });
    expect(effectiveValue(NO_VALUE_SETTINGS, null)).toBeNull();
  });

  it("never mixes the configuration's figures into another currency", () => {
    expect(effectiveValue(own({ currency: "EUR", hourlyCost: 50 }), USD)).toBeNull();
    expect(effectiveValue(own({ currency: "EUR", creditPrice: 0.01 }), USD)).toBeNull();
    const eur = { currency: "EUR", hourlyCost: 50, creditPrice: 0.02 };
    expect(effectiveValue(own(eur), USD)).toEqual(eur);
    expect(effectiveValue(own(eur), null)).toEqual(eur);
  });

  it("refuses exactly the settings that leave no whole value, naming the missing field", () => {
    const amount = fc.option(fc.constantFrom(0.5, 45), { nil: null });
    const currency = fc.option(fc.constantFrom("USD", "EUR"), { nil: null });
    const defaults = fc.option(fc.constant(USD), { nil: null });
    fc.assert(
      fc.property(amount, currency, amount, defaults, (hourlyCost, cur, creditPrice, d) => {
        const settings = { hourlyCost, currency: cur, creditPrice };
        const problem = valueSettingsProblem(settings, d);
        const cleared = hourlyCost === null && cur === null && creditPrice === null;
        expect(problem === null).toBe(cleared || effectiveValue(settings, d) !== null);
        if (problem) {
          const field = problem.extras?.field;
          expect(settings[field as keyof ValueSettings]).toBeNull();
          expect(problem.code).toBe("validation_failed");
        }
      }),
    );
    const eur = valueSettingsProblem(own({ currency: "EUR", hourlyCost: 50 }), USD);
    expect(eur?.extras?.field).toBe("creditPrice");
    expect(eur?.detail).toMatch(/creditPrice in EUR.*in USD/);
  });

  it("stores only what was set, and reads it back", () => {
    expect(storedValueSettings(NO_VALUE_SETTINGS)).toBeNull();
    expect(valueSettingsOf(null)).toEqual(NO_VALUE_SETTINGS);
    const set = own({ hourlyCost: 50, currency: "EUR", creditPrice: 0.02 });
    expect(valueSettingsOf(storedValueSettings(set))).toEqual(set);
    expect(storedValueSettings(own({ hourlyCost: 50 }))).toBe('{"hourlyCost":50}');
  });
});
