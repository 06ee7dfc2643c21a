/**
 * The configuration file's shape (creditgate.config.json): the operator's seat kinds,
 * categories, plans, upstreams and priced actions, validated with zod when it is loaded: a bad
 * file fails the build, `npm start` and `npm run config:check`, never a request. Every object is
 * strict, so a misspelt field is an error. The checks that span fields (references between ids,
 * prices against units, routes against each other) are in load.ts. The committed JSON Schema
 * (creditgate.config.schema.json) is generated from `ConfigShape`.
 */
import { z } from "zod";
import { MAX_CREDITS } from "../lib/credits";

export { MAX_CREDITS };
export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export const SETTLEMENTS = ["on_success", "metered", "on_request"] as const;
/** The seat of a member who holds none of the configuration's seat kinds. */
export const NO_SEAT = "none";

/** An id of the file's own vocabulary: a seat kind, a category, a plan. */
export const ID = /^[a-z][a-z0-9_]{0,63}$/;
const id = (what: string) =>
  z
    .string()
    .regex(ID, `a ${what} id is [a-z][a-z0-9_]*, at most 64 characters`)
    .meta({ description: `A ${what} id: [a-z][a-z0-9_]*` });

/** Upper bound of any unit count, declared or reported. */
const MAX_UNITS = 1_000_000_000;
const MIB = 1024 * 1024;

/** A literal segment of a route pattern: lowercase, digits and hyphens. */
const LITERAL_SEGMENT = /^[a-z0-9-]+$/;
/** A parameter segment of a route pattern or upstream template: `:name`. */
export const PARAM_SEGMENT = /^:([a-zA-Z][a-zA-Z0-9]{0,31})$/;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const UPSTREAM_SEGMENT = /^[A-Za-z0-9._~-]+$/;

const headerName = z.string().regex(HEADER_NAME, "must be an HTTP header name");

const CredentialSchema = z.strictObject({
  header: headerName,
  secretEnv: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "must be an env var name (A-Z, 0-9, _)"),
  prefix: z
    .string()
    .max(32)
    .regex(/^[\x20-\x7e]*$/, "must be printable ASCII")
    .optional(),
});

export const UpstreamSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, "must be lowercase [a-z0-9_-]"),
    binding: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "must be a binding name")
      .optional(),
    url: z.url({ protocol: /^https?$/, error: "must be an http or https URL" }).optional(),
    credential: CredentialSchema.optional(),
  })
  .superRefine((upstream, ctx) => {
    if ((upstream.binding === undefined) === (upstream.url === undefined)) {
      ctx.addIssue({
        code: "custom",
        message: `upstream "${upstream.id}" needs exactly one of "binding" or "url"`,
      });
    }
    if (upstream.url !== undefined) {
      const url = new URL(upstream.url);
      if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
        ctx.addIssue({
          code: "custom",
          path: ["url"],
          message: "must be a base URL without query, fragment or userinfo",
        });
      }
    }
  });

const PerRequestPriceSchema = z.strictObject({
  credits: z.int().min(0).max(MAX_CREDITS),
});

const UnitSourceSchema = z.discriminatedUnion("from", [
  z.strictObject({
    from: z.literal("body"),
    field: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "must be a JSON field name"),
  }),
  z.strictObject({
    from: z.literal("query"),
    param: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, "must be a query parameter name"),
  }),
  z.strictObject({ from: z.literal("response_header"), header: headerName }),
]);

const PerUnitPriceSchema = z.strictObject({
  /** Credits per charged block of `per` units. */
  credits: z.int().min(1).max(MAX_CREDITS),
  per: z.int().min(1).max(MAX_UNITS).default(1),
  unit: UnitSourceSchema,
  maxUnits: z.int().min(1).max(MAX_UNITS),
});

export const PriceSchema = z.union([PerRequestPriceSchema, PerUnitPriceSchema]);

/** Whether every segment after the leading "/" passes `segmentOk`. */
function segmentsAre(pattern: string, segmentOk: (segment: string) => boolean): boolean {
  return pattern.startsWith("/") && pattern.slice(1).split("/").every(segmentOk);
}

/** A route pattern: "/" then lowercase literal segments or `:param` segments. */
const routePattern = z
  .string()
  .max(512)
  .refine(
    (p) => segmentsAre(p, (s) => LITERAL_SEGMENT.test(s) || PARAM_SEGMENT.test(s)),
    'must be "/" then segments of [a-z0-9-] or ":param", e.g. /v1/agents/:agentId',
  );

/** An upstream path template: "/" then unreserved segments (not dot segments) or `:param`. */
const upstreamTemplate = z
  .string()
  .max(512)
  .refine(
    (p) =>
      p === "/" ||
      segmentsAre(
        p,
        (s) => (UPSTREAM_SEGMENT.test(s) && s !== "." && s !== "..") || PARAM_SEGMENT.test(s),
      ),
    'must be "/" then segments of [A-Za-z0-9._~-] (not "." or "..") or ":param"',
  );

/**
 * Each record charged once per window (issue 16): `key` names the field of each record of the
 * body array that identifies it; `group` (default: the action id) lets actions share a window.
 */
export const DedupeSchema = z.strictObject({
  key: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, "must be a JSON field name")
    .meta({ description: "The field of each record that identifies it, e.g. `domain` or `email`" }),
  windowDays: z
    .int()
    .min(1)
    .max(3650)
    .meta({ description: "Days a record stays enriched: within them it is not charged again" }),
  group: z
    .string()
    .regex(/^[a-z][a-z0-9_.]{0,63}$/, "must be [a-z][a-z0-9_.]*")
    .optional()
    .meta({ description: "Actions with the same group share their enriched records" }),
});

/** What the configuration's credits are worth and what an hour of manual work costs (issue 16). */
export const ValueSchema = z.strictObject({
  creditPrice: z
    .number()
    .positive()
    .max(1_000_000)
    .meta({ description: "What one credit costs, in `currency`" }),
  hourlyCost: z
    .number()
    .positive()
    .max(1_000_000)
    .meta({ description: "What an hour of a person's work costs, in `currency`" }),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD")
    .meta({ description: "ISO 4217 currency code" }),
});

export const ActionSchema = z.strictObject({
  id: z
    .string()
    .max(64)
    .regex(/^[a-z_]+\.[a-z_]+$/, 'must look like "category.name" ([a-z_])'),
  name: z.string().min(1).max(100),
  description: z.string().max(500).optional(),
  category: id("category").meta({ description: "One of the file's `categories`" }),
  method: z.enum(METHODS),
  path: routePattern,
  upstream: z.string().min(1).max(64),
  upstreamPath: upstreamTemplate,
  price: PriceSchema,
  /**
   * Scheduled changes: from each `from` on (ISO time), `price` is the action's price; the entry
   * in force at admission prices the call, hold and capture alike. Same shape as `price`.
   */
  priceSchedule: z
    .array(
      z.strictObject({
        from: z.iso
          .datetime({ offset: true })
          .meta({ description: "When this price starts to apply (ISO 8601 time)" }),
        price: PriceSchema,
      }),
    )
    .max(100)
    .optional()
    .meta({ description: "Price changes scheduled ahead, oldest first" }),
  seat: id("seat")
    .optional()
    .meta({ description: "The seat kind a member needs to call it (one of `seats`); none: any" }),
  settlement: z.enum(SETTLEMENTS).default("on_success"),
  dedupe: DedupeSchema.optional().meta({
    description:
      "Charge each record once per window: records whose key was enriched for the account within `windowDays` (or repeat in the call) are skipped, not charged and not forwarded. Needs units from a body array.",
  }),
  manualMinutes: z.number().min(0).max(100_000).optional().meta({
    description:
      "Minutes a person would spend on the same work, per unit (or per call, see `manualPer`): the value report's manual cost",
  }),
  manualPer: z
    .enum(["unit", "call"])
    .default("unit")
    .meta({ description: "Whether `manualMinutes` counts per unit charged or per call" }),
  timeoutMs: z.int().min(100).max(55_000).default(10_000),
  maxBodyBytes: z
    .int()
    .min(0)
    .max(10 * MIB)
    .default(MIB),
});

export const PlanSchema = z.strictObject({
  id: id("plan"),
  name: z.string().min(1).max(100),
  /** Credits issued every period, expiring at its end. */
  includedCredits: z
    .int()
    .min(0)
    .max(MAX_CREDITS)
    .meta({ description: "Credits issued every billing period, expiring at its end" }),
  /** What the plan gives access to: category ids and/or action ids. */
  includes: z
    .array(z.string().min(1).max(64))
    .max(1000)
    .meta({ description: "Category ids and/or action ids the plan gives access to" }),
  /** Default for accounts on the plan: unused included credits carried into the next period. */
  rolloverCap: z.int().min(0).max(MAX_CREDITS).optional(),
  /** Default for accounts on the plan: spending past the grants, up to a limit. */
  overage: z
    .strictObject({
      policy: z.enum(["block", "allow"]),
      limit: z.int().min(0).max(MAX_CREDITS),
    })
    .optional(),
});

/** A recurring credit pack: `credits` more every period per unit bought, expiring with it. */
export const AddOnSchema = z.strictObject({
  id: id("add-on"),
  name: z.string().min(1).max(100),
  credits: z
    .int()
    .min(1)
    .max(MAX_CREDITS)
    .meta({ description: "Credits issued every period for each unit of the add-on bought" }),
});

/** The file's shape; `loadConfig` checks it whole, references and cross-field rules included. */
export const ConfigShape = z.strictObject({
  $schema: z.string().max(500).optional(),
  seats: z
    .array(id("seat"))
    .max(100)
    .meta({ description: "The seat kinds members can hold (a member may also hold `none`)" }),
  categories: z.array(id("category")).min(1).max(100),
  plans: z.array(PlanSchema).min(1).max(100),
  addOns: z.array(AddOnSchema).max(100).default([]).meta({
    description: "Recurring credit packs an account can hold (more credits every period)",
  }),
  upstreams: z.array(UpstreamSchema).min(1),
  actions: z.array(ActionSchema).min(1),
  value: ValueSchema.optional().meta({
    description: "The value report's defaults: a credit's price and an hour's cost",
  }),
});

export type Credential = z.infer<typeof CredentialSchema>;
export type Upstream = z.infer<typeof UpstreamSchema>;
export type Price = z.infer<typeof PriceSchema>;
export type PerUnitPrice = z.infer<typeof PerUnitPriceSchema>;
export type UnitSource = z.infer<typeof UnitSourceSchema>;
export type Action = z.infer<typeof ActionSchema>;
export type Plan = z.infer<typeof PlanSchema>;
export type AddOn = z.infer<typeof AddOnSchema>;
export type Dedupe = z.infer<typeof DedupeSchema>;
export type Value = z.infer<typeof ValueSchema>;
/** A configuration as written (defaults not yet applied). */
export type ConfigDefinition = z.input<typeof ConfigShape>;
export type Method = (typeof METHODS)[number];
export type Settlement = (typeof SETTLEMENTS)[number];
