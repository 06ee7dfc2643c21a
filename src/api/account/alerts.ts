/**
 * Account API: alert settings and the alerts fired (SPEC §8, issue 6). Alerts are decided in
 * the ledger's debit transaction; these routes read and configure them.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ALERT_KINDS, ALERT_SCOPES } from "../../ledger/contract";
import { Problem } from "../../lib/problem";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { pageOf, positionOf } from "../newest-first";
import {
  credits,
  entityId,
  instant,
  inverted,
  json,
  jsonBody,
  ListQuery,
  problemResponses,
  rangeInOrder,
} from "../schemas";
import { validationHook } from "../validation";

const readers = accountAuth("admin", "finance");
const admins = accountAuth("admin");

export const AlertSettings = z
  .strictObject({
    thresholds: z
      .array(z.number().int().min(1).max(100))
      .max(10)
      .refine((t) => new Set(t).size === t.length, "thresholds must be distinct")
      .openapi({ description: "Percent of a scope's credits for the period; [] turns them off." }),
    spike: z.strictObject({
      enabled: z.boolean(),
      factor: z.number().min(1.5).max(100),
      floorCredits: credits,
    }),
    forecast: z.strictObject({ enabled: z.boolean() }),
    depleted: z.strictObject({ enabled: z.boolean() }),
    deniedBurst: z.strictObject({
      enabled: z.boolean(),
      count: z.number().int().min(2).max(100_000),
      windowMinutes: z.number().int().min(1).max(1440),
    }),
  })
  .openapi("AlertSettings");

export const Alert = z
  .object({
    id: z.string(),
    kind: z.enum(ALERT_KINDS),
    scope: z.enum(ALERT_SCOPES),
    scopeId: z.string(),
    threshold: z.number().int().nullable(),
    periodStart: z.string(),
    firedAt: z.string(),
    requestId: z.string().nullable(),
    detail: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
  })
  .openapi("Alert");

const AlertsQuery = ListQuery.extend({
  kind: z.enum(ALERT_KINDS).optional(),
  scope: z.enum(ALERT_SCOPES).optional(),
  scopeId: entityId
    .optional()
    .openapi({ description: "The account's, a team's or a member's id." }),
  from: instant.optional().openapi({ description: "Fired at or after this time." }),
  to: instant.optional().openapi({ description: "Fired before this time." }),
}).refine(rangeInOrder, inverted);

const readSettings = createRoute({
  method: "get",
  path: "/alerts/settings",
  operationId: "getAlertSettings",
  tags: ["alerts"],
  summary: "The account's alert settings (defaults until changed)",
  middleware: [readers] as const,
  responses: { 200: json(AlertSettings, "The settings"), ...problemResponses },
});

const writeSettings = createRoute({
  method: "put",
  path: "/alerts/settings",
  operationId: "replaceAlertSettings",
  tags: ["alerts"],
  summary: "Replace the account's alert settings (from the next debit on)",
  middleware: [admins] as const,
  request: { body: jsonBody(AlertSettings) },
  responses: { 200: json(AlertSettings, "The settings now"), ...problemResponses },
});

const list = createRoute({
  method: "get",
  path: "/alerts",
  operationId: "listAlerts",
  tags: ["alerts"],
  summary: "Alerts fired, newest first; filter by kind, scope, scope id and time",
  middleware: [readers] as const,
  request: { query: AlertsQuery },
  responses: {
    200: json(
      z.object({ data: z.array(Alert), nextCursor: z.string().nullable() }).openapi("AlertList"),
      "A page of alerts",
    ),
    ...problemResponses,
  },
});

export function alertRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(readSettings, async (c) => {
    const settings = await c.var.ledger.alertSettings();
    if (!settings) throw new Problem("not_found", "Account not found.");
    return c.json(settings, 200);
  });
  app.openapi(writeSettings, async (c) => {
    const input = c.req.valid("json");
    const settings = { ...input, thresholds: [...input.thresholds].sort((a, b) => a - b) };
    return c.json(await c.var.ledger.setAlertSettings(settings), 200);
  });
  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    const before = positionOf(q.cursor, "alert");
    const rows = await c.var.ledger.alerts({
      kind: q.kind ?? null,
      scope: q.scope ?? null,
      scopeId: q.scopeId ?? null,
      from: q.from === undefined ? null : Date.parse(q.from),
      to: q.to === undefined ? null : Date.parse(q.to),
      before,
      limit: q.limit + 1,
    });
    return c.json(
      pageOf(rows, q.limit, (r) => r.firedAt),
      200,
    );
  });
  return app;
}
