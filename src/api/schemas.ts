/**
 * The zod schemas of the management API: they validate every request and response and generate
 * the OpenAPI document. Unknown fields are rejected (strict objects); credits are integers.
 */
import { z } from "@hono/zod-openapi";
import { config } from "../config/bundled";
import { ID, NO_SEAT } from "../config/schema";
import { GRANT_SOURCES, ROLES } from "../ledger/contract";
import { MAX_CREDITS } from "../lib/credits";
import { PURPOSE, PURPOSE_HINT } from "../lib/formats";
import { ACCOUNT_ID_PATTERN } from "../lib/keys";
import { Problem as ProblemError } from "../lib/problem";

/** One of the configuration's ids (a non-empty list: the loader guarantees it). */
const oneOf = (ids: readonly string[]) => z.enum(ids as [string, ...string[]]);
/** A plan, seat kind (or `none`) and category of the configuration built into the worker. */
export const PlanId = oneOf(config.plans.map((p) => p.id));
export const SeatId = oneOf([...config.seats, NO_SEAT]);
export const CategoryId = oneOf(config.categories);

/** Control characters, bidi overrides and lone surrogates: they break CSV, logs and displays. */
// In a /u pattern a proper surrogate pair is one code point, so only lone surrogates match.
const UNSAFE_TEXT = /[\p{Cc}\u202A-\u202E\u2066-\u2069\uD800-\uDFFF]/u;
// Checked before trimming: a name sent with a CR LF or tab at either end is refused, not
// silently cut down to something else.
const name = z
  .string()
  .refine((v) => !UNSAFE_TEXT.test(v), "must not contain control or bidi-override characters")
  .trim()
  .min(1)
  .max(120);
const note = z
  .string()
  .max(500)
  .refine((v) => !UNSAFE_TEXT.test(v), "must not contain control or bidi-override characters");
const isoTime = z.iso.datetime({ offset: true });
export const credits = z.number().int().min(0).max(MAX_CREDITS);

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    requestId: z.string(),
  })
  .openapi("Problem");

export const CreateAccount = z
  .strictObject({
    name,
    plan: PlanId,
    billingAnchorDay: z.number().int().min(1).max(31).optional(),
    id: z
      .string()
      .regex(ACCOUNT_ID_PATTERN, "3-40 chars: lowercase letters, digits, '-'")
      .optional(),
  })
  .openapi("CreateAccount");

const actionId = z.string().regex(/^[a-z_]+\.[a-z_]+$/, "an action id like enrichment.company");

export const AccountPolicy = z
  .strictObject({
    overage: z.strictObject({ policy: z.enum(["block", "allow"]), limit: credits }),
    monthlySpendCap: credits.nullable(),
    rolloverCap: credits,
    actionCaps: z.record(actionId, credits).refine((caps) => Object.keys(caps).length <= 100, {
      message: "at most 100 action caps",
    }),
  })
  .openapi("AccountPolicy");

/** An add-on of the configuration (`addOns`), by id. */
const addOnId = z
  .string()
  .regex(ID, "an add-on id")
  .refine((id) => config.addOn(id) !== undefined, {
    message: `not an add-on of the configuration (${config.addOns.map((a) => a.id).join(", ") || "it declares none"})`,
  });

export const SetAddOns = z
  .strictObject({
    addOns: z
      .array(z.strictObject({ id: addOnId, quantity: z.number().int().min(0).max(1000) }))
      .max(100)
      .refine((list) => new Set(list.map((a) => a.id)).size === list.length, {
        message: "each add-on at most once",
      }),
  })
  .openapi("SetAddOns");

export const PatchAccount = z
  .strictObject({
    name: name.optional(),
    plan: PlanId.optional(),
    overage: AccountPolicy.shape.overage.optional(),
    monthlySpendCap: AccountPolicy.shape.monthlySpendCap.optional(),
    rolloverCap: AccountPolicy.shape.rolloverCap.optional(),
    actionCaps: AccountPolicy.shape.actionCaps.optional(),
  })
  .openapi("PatchAccount");

const purpose = z.string().regex(PURPOSE, PURPOSE_HINT);

export const TeamRules = z
  .strictObject({
    allowedActions: z.array(actionId).max(100).nullable(),
    allowedCategories: z.array(CategoryId).max(100).nullable(),
    purpose: z.strictObject({
      required: z.boolean(),
      allowed: z.array(purpose).max(50).nullable(),
    }),
    memberRateLimitPerMinute: z.number().int().min(1).max(100_000).nullable(),
    teamBudget: credits.nullable(),
    memberBudget: credits.nullable(),
  })
  .openapi("TeamRules");

export const Account = z
  .object({
    id: z.string(),
    name: z.string(),
    plan: PlanId,
    pendingPlan: z.object({ plan: PlanId, from: z.string() }).nullable().openapi({
      description:
        "A plan with fewer included credits, chosen this period: it takes over at `from` (the period's end); until then the account keeps `plan`",
    }),
    addOns: z.array(z.object({ id: z.string(), quantity: z.number().int() })).openapi({
      description: "Recurring add-ons held: each issues credits x quantity every period",
    }),
    billingAnchorDay: z.number().int(),
    overagePolicy: z.enum(["block", "allow"]),
    policy: AccountPolicy,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Account");

export const CreateGrant = z
  .strictObject({
    amount: credits.min(1),
    source: z.enum(GRANT_SOURCES).exclude(["included", "rollover", "overage"]),
    priority: z.number().int().min(0).max(1000).optional(),
    effectiveAt: isoTime.optional(),
    expiresAt: isoTime.optional(),
    note: note.optional(),
  })
  .openapi("CreateGrant");

export const Grant = z
  .object({
    id: z.string(),
    amount: z.number().int(),
    remaining: z.number().int(),
    held: z.number().int(),
    captured: z.number().int(),
    expired: z.number().int(),
    source: z.enum(GRANT_SOURCES),
    priority: z.number().int(),
    effectiveAt: z.string(),
    expiresAt: z.string().nullable(),
    note: z.string().nullable(),
  })
  .openapi("Grant");

export const CreateKey = z
  .strictObject({
    role: z.enum(ROLES),
    memberId: z.string().min(1).max(64).optional(),
    name: name.optional(),
  })
  .openapi("CreateKey");

export const CreatedKey = z
  .object({
    id: z.string(),
    key: z.string().openapi({ description: "The secret; shown only in this response." }),
    role: z.enum(ROLES),
    memberId: z.string().nullable(),
    name: z.string().nullable(),
  })
  .openapi("CreatedKey");

export const Key = z
  .object({
    id: z.string(),
    role: z.enum(ROLES),
    memberId: z.string().nullable(),
    name: z.string().nullable(),
    prefix: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi("Key");

export const CreateTeam = z.strictObject({ name }).openapi("CreateTeam");
export const PatchTeam = z.strictObject({ name }).openapi("PatchTeam");
export const Team = z
  .object({ id: z.string(), name: z.string(), createdAt: z.string() })
  .openapi("Team");
const Spend = z.object({ captured: z.number().int(), held: z.number().int() });
export const TeamDetail = Team.extend({ rules: TeamRules, spend: Spend }).openapi("TeamDetail");

export const CreateMember = z
  .strictObject({ name, teamId: z.string().min(1).max(64), seat: SeatId })
  .openapi("CreateMember");
export const PatchMember = z
  .strictObject({
    name: name.optional(),
    teamId: z.string().min(1).max(64).optional(),
    seat: SeatId.optional(),
    active: z.boolean().optional(),
    budget: credits.nullable().optional(),
  })
  .openapi("PatchMember");
export const Member = z
  .object({
    id: z.string(),
    name: z.string(),
    teamId: z.string(),
    seat: SeatId,
    active: z.boolean(),
    budget: z.number().int().nullable(),
    createdAt: z.string(),
  })
  .openapi("Member");

export const Balance = z
  .object({
    plan: z.string().openapi({ description: "The account's plan in force" }),
    pendingPlan: z.object({ plan: z.string(), from: z.string() }).nullable(),
    available: z.number().int(),
    overage: z.object({
      policy: z.enum(["block", "allow"]),
      limit: z.number().int(),
      used: z.number().int(),
      available: z.number().int(),
    }),
    held: z.number().int(),
    capturedThisPeriod: z.number().int(),
    period: z.object({ start: z.string(), end: z.string() }),
    forecast: z.object({
      burnRate: z
        .object({ last7Days: z.number().min(0), thisPeriod: z.number().min(0) })
        .openapi({ description: "Credits captured per day, rounded to 2 decimals." }),
      basis: z
        .enum(["last7Days", "thisPeriod"])
        .nullable()
        .openapi({ description: "The rate projected: the last 7 days' unless 0; null: no spend." }),
      projectedDepletionAt: z
        .string()
        .nullable()
        .openapi({ description: "When `available` runs out at that rate; null: no spend." }),
      depletesBeforePeriodEnd: z.boolean(),
    }),
    grants: z.array(Grant).openapi({ description: "Grants with credits left or held now." }),
    periodGrants: z.array(Grant).openapi({
      description:
        "Every grant that could be spent at some time in this period, spent and expired ones " +
        "included (the dashboard derives past balances from it).",
    }),
    holds: z.object({ count: z.number().int(), oldestExpiresAt: z.string().nullable() }),
  })
  .openapi("Balance");

export const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(128).optional(),
});

/** A date (`2026-11-01`, UTC midnight) or a date-time with an offset. */
export const instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .openapi({ example: "2026-11-01T00:00:00Z" });
/**
 * A date or date-time from the query as the ledger writes times (ISO, UTC, milliseconds). Times
 * compare as text, so one that leaves the four-digit years (an offset past 9999) is refused, as
 * are years before 2000 (no usage exists there, and two-digit years read as the 1900s).
 */
export function isoInstant(value: string | undefined, field: string): string | null {
  if (value === undefined) return null;
  const iso = new Date(value).toISOString();
  if (!/^[2-9]\d{3}-/.test(iso)) {
    throw new ProblemError("validation_failed", `${field} must fall in the years 2000 to 9999.`, {
      field,
    });
  }
  return iso;
}
/** A team's or member's id as a filter. */
export const entityId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "an id of letters, digits, '_' or '-'");

/** For `.refine` on a query with `from` and `to`: the range is not empty or inverted. */
export function rangeInOrder(q: { from?: string; to?: string }): boolean {
  return q.from === undefined || q.to === undefined || Date.parse(q.from) < Date.parse(q.to);
}
export const inverted = { message: "`from` must be earlier than `to`", path: ["from"] };

export const IdParam = z.strictObject({ id: z.string().min(1).max(64) });

/** `{ data, nextCursor }` around a list of items. */
export function listOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() }).openapi(name);
}

/** The error responses every management route can give. */
export const problemResponses = {
  400: {
    description: "Invalid input",
    content: { "application/problem+json": { schema: Problem } },
  },
  401: {
    description: "Missing or invalid credentials",
    content: { "application/problem+json": { schema: Problem } },
  },
  403: {
    description: "Role not allowed",
    content: { "application/problem+json": { schema: Problem } },
  },
  404: { description: "Not found", content: { "application/problem+json": { schema: Problem } } },
  413: {
    description: "Body over 1 MiB",
    content: { "application/problem+json": { schema: Problem } },
  },
} as const;

/**
 * The client errors of a public GET route that reads no input: it gives none of its own, but
 * says, as every operation does, that an error would come as a `Problem`.
 */
/** A refusal because of the state of things (`conflict`), as problem+json. */
export function conflictResponse(description: string) {
  return { description, content: { "application/problem+json": { schema: Problem } } } as const;
}

export const noInputProblems = {
  "4XX": {
    description:
      "A client error, as `application/problem+json` like every route's. This route reads no input, so it gives none of its own; a method other than GET or HEAD is answered 404 `not_found`.",
    content: { "application/problem+json": { schema: Problem } },
  },
} as const;

/** A required JSON request body. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } } as const;
}

/** A JSON response. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}
