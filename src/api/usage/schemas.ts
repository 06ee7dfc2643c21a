/** The zod schemas of the usage API: queries, events, summaries, reconciliation, retention. */
import { z } from "@hono/zod-openapi";
import { MAX_TAGS } from "../../lib/formats";
import { ATTRIBUTION_KEYS, isAttributionKey } from "../../usage/attribution";
import { OUTCOMES } from "../../usage/event";
import { parseTagFilter } from "../../usage/filter";
import { GROUP_KEYS, isGroupKey } from "../../usage/summary";
import { CategoryId, entityId, instant, inverted, rangeInOrder } from "../schemas";

const actionId = z.string().regex(/^[a-z_]+\.[a-z_]+$/, "an action id like enrichment.company");

/** `tag=key:value[,key:value...]`: events whose X-Credit-Tags held every one of them. */
const tagFilter = z
  .string()
  .max(500)
  .superRefine((v, ctx) => {
    const parsed = parseTagFilter(v, MAX_TAGS);
    if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.detail });
  })
  .openapi({
    description: `Events whose \`X-Credit-Tags\` held every one of these tags: \`key:value\` pairs separated by commas, at most ${MAX_TAGS}, each key once (one \`tag\` parameter; a repeated one is refused). Rolled-up (archived) days keep no tags, so a tag filter counts raw events only.`,
    example: "campaign:q4,source:crm",
  });

const rangeFilters = {
  from: instant.optional().openapi({ description: "Inclusive start of the range." }),
  to: instant.optional().openapi({ description: "Exclusive end of the range." }),
  team: entityId.optional(),
  member: entityId.optional(),
  action: actionId.optional(),
  category: CategoryId.optional(),
  outcome: z.enum(OUTCOMES).optional(),
  tag: tagFilter.optional(),
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
          return keys.every(isGroupKey) && new Set(keys).size === keys.length;
        },
        {
          message: `a comma-separated list of distinct keys from: ${GROUP_KEYS.join(", ")}, tag:<key>`,
        },
      )
      .openapi({
        description: `Group keys, comma-separated: ${GROUP_KEYS.join(", ")}, and \`tag:<key>\` for the value of the caller's tag \`<key>\` (its group's \`tags\` object holds it; null for calls without that tag). Grouping by a tag counts raw events only: rolled-up (archived) days keep no tags.`,
        example: "day,team,action",
      }),
  })
  .refine(rangeInOrder, inverted);

export const AttributionQuery = z
  .strictObject({
    group_by: z
      .string()
      .max(40)
      .default("action")
      .refine(isAttributionKey, {
        message: `one of ${ATTRIBUTION_KEYS.join(", ")} or tag:<key>`,
      })
      .openapi({
        description: `One group key: ${ATTRIBUTION_KEYS.join(", ")} or \`tag:<key>\`.`,
        example: "action",
      }),
    from: rangeFilters.from,
    to: rangeFilters.to,
    kind: z
      .string()
      .max(64)
      .regex(/^[a-z][a-z0-9_]*$/, "an outcome kind: [a-z][a-z0-9_]*")
      .optional()
      .openapi({ description: "Only outcomes of this kind." }),
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
    recordsCharged: z.number().int().nullable().openapi({
      description: "Records charged, for an action with dedupe; null for other actions.",
    }),
    recordsSkipped: z.number().int().nullable().openapi({
      description:
        "Records skipped by dedupe (enriched in the window, in flight or repeated in the call); null without dedupe.",
    }),
    creditsSaved: z.number().int().nullable().openapi({
      description:
        "What the skipped records would have cost at the call's price; null without dedupe.",
    }),
    tags: z.string().nullable().openapi({
      description:
        'The call\'s `X-Credit-Tags` as JSON object text, e.g. `{"campaign":"q4"}`; null without tags.',
    }),
    recordKeys: z.string().nullable().openapi({
      description:
        "The hashes of the records charged, as JSON array text (never the keys themselves); null without dedupe.",
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
  creditsSaved: z.number().int().openapi({
    description:
      "Credits not charged because dedupe skipped records (captured calls); rolled-up (archived) days count 0.",
  }),
});

/** A group's tag values, by tag key, when the query groups by `tag:<key>`. */
const GroupTags = z.record(z.string(), z.string().nullable()).openapi({
  description:
    "The group's value of each tag it is grouped by (`tag:<key>` gives `tags.<key>`); null: calls without that tag.",
  example: { campaign: "q4" },
});

/** The key fields of a group: present when the query groups by them. */
const groupFields = {
  teamId: z.string().nullable().optional(),
  memberId: z.string().nullable().optional(),
  action: z.string().optional(),
  tags: GroupTags.optional(),
};

export const Summary = z
  .object({
    groupBy: z
      .array(z.string())
      .openapi({ description: `The group keys: ${GROUP_KEYS.join(", ")} or tag:<key>.` }),
    from: z.string().nullable(),
    to: z.string().nullable(),
    groups: z.array(
      Totals.extend({
        day: z.string().optional(),
        ...groupFields,
        category: z.string().optional(),
      }),
    ),
    totals: Totals,
  })
  .openapi("UsageSummary");

const AttributionMeasures = z.object({
  credits: z.number().int().openapi({ description: "Credits captured in the range." }),
  records: z.number().int().openapi({
    description: "Distinct records charged in the range (actions with dedupe).",
  }),
  outcomes: z.number().int().openapi({
    description: "Outcomes in the range (of `kind`, if given) attributed to the group's calls.",
  }),
  outcomeValue: z.number().openapi({ description: "The sum of those outcomes' values." }),
  creditsPerOutcome: z.number().nullable().openapi({
    description: "credits / outcomes, to 2 decimals; null without outcomes.",
  }),
});

export const Attribution = z
  .object({
    groupBy: z.string(),
    from: z.string().nullable(),
    to: z.string().nullable(),
    kind: z.string().nullable(),
    windowDays: z.number().int().openapi({
      description: "How far before an outcome its record's last touch may be.",
    }),
    groups: z.array(AttributionMeasures.extend(groupFields)),
    totals: AttributionMeasures.openapi({
      description:
        "The groups together: attributed outcomes only; `records` counts each record once.",
    }),
    unattributed: z
      .object({ outcomes: z.number().int(), outcomeValue: z.number() })
      .nullable()
      .openapi({
        description:
          "Outcomes in the range attributed to no call; null for a member key, which sees only its own calls.",
      }),
  })
  .openapi("UsageAttribution");

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
    target: z.enum(["r2", "d1"]).openapi({
      description:
        "Where the raw events went: `r2`, the archive bucket (archive mode with a bucket; exports still read them), or `d1`, rolled up (archive) or totalled (delete) with the raw rows gone",
    }),
    error: z.string().nullable().openapi({
      description: "Why an archive run stopped early; that day's events stay in D1. Else null.",
    }),
    cutoff: z.string(),
    accountId: z.string().nullable(),
    dryRun: z.boolean(),
    days: z.number().int(),
    events: z.number().int(),
    credits: z.number().int(),
    more: z.boolean(),
  })
  .openapi("UsageRetentionResult");

export const ArchiveStatusSchema = z
  .object({
    bucket: z.boolean().openapi({ description: "Whether an archive bucket is bound" }),
    hotDays: z.number().int(),
    sliceDays: z.number().int(),
    cutoff: z.string().openapi({ description: "Events before this are due for the archive" }),
    lastRunAt: z.string().nullable(),
    lastCompletedAt: z.string().nullable().openapi({
      description: "The last run that left no backlog",
    }),
    days: z.number().int().openapi({ description: "Account days moved by all runs" }),
    events: z.number().int(),
    lastError: z.string().nullable(),
    lastErrorAt: z.string().nullable(),
    backlog: z.object({ days: z.number().int(), events: z.number().int() }),
    archived: z.object({ parts: z.number().int(), events: z.number().int() }),
  })
  .openapi("UsageArchiveStatus");
