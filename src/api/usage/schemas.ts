/** The zod schemas of the usage API: queries, events, summaries, reconciliation, retention. */
import { z } from "@hono/zod-openapi";
import { OUTCOMES } from "../../usage/event";
import { GROUP_KEYS } from "../../usage/summary";
import { CategoryId, entityId, instant, inverted, rangeInOrder } from "../schemas";

const actionId = z.string().regex(/^[a-z_]+\.[a-z_]+$/, "an action id like enrichment.company");

const rangeFilters = {
  from: instant.optional().openapi({ description: "Inclusive start of the range." }),
  to: instant.optional().openapi({ description: "Exclusive end of the range." }),
  team: entityId.optional(),
  member: entityId.optional(),
  action: actionId.optional(),
  category: CategoryId.optional(),
  outcome: z.enum(OUTCOMES).optional(),
};

export const EventsQuery = z
  .strictObject({
    ...rangeFilters,
    format: z.enum(["json", "ndjson", "csv"]).default("json"),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().min(1).max(512).optional(),
  })
  .refine(rangeInOrder, inverted);

export const SummaryQuery = z
  .strictObject({
    ...rangeFilters,
    group_by: z
      .string()
      .max(100)
      .optional()
      .refine(
        (v) => {
          if (v === undefined) return true;
          const keys = v.split(",");
          return (
            keys.every((k) => (GROUP_KEYS as readonly string[]).includes(k)) &&
            new Set(keys).size === keys.length
          );
        },
        { message: `a comma-separated list of distinct keys from: ${GROUP_KEYS.join(", ")}` },
      )
      .openapi({ example: "day,team,action" }),
  })
  .refine(rangeInOrder, inverted);

export const ReconcileQuery = z.strictObject({
  period: z
    .union([z.enum(["current", "previous"]), instant])
    .default("current")
    .openapi({ description: "`current`, `previous`, or any time inside the period." }),
  flush: z.enum(["true", "false"]).default("false"),
});

const Allocation = z.object({ grantId: z.string(), amount: z.number().int() });

export const UsageEvent = z
  .object({
    id: z.string(),
    occurredAt: z.string(),
    periodStart: z.string(),
    accountId: z.string(),
    teamId: z.string().nullable(),
    memberId: z.string().nullable(),
    keyId: z.string().nullable(),
    requestId: z.string(),
    action: z.string(),
    category: z.string(),
    outcome: z.enum(OUTCOMES),
    reason: z.string().nullable(),
    units: z.number().int(),
    credits: z.number().int(),
    heldCredits: z.number().int(),
    upstreamStatus: z.number().int().nullable(),
    durationMs: z.number().int().nullable(),
    purpose: z.string().nullable(),
    idempotencyKey: z.string().nullable(),
    grants: z.array(Allocation),
    seq: z.number().int(),
    price: z.record(z.string(), z.unknown()).nullable().openapi({
      description:
        "The price the call was admitted at, as the configuration had it then (`price` or a `priceSchedule` entry); null for events recorded before prices were kept.",
    }),
  })
  .openapi("UsageEvent");

export const EventPage = z
  .object({ data: z.array(UsageEvent), nextCursor: z.string().nullable() })
  .openapi("UsageEventPage");

const Totals = z.object({
  credits: z.number().int(),
  units: z.number().int(),
  calls: z.number().int(),
  denials: z.number().int(),
});

export const Summary = z
  .object({
    groupBy: z.array(z.enum(GROUP_KEYS)),
    from: z.string().nullable(),
    to: z.string().nullable(),
    groups: z.array(
      Totals.extend({
        day: z.string().optional(),
        teamId: z.string().nullable().optional(),
        memberId: z.string().nullable().optional(),
        action: z.string().optional(),
        category: z.string().optional(),
      }),
    ),
    totals: Totals,
  })
  .openapi("UsageSummary");

const Line = z.object({
  ledger: z.number().int(),
  d1: z.number().int(),
  pending: z.number().int(),
  unexplained: z.number().int(),
});

export const Reconciliation = z
  .object({
    period: z.object({ start: z.string(), end: z.string() }),
    verdict: z.enum(["balanced", "pending", "mismatch"]),
    total: Line,
    byAction: z.array(Line.extend({ action: z.string() })),
    byTeam: z.array(Line.extend({ teamId: z.string().nullable() })),
    watermark: z.string(),
    outbox: z.object({ capturedEvents: z.number().int(), waiting: z.number().int() }),
    flushed: z.object({
      requested: z.boolean(),
      events: z.number().int(),
      error: z.string().nullable(),
    }),
  })
  .openapi("UsageReconciliation");

export const RetentionRequest = z
  .strictObject({
    olderThanDays: z.number().int().min(1).max(3650),
    mode: z.enum(["archive", "delete"]),
    accountId: entityId.optional(),
    dryRun: z.boolean().default(false),
  })
  .openapi("UsageRetentionRequest");

export const RetentionResult = z
  .object({
    mode: z.enum(["archive", "delete"]),
    cutoff: z.string(),
    accountId: z.string().nullable(),
    dryRun: z.boolean(),
    days: z.number().int(),
    events: z.number().int(),
    credits: z.number().int(),
    more: z.boolean(),
  })
  .openapi("UsageRetentionResult");
