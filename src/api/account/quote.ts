/** Account API: what an action would cost the calling member now, and whether it would pass. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { type Action, type Catalog, termsOf } from "../../catalog";
import { priceAt } from "../../config/price";
import { sha256Hex } from "../../lib/hash";
import { bearerToken } from "../../lib/keys";
import { Problem } from "../../lib/problem";
import { readRecords } from "../../proxy/dedupe";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { json, problemResponses } from "../schemas";
import { validationHook } from "../validation";

const QuoteQuery = z.strictObject({
  action: z.string().min(1).max(64),
  units: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000_000)
    .optional()
    .openapi({ description: "Records or units of the call (default: as many as `keys`, else 1)" }),
  keys: z.string().min(1).max(16_000).optional().openapi({
    description:
      "For an action with dedupe: the records' keys, comma-separated (e.g. `acme.com,globex.com`). The quote then says how many records would be charged and skipped; records counted by `units` beyond these have no key.",
  }),
});

const Quote = z
  .object({
    action: z.string(),
    units: z.number().int(),
    credits: z.number().int(),
    settlement: z.string(),
    allowed: z.boolean(),
    available: z.number().int().nullable(),
    records: z.object({ charged: z.number().int(), skipped: z.number().int() }).optional().openapi({
      description: "With `keys` on an action with dedupe: records charged and skipped",
    }),
    creditsSaved: z.number().int().optional(),
    denial: z
      .object({ code: z.string(), detail: z.string(), rule: z.string().optional() })
      .passthrough()
      .nullable(),
  })
  .openapi("Quote");

const quote = createRoute({
  method: "get",
  path: "/quote",
  operationId: "getQuote",
  tags: ["balance"],
  summary: "Price of an action for the calling member, and whether it would be admitted now",
  middleware: [accountAuth("member")] as const,
  request: { query: QuoteQuery },
  responses: { 200: json(Quote, "The quote; nothing is held"), ...problemResponses },
});

/** The body field that holds an action's records (its unit's field). */
function recordsField(action: Action): string {
  return "unit" in action.price && action.price.unit.from === "body"
    ? action.price.unit.field
    : "records";
}

export function quoteRoutes(catalog: Catalog) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(quote, async (c) => {
    const query = c.req.valid("query");
    const action = catalog.action(query.action);
    if (!action)
      throw new Problem("validation_failed", `Unknown action ${query.action}.`, {
        field: "action",
      });
    // The price in force now: what a call made now would be charged.
    const price = priceAt(action, Date.now());
    const maxUnits = "unit" in price ? price.maxUnits : 1;
    const keys = query.keys?.split(",") ?? [];
    if (keys.length > 0 && !action.dedupe) {
      throw new Problem("validation_failed", `${action.id} does not deduplicate records.`, {
        field: "keys",
      });
    }
    const units =
      action.settlement === "metered" ? maxUnits : (query.units ?? Math.max(keys.length, 1));
    if (units > maxUnits) {
      throw new Problem("invalid_units", `${action.id} takes at most ${maxUnits} units.`, {
        field: "units",
      });
    }
    if (keys.length > units) {
      throw new Problem(
        "validation_failed",
        `keys lists ${keys.length} records but units is ${units}.`,
        {
          field: "keys",
        },
      );
    }
    const terms = termsOf(catalog.config, action, price, units);
    const dedupe = action.dedupe
      ? await readRecords(
          action,
          { [recordsField(action)]: keys.map((k) => ({ [action.dedupe?.key ?? ""]: k })) },
          c.get("accountId"),
        )
      : null;
    if (dedupe) dedupe.request.unkeyed += units - keys.length;
    const key = bearerToken(c.req.header("authorization")) ?? "";
    const decision = await c.var.ledger.admit({
      keyHash: await sha256Hex(key),
      requestId: c.get("requestId"),
      action: terms,
      purpose: c.req.header("x-credit-purpose") ?? null,
      idempotency: null,
      dryRun: true,
      dedupe: dedupe?.request ?? null,
    });
    const base = {
      action: action.id,
      units,
      credits: terms.holdCredits,
      settlement: action.settlement,
    };
    if (decision.kind === "quote") {
      const d = decision.dedupe;
      return c.json(
        {
          ...base,
          units: decision.units,
          credits: decision.credits,
          allowed: true,
          available: decision.available,
          denial: null,
          ...(d
            ? { records: { charged: d.charged, skipped: d.skipped }, creditsSaved: d.saved }
            : {}),
        },
        200,
      );
    }
    if (decision.kind === "denied") {
      const { code, detail, extras } = decision.problem;
      return c.json(
        { ...base, allowed: false, available: null, denial: { ...extras, code, detail } },
        200,
      );
    }
    throw new Error(`unexpected dry-run decision ${decision.kind}`);
  });
  return app;
}
