/**
 * Account API: the value report's settings (issue 16). The configuration may declare what a
 * credit costs and what an hour of manual work costs (`value`); an admin may set the account's
 * own hourly cost and currency over them, with a credit price in that currency when it is not
 * the configuration's. The ledger decides (ledger/core/value.ts) and refuses as data.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { Problem } from "../../lib/problem";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { json, jsonBody, problemResponses } from "../schemas";
import { validationHook } from "../validation";

const readers = accountAuth("admin", "finance");
const admins = accountAuth("admin");

/** ISO 4217 codes the runtime knows, when it can list them (an empty list checks nothing). */
const KNOWN_CURRENCIES: ReadonlySet<string> = new Set(
  typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("currency") : [],
);

/** A positive amount of money, as the configuration's `value` takes it. */
const amount = z.number().positive().max(1_000_000);
export const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, "an ISO 4217 currency code in capitals, such as USD or EUR")
  .refine((c) => KNOWN_CURRENCIES.size === 0 || KNOWN_CURRENCIES.has(c), {
    message: "not an ISO 4217 currency code",
  });

export const ValueFigures = z
  .object({ creditPrice: z.number(), hourlyCost: z.number(), currency: z.string() })
  .openapi("ValueFigures");

const SetValueSettings = z
  .strictObject({
    hourlyCost: amount.nullable().openapi({
      description:
        "What an hour of a person's work costs, in `currency`; null: the configuration's",
    }),
    currency: currency.nullable().openapi({
      description: "ISO 4217; null: the configuration's",
      example: "EUR",
    }),
    creditPrice: amount.nullable().optional().openapi({
      description:
        "What one credit costs, in `currency`; left out or null: the configuration's. Required with a currency other than the configuration's (its credit price is in its own currency).",
    }),
  })
  .openapi("SetValueSettings");

const ValueSettings = z
  .object({
    hourlyCost: z.number().nullable(),
    currency: z.string().nullable(),
    creditPrice: z.number().nullable(),
    configuration: ValueFigures.nullable().openapi({
      description: "The configuration's `value`; null when it declares none.",
    }),
    effective: ValueFigures.nullable().openapi({
      description:
        "What the value report uses: the account's settings over the configuration's; null when there is no whole value.",
    }),
  })
  .openapi("ValueSettings");

const read = createRoute({
  method: "get",
  path: "/value/settings",
  operationId: "getValueSettings",
  tags: ["usage"],
  summary: "The value report's settings: the account's own, the configuration's, and the result",
  middleware: [readers] as const,
  responses: { 200: json(ValueSettings, "The settings"), ...problemResponses },
});

const write = createRoute({
  method: "put",
  path: "/value/settings",
  operationId: "replaceValueSettings",
  tags: ["usage"],
  summary: "Set the account's hourly cost and currency (and credit price) for the value report",
  description:
    "Replaces the account's own settings; a null field falls back to the configuration's. A currency other than the configuration's needs `hourlyCost` and `creditPrice` in it.",
  middleware: [admins] as const,
  request: { body: jsonBody(SetValueSettings) },
  responses: { 200: json(ValueSettings, "The settings now"), ...problemResponses },
});

export function valueSettingsRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(read, async (c) => {
    const view = await c.var.ledger.valueSettings();
    if (!view) throw new Problem("not_found", "Account not found.");
    return c.json(view, 200);
  });
  app.openapi(write, async (c) => {
    const body = c.req.valid("json");
    const result = await c.var.ledger.setValueSettings({
      hourlyCost: body.hourlyCost,
      currency: body.currency,
      creditPrice: body.creditPrice ?? null,
    });
    if (!result) throw new Problem("not_found", "Account not found.");
    if (!result.ok) throw Problem.from(result.problem);
    return c.json(result.value, 200);
  });
  return app;
}
