/**
 * The catalog's shape, validated with zod when it is loaded: a bad catalog fails the tests and
 * the start-up, never a request. Every object is strict, so a misspelt field is an error.
 */
import { z } from "zod";
import { CATEGORIES, TIERS } from "../ledger/types";
import { priceCredits } from "./price";
import {
  LITERAL_SEGMENT,
  PARAM_SEGMENT,
  paramNames,
  parsePattern,
  patternsOverlap,
  samePattern,
} from "./route";

export { CATEGORIES, TIERS };
export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
/** The seats an action may require (a member's seat may also be `none`). */
export const SEATS = ["core", "sales", "service"] as const;
export const SETTLEMENTS = ["on_success", "metered", "on_request"] as const;

/** Credits are integers in 0..10^12 everywhere (SPEC §5); a hold must fit too. */
export const MAX_CREDITS = 1_000_000_000_000;
/** Upper bound of any unit count, declared or reported. */
export const MAX_UNITS = 1_000_000_000;
const MIB = 1024 * 1024;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const UPSTREAM_SEGMENT = /^[A-Za-z0-9._~-]+$/;

const headerName = z.string().regex(HEADER_NAME, "must be an HTTP header name");

export const CredentialSchema = z.strictObject({
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

export const ActionSchema = z
  .strictObject({
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
  })
  .superRefine((action, ctx) => {
    const unit = "unit" in action.price ? action.price.unit : undefined;
    const fromHeader = unit?.from === "response_header";
    if ((action.settlement === "metered") !== fromHeader) {
      ctx.addIssue({
        code: "custom",
        path: ["settlement"],
        message: `action "${action.id}": settlement "metered" and a price unit from "response_header" go together (settlement is "${action.settlement}", unit is ${unit ? `from "${unit.from}"` : "absent"})`,
      });
    }
    if (unit?.from === "body" && !["POST", "PUT", "PATCH"].includes(action.method)) {
      ctx.addIssue({
        code: "custom",
        path: ["price", "unit"],
        message: `action "${action.id}": units from the body need a POST, PUT or PATCH route`,
      });
    }
    const names = paramNames(action.path);
    const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
    if (duplicates.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["path"],
        message: `action "${action.id}": parameter ":${duplicates[0]}" appears twice in the path`,
      });
    }
    for (const name of paramNames(action.upstreamPath)) {
      if (!names.includes(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["upstreamPath"],
          message: `action "${action.id}": upstreamPath uses ":${name}" which is not a parameter of path ${action.path}`,
        });
      }
    }
    const hold = priceCredits(action.price, "unit" in action.price ? action.price.maxUnits : 1);
    if (!Number.isSafeInteger(hold) || hold > MAX_CREDITS) {
      ctx.addIssue({
        code: "custom",
        path: ["price"],
        message: `action "${action.id}": the largest hold (${hold} credits) exceeds ${MAX_CREDITS}`,
      });
    }
  });

export const CatalogSchema = z
  .strictObject({
    upstreams: z.array(UpstreamSchema).min(1),
    actions: z.array(ActionSchema).min(1),
  })
  .superRefine((catalog, ctx) => {
    const upstreamIds = new Map<string, number>();
    for (const [i, upstream] of catalog.upstreams.entries()) {
      const first = upstreamIds.get(upstream.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["upstreams", i, "id"],
          message: `duplicate upstream id "${upstream.id}" (first at upstreams[${first}])`,
        });
      } else upstreamIds.set(upstream.id, i);
    }
    const actionIds = new Map<string, number>();
    const routes = catalog.actions.map((a) => parsePattern(a.path));
    for (const [i, action] of catalog.actions.entries()) {
      const first = actionIds.get(action.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["actions", i, "id"],
          message: `duplicate action id "${action.id}" (first at actions[${first}])`,
        });
      } else actionIds.set(action.id, i);
      if (!upstreamIds.has(action.upstream)) {
        ctx.addIssue({
          code: "custom",
          path: ["actions", i, "upstream"],
          message: `action "${action.id}": upstream "${action.upstream}" is not declared in upstreams`,
        });
      }
      // Two routes of one method that can match the same path would make the price ambiguous.
      const route = routes[i] ?? [];
      for (const [j, other] of catalog.actions.slice(0, i).entries()) {
        const otherRoute = routes[j] ?? [];
        if (other.method !== action.method || !patternsOverlap(route, otherRoute)) continue;
        const same = samePattern(route, otherRoute);
        ctx.addIssue({
          code: "custom",
          path: ["actions", i, "path"],
          message: `action "${action.id}": ${same ? "duplicate" : "ambiguous"} route ${action.method} ${action.path} conflicts with "${other.id}" (${other.method} ${other.path})${same ? "" : ": a parameter overlaps a literal segment"}`,
        });
      }
    }
  });

export type Credential = z.infer<typeof CredentialSchema>;
export type Upstream = z.infer<typeof UpstreamSchema>;
export type Price = z.infer<typeof PriceSchema>;
export type PerUnitPrice = z.infer<typeof PerUnitPriceSchema>;
export type UnitSource = z.infer<typeof UnitSourceSchema>;
export type Action = z.infer<typeof ActionSchema>;
export type CatalogDefinition = z.input<typeof CatalogSchema>;
export type Category = (typeof CATEGORIES)[number];
export type Method = (typeof METHODS)[number];
export type Tier = (typeof TIERS)[number];
export type Seat = (typeof SEATS)[number];
export type Settlement = (typeof SETTLEMENTS)[number];
