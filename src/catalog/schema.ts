/**
 * The catalog's shape, validated with zod when it is loaded: a bad catalog fails the tests and
 * the start-up, never a request. Every object is strict, so a misspelt field is an error. The
 * checks that span fields (prices against units, routes against each other) are in load.ts.
 */
import { z } from "zod";
import { CATEGORIES, MAX_CREDITS, TIERS } from "../ledger/contract";

export { CATEGORIES, MAX_CREDITS, TIERS };
export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
/** The seats an action may require (a member's seat may also be `none`). */
export const SEATS = ["core", "sales", "service"] as const;
export const SETTLEMENTS = ["on_success", "metered", "on_request"] as const;

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

export const ActionSchema = z.strictObject({
  id: z
    .string()
    .max(64)
    .regex(/^[a-z_]+\.[a-z_]+$/, 'must look like "category.name" ([a-z_])'),
  name: z.string().min(1).max(100),
  description: z.string().max(500).optional(),
  category: z.enum(CATEGORIES),
  method: z.enum(METHODS),
  path: routePattern,
  upstream: z.string().min(1).max(64),
  upstreamPath: upstreamTemplate,
  price: PriceSchema,
  minTier: z.enum(TIERS),
  seat: z.enum(SEATS).optional(),
  settlement: z.enum(SETTLEMENTS).default("on_success"),
  timeoutMs: z.int().min(100).max(55_000).default(10_000),
  maxBodyBytes: z
    .int()
    .min(0)
    .max(10 * MIB)
    .default(MIB),
});

/** The catalog's shape; `loadCatalog` checks it whole, cross-field rules included. */
const CatalogShape = z.strictObject({
  upstreams: z.array(UpstreamSchema).min(1),
  actions: z.array(ActionSchema).min(1),
});

export type Credential = z.infer<typeof CredentialSchema>;
export type Upstream = z.infer<typeof UpstreamSchema>;
export type Price = z.infer<typeof PriceSchema>;
export type PerUnitPrice = z.infer<typeof PerUnitPriceSchema>;
export type UnitSource = z.infer<typeof UnitSourceSchema>;
export type Action = z.infer<typeof ActionSchema>;
export type CatalogDefinition = z.input<typeof CatalogShape>;
export type Category = (typeof CATEGORIES)[number];
export type Method = (typeof METHODS)[number];
export type Tier = (typeof TIERS)[number];
export type Seat = (typeof SEATS)[number];
export type Settlement = (typeof SETTLEMENTS)[number];
