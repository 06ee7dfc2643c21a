/**
 * What each field of the management API accepts, written from SPEC §2 and §5 rather than read
 * from src's zod schemas: loosening a bound there makes these refusals fail. A field or query
 * parameter the API gains that is not listed here fails the fuzz test by name.
 */
import fc from "fast-check";
import { fuzzCatalog } from "./harness";
import {
  anyText,
  notACredit,
  notOfType,
  overLongText,
  RawJson,
  safeText,
  unsafeText,
  word,
} from "./hostile";

/** Ids of the fixture's entities that a valid request may name. */
export interface Refs {
  teamIds: readonly string[];
  memberIds: readonly string[];
}

export interface FieldKind {
  /** Values the spec accepts (the request may still be refused for another reason). */
  valid: (refs: Refs) => fc.Arbitrary<unknown>;
  /** Values the spec refuses: a request carrying one must change nothing. */
  invalid: fc.Arbitrary<unknown>;
}

const MAX_CREDITS = 1_000_000_000_000;
export const TIERS = ["starter", "professional", "enterprise"] as const;
export const SEATS = ["core", "sales", "service", "none"] as const;
export const ROLES = ["admin", "finance", "member"] as const;
export const GRANT_SOURCES = ["pack", "promo", "adjustment"] as const;
const CATEGORIES = ["enrichment", "prospecting", "ai", "record_refresh", "insights"] as const;
export const ACTION_IDS = fuzzCatalog.actions.map((a) => a.id);
const DAY = 86_400_000;

const credits = (min: number) => fc.integer({ min, max: MAX_CREDITS });
const int = (min: number, max: number) => fc.integer({ min, max });
/** Integers just outside [min, max], fractions inside it, and everything notACredit holds. */
const notAnIntIn = (min: number, max: number) =>
  fc.oneof(
    int(min - 1000, min - 1),
    int(max + 1, max + 1000),
    fc.double({ min, max, noNaN: true }).filter((x) => !Number.isInteger(x)),
    notACredit.filter(
      (v) => !(typeof v === "number" && Number.isInteger(v) && v >= min && v <= max),
    ),
  );
const enumOf = (values: readonly string[], refused: readonly string[] = []) => ({
  valid: () => fc.constantFrom(...values),
  invalid: fc.oneof(
    fc.constantFrom(...values.map((v) => v.toUpperCase()), ...refused, ""),
    word().filter((w) => !values.includes(w)),
    notOfType("string"),
  ),
});
/** A display name: 1..120 characters once trimmed, no controls, bidi overrides or lone surrogates. */
const name: FieldKind = {
  valid: () => safeText(120),
  invalid: fc.oneof(
    overLongText(120),
    unsafeText,
    fc.constantFrom("", "   ", "\u3000", "x".repeat(200_000)),
    notOfType("string"),
  ),
};
const futureIso = fc
  .integer({ min: 2 * DAY, max: 3650 * DAY })
  .map((ms) => new Date(Date.now() + ms).toISOString());
const badIso = fc.oneof(
  fc.constantFrom("tomorrow", "2099-01-01T00:00:00", "2099-13-01T00:00:00Z", "2099-02-30", ""),
  fc.integer({ min: 0 }),
  notOfType("string"),
);
/** An id of an entity that exists, or any string of 1..64 characters that names none. */
const reference = (pick: (refs: Refs) => readonly string[], prefix: string): FieldKind => ({
  valid: (refs) => fc.constantFrom(...pick(refs)),
  invalid: fc.oneof(
    fc.constant(""),
    overLongText(64),
    word(20).map((w) => `${prefix}_${w}`),
    anyText.filter((s) => s.length > 0 && s.length <= 64),
    notOfType("string"),
  ),
});
const purposeText = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,20}$/);

export const BODY_FIELDS: Record<string, FieldKind> = {
  name,
  note: {
    valid: () => fc.oneof(fc.constant(""), safeText(500)),
    invalid: fc.oneof(overLongText(500), unsafeText, notOfType("string")),
  },
  tier: enumOf(TIERS, ["platinum", "free"]),
  seat: enumOf(SEATS, ["gold", "admin"]),
  role: enumOf(ROLES, ["owner", "operator", "root"]),
  source: enumOf(GRANT_SOURCES, ["included", "rollover", "overage", "gift"]),
  billingAnchorDay: { valid: () => int(1, 31), invalid: notAnIntIn(1, 31) },
  priority: { valid: () => int(0, 1000), invalid: notAnIntIn(0, 1000) },
  amount: { valid: () => credits(1), invalid: fc.oneof(fc.constant(0), notACredit) },
  rolloverCap: { valid: () => credits(0), invalid: fc.oneof(fc.constant(null), notACredit) },
  monthlySpendCap: { valid: () => fc.option(credits(0)), invalid: notACredit },
  budget: { valid: () => fc.option(credits(0)), invalid: notACredit },
  teamBudget: { valid: () => fc.option(credits(0)), invalid: notACredit },
  memberBudget: { valid: () => fc.option(credits(0)), invalid: notACredit },
  memberRateLimitPerMinute: {
    valid: () => fc.option(int(1, 100_000)),
    invalid: notAnIntIn(1, 100_000),
  },
  active: {
    valid: () => fc.boolean(),
    invalid: fc.oneof(fc.constantFrom("false", 0, 1), notOfType("boolean")),
  },
  effectiveAt: { valid: () => futureIso, invalid: badIso },
  expiresAt: {
    valid: () => futureIso,
    invalid: fc.oneof(badIso, fc.constant("2000-01-01T00:00:00Z")),
  },
  id: {
    // An account id: 3..40 of [a-z0-9-], not starting with '-' (it is part of every key).
    valid: () => fc.stringMatching(/^[a-z0-9][a-z0-9-]{9,20}$/).map((s) => `fz-${s}`),
    invalid: fc.oneof(
      fc.constantFrom("ab", "-abc", "Abc-def", "abc_def", "abc/def", "abc.def", "ключ-abc", ""),
      overLongText(40).map((s) => s.toLowerCase().replace(/[^a-z0-9-]/g, "a")),
      notOfType("string"),
    ),
  },
  teamId: reference((r) => r.teamIds, "team"),
  memberId: reference((r) => r.memberIds, "member"),
  overage: {
    valid: () => fc.record({ policy: fc.constantFrom("block", "allow"), limit: credits(0) }),
    invalid: fc.oneof(
      fc.record({ policy: fc.constantFrom("unlimited", "ALLOW", ""), limit: credits(0) }),
      fc.record({ policy: fc.constant("allow"), limit: notACredit }),
      fc.constant({ policy: "allow" }),
      fc.constant({ policy: "block", limit: 0, extra: true }),
      fc.constantFrom(null, [], {}, "allow", 5),
    ),
  },
  actionCaps: {
    valid: () => fc.dictionary(fc.constantFrom(...ACTION_IDS), credits(0), { maxKeys: 3 }),
    invalid: fc.oneof(
      fc.constantFrom({ "../x": 5 }, { "Enrichment.Company": 5 }, { "enrichment.nothing": 5 }),
      notACredit.map((v) => ({ "enrichment.company": v })),
      fc.constantFrom(null, [], "enrichment.company", 5),
    ),
  },
  allowedActions: {
    valid: () => fc.option(fc.uniqueArray(fc.constantFrom(...ACTION_IDS), { maxLength: 4 })),
    invalid: fc.oneof(
      fc.constantFrom(["DROP TABLE"], ["../x"], ["Enrichment.Company"], [5], "enrichment.company"),
      fc.constant(Array.from({ length: 101 }, () => "enrichment.company")),
      fc.constant(new RawJson("[")),
    ),
  },
  allowedCategories: {
    valid: () => fc.option(fc.uniqueArray(fc.constantFrom(...CATEGORIES), { maxLength: 5 })),
    invalid: fc.constantFrom(["payroll"], ["AI"], "ai", [1], {}),
  },
  purpose: {
    valid: () =>
      fc.record({
        required: fc.boolean(),
        allowed: fc.option(fc.array(purposeText, { maxLength: 5 })),
      }),
    invalid: fc.oneof(
      fc.constantFrom(
        { required: "yes", allowed: null },
        { required: true },
        { required: true, allowed: null, extra: 1 },
        { required: true, allowed: ["audit\nx"] },
        { required: true, allowed: [" leading"] },
        { required: true, allowed: [""] },
        { required: false, allowed: ["x".repeat(65)] },
        true,
        null,
      ),
      unsafeText.map((p) => ({ required: true, allowed: [p] })),
    ),
  },
};

const limitRefused = fc.oneof(
  fc.constantFrom(
    "0",
    "-1",
    "201",
    "1.5",
    "abc",
    "",
    "Infinity",
    "NaN",
    "1e3",
    "99999999999999999999",
  ),
  int(201, 1_000_000).map(String),
);

export const QUERY_FIELDS: Record<string, FieldKind> = {
  limit: { valid: () => int(1, 200).map(String), invalid: limitRefused },
  cursor: {
    valid: () => fc.string({ minLength: 1, maxLength: 128 }),
    invalid: fc.oneof(fc.constant(""), overLongText(128)),
  },
  action: {
    valid: () => fc.constantFrom(...ACTION_IDS),
    invalid: fc.oneof(
      fc.constantFrom("", "enrichment.nothing", "ENRICHMENT.COMPANY", "enrichment.company "),
      overLongText(64),
      unsafeText,
    ),
  },
  units: {
    valid: () => fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, int(1, 20)).map(String),
    invalid: fc.constantFrom("0", "-1", "1.5", "abc", "", "1e10", "1000000001", "Infinity"),
  },
};
