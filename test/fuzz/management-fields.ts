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
  /**
   * Valid values exist only in context (a cursor from an earlier page): valid requests leave
   * the field out, and only invalid values are sent.
   */
  contextual?: boolean;
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

/** An amount of the value settings: more than 0, at most 10^6; null falls back to the configuration. */
const money: FieldKind = {
  valid: () => fc.option(fc.double({ min: 0.0001, max: 1_000_000, noNaN: true })),
  invalid: fc.oneof(
    fc.constantFrom(0, -1, -0.01, 1_000_000.01, 1e300, "45"),
    notOfType("number").filter((v) => v !== null),
  ),
};

const enabledOnly = {
  valid: () => fc.record({ enabled: fc.boolean() }),
  invalid: fc.oneof(
    fc.constantFrom({}, { enabled: "yes" }, { enabled: true, extra: 1 }, null, true),
    notOfType("string"),
  ),
};

/** A caller's id (an outcome's, a request's): 1..128 visible ASCII characters. */
const visibleId: FieldKind = {
  valid: () => fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
  invalid: fc.oneof(
    fc.constantFrom("", "a b", "tab\tid", "ключ", "id\u0000"),
    overLongText(128),
    notOfType("string"),
  ),
};
const pastIso = fc
  .integer({ min: 0, max: 30 * DAY })
  .map((ms) => new Date(Date.now() - ms).toISOString());

/** An outcome report (`POST /v1/outcomes`). */
const OUTCOME_FIELDS: Record<string, FieldKind> = {
  id: visibleId,
  kind: {
    valid: () => fc.stringMatching(/^[a-z][a-z0-9_]{0,30}$/),
    invalid: fc.oneof(
      fc.constantFrom("", "Meeting", "1st_call", "deal-won", "deal won", "a".repeat(65)),
      notOfType("string"),
    ),
  },
  recordKey: {
    valid: () =>
      fc.oneof(
        fc.constantFrom("acme.com", "www.Globex.com", " ada@example.com ", "rec_42"),
        fc.stringMatching(/^[a-z0-9]{1,20}\.example$/),
      ),
    // Empty once trimmed, or over 320 characters once trimmed.
    invalid: fc.oneof(fc.constantFrom("", "   ", "x".repeat(321)), notOfType("string")),
  },
  requestId: visibleId,
  value: {
    valid: () => fc.double({ min: 0, max: 1_000_000, noNaN: true }),
    invalid: fc.oneof(fc.constantFrom(-1, -0.01, 1e16, "500"), notOfType("number")),
  },
  occurredAt: {
    valid: () => pastIso,
    invalid: fc.oneof(badIso, fc.constantFrom("1999-12-31T23:59:59Z"), futureIso),
  },
};

export const BODY_FIELDS: Record<string, FieldKind> = {
  ...Object.fromEntries(
    Object.entries(OUTCOME_FIELDS).map(([k, v]) => [`POST /v1/outcomes ${k}`, v]),
  ),
  hourlyCost: money,
  creditPrice: money,
  currency: {
    valid: () => fc.option(fc.constantFrom("USD", "EUR")),
    invalid: fc.oneof(
      fc.constantFrom("usd", "US", "EURO", "XYZ", "", "U$D", "USD "),
      notOfType("string").filter((v) => v !== null),
    ),
  },
  thresholds: {
    valid: () => fc.uniqueArray(int(1, 100), { maxLength: 10 }),
    invalid: fc.oneof(
      fc.constantFrom([0], [101], [50, 50], [50.5], ["50"], null, 50),
      fc
        .array(int(1, 100), { minLength: 11, maxLength: 12 })
        .filter((a) => new Set(a).size === a.length),
    ),
  },
  spike: {
    valid: () =>
      fc.record({
        enabled: fc.boolean(),
        factor: fc.double({ min: 1.5, max: 100, noNaN: true }),
        floorCredits: credits(0),
      }),
    invalid: fc.oneof(
      fc.constantFrom(
        { enabled: true, factor: 1, floorCredits: 0 },
        { enabled: true, factor: 3, floorCredits: -1 },
        { enabled: true, factor: 3 },
        { enabled: true, factor: 3, floorCredits: 0, extra: 1 },
      ),
      notOfType("string"),
    ),
  },
  url: {
    valid: () => fc.constantFrom("https://hooks.test/in/fuzz", "https://example.com/hooks/credits"),
    invalid: fc.oneof(
      fc.constantFrom(
        "http://hooks.test/in/fuzz",
        "https://127.0.0.1/x",
        "https://user:pw@example.com/x",
        "ftp://example.com/x",
        "not a url",
        "",
        "https://gateway.test/v1/balance",
      ),
      overLongText(2048),
      notOfType("string"),
    ),
  },
  secret: {
    valid: () =>
      fc
        .uint8Array({ minLength: 24, maxLength: 64 })
        .map((b) => `whsec_${btoa(String.fromCharCode(...b))}`),
    invalid: fc.oneof(
      fc.constantFrom("plain", "whsec_", "whsec_c2hvcnQ=", "whsec_!!!!", ""),
      notOfType("string"),
    ),
  },
  forecast: enabledOnly,
  depleted: enabledOnly,
  deniedBurst: {
    valid: () =>
      fc.record({ enabled: fc.boolean(), count: int(2, 100_000), windowMinutes: int(1, 1440) }),
    invalid: fc.oneof(
      fc.constantFrom(
        { enabled: true, count: 1, windowMinutes: 5 },
        { enabled: true, count: 20, windowMinutes: 0 },
        { enabled: true, count: 20, windowMinutes: 1441 },
        { enabled: true, count: 20 },
      ),
      notOfType("string"),
    ),
  },
  olderThanDays: { valid: () => int(1, 3650), invalid: notAnIntIn(1, 3650) },
  // The demo history: valid keys exist only in context (ROUTE_SPECS gives the fixture's own).
  memberKeys: {
    valid: () => fc.constant(["cg_zz-nobody_secret"]),
    invalid: fc.oneof(
      fc.constantFrom([], ["cg_zz-nobody_secret"], [""], "cg_key", null, [1]),
      fc.array(fc.constant("cg_zz-nobody_secret"), { minLength: 11, maxLength: 12 }),
      overLongText(200).map((t) => [t]),
    ),
    contextual: true,
  },
  days: { valid: () => int(1, 60), invalid: notAnIntIn(1, 60) },
  seed: { valid: () => int(0, 2_147_483_647), invalid: notAnIntIn(0, 2_147_483_647) },
  mode: enumOf(["archive", "delete"], ["shred", "purge"]),
  dryRun: { valid: () => fc.boolean(), invalid: fc.constantFrom("true", 1, 0, null, "yes") },
  // Valid ones name no account (404); ROUTE_SPECS names the fixture's account in valid bodies.
  accountId: {
    valid: () => fc.stringMatching(/^[a-z0-9-]{3,20}$/).map((s) => `zz-${s}`),
    invalid: fc.oneof(fc.constantFrom("", "UPPER", "a/b"), overLongText(64), notOfType("string")),
  },
  name,
  note: {
    valid: () => fc.oneof(fc.constant(""), safeText(500)),
    invalid: fc.oneof(overLongText(500), unsafeText, notOfType("string")),
  },
  plan: enumOf(TIERS, ["platinum", "free"]),
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
  addOns: {
    valid: () =>
      fc.uniqueArray(fc.record({ id: fc.constant("capacity_pack"), quantity: int(0, 3) }), {
        maxLength: 1,
        selector: (a) => a.id,
      }),
    invalid: fc.oneof(
      fc.constantFrom(
        [{ id: "platinum_pack", quantity: 1 }],
        [{ id: "capacity_pack", quantity: -1 }],
        [{ id: "capacity_pack", quantity: 1.5 }],
        [{ id: "capacity_pack", quantity: 1001 }],
        [
          { id: "capacity_pack", quantity: 1 },
          { id: "capacity_pack", quantity: 2 },
        ],
        [{ id: "capacity_pack" }],
        [{ id: "capacity_pack", quantity: 1, extra: true }],
        null,
        "capacity_pack",
      ),
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

/** Query fields of the usage routes: the range filters, and each route's own knobs. */
const usageId: FieldKind = {
  valid: () => fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
  invalid: fc.oneof(
    fc.constantFrom("", "a/b", "team x", "ü"),
    overLongText(64),
    unsafeText.filter((t) => t.length > 0),
  ),
};
const usageAction: FieldKind = {
  // Any well-formed action id filters (an unknown one matches nothing); malformed ones are refused.
  valid: () => fc.oneof(fc.constantFrom(...ACTION_IDS), fc.constant("enrichment.nothing")),
  invalid: fc.constantFrom("", "ENRICHMENT.COMPANY", "enrichment.company ", "enrichment", "a.b.c"),
};
const instant: FieldKind = {
  valid: () =>
    fc
      .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) })
      .chain((ms) =>
        fc.constantFrom(new Date(ms).toISOString(), new Date(ms).toISOString().slice(0, 10)),
      ),
  invalid: fc.constantFrom("tomorrow", "2026-13-01", "2026-11-01T00:00:00", "", "1700000000"),
};
const USAGE_RANGE: Record<string, FieldKind> = {
  from: instant,
  to: instant,
  team: usageId,
  member: usageId,
  action: usageAction,
  category: enumOf(CATEGORIES, ["billing"]),
  outcome: enumOf(["captured", "voided", "denied"], ["refunded", "pending"]),
  tag: {
    valid: () => fc.constantFrom("campaign:q4", "campaign:q4,source:crm", "ab_1:x.y/z@w+v-1"),
    invalid: fc.constantFrom(
      "",
      "campaign",
      "campaign:",
      "Campaign:q4",
      "1x:q4",
      "campaign:q 4",
      "a:b,a:c",
      "a:1,b:2,c:3,d:4,e:5,f:6",
      `a:${"x".repeat(65)}`,
      "a:b,",
    ),
  },
};
const forRoute = (route: string, fields: Record<string, FieldKind>) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${route} ${k}`, v]));

export const QUERY_FIELDS: Record<string, FieldKind> = {
  ...forRoute("GET /v1/usage/events", {
    ...USAGE_RANGE,
    // CSV and NDJSON are not JSON: test/usage checks them; here the pages are fuzzed.
    format: {
      valid: () => fc.constant("json"),
      invalid: enumOf(["json", "csv", "ndjson"], ["xml"]).invalid,
    },
    limit: {
      valid: () => int(1, 1000).map(String),
      invalid: fc.constantFrom("0", "-1", "1001", "1.5", "abc", "", "1e4", "Infinity"),
    },
    cursor: {
      valid: () => fc.string({ minLength: 1, maxLength: 64 }),
      invalid: fc.oneof(
        fc.constantFrom("", "not-a-cursor!", "eyJ2IjoxfQ"),
        fc.string({ minLength: 1, maxLength: 64 }),
        overLongText(512),
      ),
      contextual: true,
    },
  }),
  ...forRoute("GET /v1/alerts", {
    kind: enumOf(["threshold", "spike", "forecast", "depleted", "denied_burst"], ["budget"]),
    scope: enumOf(["account", "team", "member"], ["action"]),
    scopeId: usageId,
    from: instant,
    to: instant,
    cursor: {
      valid: () => fc.string({ minLength: 1, maxLength: 64 }),
      invalid: fc.oneof(fc.constantFrom("", "zzz", "12.alert"), overLongText(200)),
      contextual: true,
    },
  }),
  ...forRoute("GET /v1/webhook/deliveries", {
    cursor: {
      valid: () => fc.string({ minLength: 1, maxLength: 64 }),
      invalid: fc.oneof(fc.constantFrom("", "zzz", "12.msg"), overLongText(200)),
      contextual: true,
    },
  }),
  ...forRoute("GET /v1/usage/summary", {
    ...USAGE_RANGE,
    group_by: {
      valid: () =>
        fc
          .subarray(["day", "team", "member", "action", "category", "tag:campaign"], {
            minLength: 1,
          })
          .map((keys) => keys.join(",")),
      invalid: fc.constantFrom(
        "week",
        "team,team",
        "",
        "day,",
        "DAY",
        "day;team",
        "tag:",
        "tag:Campaign",
      ),
    },
  }),
  ...forRoute("GET /v1/usage/attribution", {
    from: instant,
    to: instant,
    group_by: {
      valid: () => fc.constantFrom("action", "team", "member", "tag:campaign"),
      invalid: fc.constantFrom("day", "category", "team,action", "", "ACTION", "tag:", "tag:1x"),
    },
    kind: {
      valid: () => fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/),
      invalid: fc.constantFrom("", "Deal", "1st", "deal-won", "deal won"),
    },
  }),
  // Valid keys depend on the action (only a dedupe action takes them, at most `units`).
  ...forRoute("GET /v1/quote", {
    keys: { valid: () => fc.constant("acme.com"), invalid: fc.constant(""), contextual: true },
  }),
  ...forRoute("GET /v1/usage/value", {
    from: instant,
    to: instant,
    group_by: {
      valid: () => fc.constantFrom("action", "team", "member"),
      invalid: fc.constantFrom("day", "category", "team,action", "", "ACTION"),
    },
  }),
  ...forRoute("GET /v1/usage/reconcile", {
    period: {
      valid: () => fc.constantFrom("current", "previous", "2026-11-01", "2025-01-15T12:00:00Z"),
      invalid: fc.constantFrom("someday", "", "CURRENT", "2026-02-30x"),
    },
    // Not enumOf: its non-strings include booleans, which a query string spells "true"/"false".
    flush: {
      valid: () => fc.constantFrom("true", "false"),
      invalid: fc.constantFrom("yes", "1", "0", "TRUE", "False", "", "true "),
    },
  }),
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
