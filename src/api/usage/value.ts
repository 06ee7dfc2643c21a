/**
 * The value report under /v1/usage/value (issue 16): a range's credits and what they cost,
 * against what the same work would have cost by hand (each action's `manualMinutes` in the
 * configuration, at the account's hourly cost), grouped by action, team or member, with the
 * credits dedupe saved. The figures (credit price, hourly cost, currency) are the account's
 * settings over the configuration's (`GET /v1/value/settings`). `admin` and `finance` keys read
 * the whole account; a `member` key reads only its own calls.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Catalog } from "../../catalog";
import { Problem } from "../../lib/problem";
import type { UsageFilter } from "../../usage/filter";
import {
  MAX_VALUE_ROWS,
  VALUE_GROUP_FIELD,
  VALUE_GROUP_KEYS,
  type ValueMeasures,
  valueReport,
} from "../../usage/value";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import {
  conflictResponse,
  instant,
  inverted,
  isoInstant,
  json,
  problemResponses,
  rangeInOrder,
} from "../schemas";
import { validationHook } from "../validation";

const readers = accountAuth("admin", "finance", "member");

const ValueQuery = z
  .strictObject({
    from: instant.optional().openapi({ description: "Inclusive start of the range." }),
    to: instant.optional().openapi({ description: "Exclusive end of the range." }),
    group_by: z.enum(VALUE_GROUP_KEYS).default("action"),
  })
  .refine(rangeInOrder, inverted);

const money = (what: string) =>
  z.number().openapi({ description: `${what}, in \`currency\`, rounded to cents` });

const Measures = z.object({
  credits: z.number().int().openapi({ description: "Credits captured" }),
  units: z.number().int().openapi({ description: "Units charged (deduplicated calls: 0)" }),
  calls: z
    .number()
    .int()
    .openapi({ description: "Captured calls that did work (not `deduplicated`)" }),
  creditsSaved: z
    .number()
    .int()
    .openapi({ description: "Credits the records skipped by dedupe would have cost" }),
  creditCost: money("credits x creditPrice"),
  manualMinutes: z.number().openapi({
    description:
      "Minutes a person would have spent: units (or calls, `manualPer: call`) x the action's `manualMinutes`",
  }),
  manualHours: z.number().openapi({ description: "manualMinutes / 60, to 2 decimals" }),
  manualCost: money("manual hours x hourlyCost"),
  ratio: z.number().nullable().openapi({
    description: "manualCost / creditCost, to 2 decimals; null when the credits cost nothing",
  }),
});

const ValueReport = z
  .object({
    groupBy: z.enum(VALUE_GROUP_KEYS),
    from: z.string().nullable(),
    to: z.string().nullable(),
    currency: z.string(),
    creditPrice: z.number(),
    hourlyCost: z.number(),
    groups: z.array(
      Measures.extend({
        action: z.string().optional(),
        teamId: z.string().nullable().optional(),
        memberId: z.string().nullable().optional(),
      }),
    ),
    totals: Measures,
    withoutManualMinutes: z.array(z.string()).openapi({
      description: "Actions of the range without `manualMinutes` in the configuration: 0 minutes",
    }),
  })
  .openapi("UsageValue");

const route = createRoute({
  method: "get",
  path: "/usage/value",
  operationId: "getUsageValue",
  tags: ["usage"],
  summary: "What a range's credits cost against the same work by hand, by action, team or member",
  description:
    "Money is rounded to cents, hours and the ratio to 2 decimals, each from unrounded sums. Archived days count their credits and units but no saved credits.",
  middleware: [readers] as const,
  request: { query: ValueQuery },
  responses: {
    200: json(ValueReport, "The report"),
    ...problemResponses,
    409: conflictResponse(
      "No value to report in: the configuration declares none and the account set none (`conflict`)",
    ),
  },
});

export function usageValueRoutes(catalog: Catalog) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(route, async (c) => {
    const q = c.req.valid("query");
    const principal = c.get("principal");
    if (principal.role === "member" && principal.memberId === null) {
      throw new Problem("forbidden", "This key has no member.");
    }
    const filter: UsageFilter = {
      accountId: c.get("accountId"),
      from: isoInstant(q.from, "from"),
      to: isoInstant(q.to, "to"),
      team: null,
      member: principal.role === "member" ? principal.memberId : null,
      action: null,
      category: null,
      outcome: "captured",
      tags: [],
    };
    const settings = await c.var.ledger.valueSettings();
    if (!settings) throw new Problem("not_found", "Account not found.");
    const value = settings.effective;
    if (!value) {
      throw new Problem(
        "conflict",
        "The configuration declares no value (creditPrice, hourlyCost, currency) and this account has set none: an admin can set them with PUT /v1/value/settings.",
        { field: "value" },
      );
    }
    const report = await valueReport(c.env.DB, filter, q.group_by, catalog.config.actions, value);
    if (report.tooMany) {
      throw new Problem(
        "bad_request",
        `More than ${MAX_VALUE_ROWS} groups and actions: narrow the range.`,
      );
    }
    const field = VALUE_GROUP_FIELD[q.group_by];
    const groups = report.groups.map(({ key, ...m }): ValueMeasures & Record<string, unknown> => ({
      [field]: key,
      ...m,
    }));
    c.header("cache-control", "no-store");
    return c.json(
      {
        groupBy: q.group_by,
        from: filter.from,
        to: filter.to,
        ...value,
        groups: groups as z.infer<typeof ValueReport>["groups"],
        totals: report.totals,
        withoutManualMinutes: report.withoutManualMinutes,
      },
      200,
    );
  });
  return app;
}
