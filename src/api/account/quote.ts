/** Account API: what an action would cost the calling member now, and whether it would pass. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { type Catalog, termsOf } from "../../catalog";
import { priceAt } from "../../config/price";
import { sha256Hex } from "../../lib/hash";
import { bearerToken } from "../../lib/keys";
import { Problem } from "../../lib/problem";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { json, problemResponses } from "../schemas";
import { validationHook } from "../validation";

const QuoteQuery = z.strictObject({
  action: z.string().min(1).max(64),
  units: z.coerce.number().int().min(1).max(1_000_000_000).optional(),
});

const Quote = z
  .object({
    action: z.string(),
    units: z.number().int(),
    credits: z.number().int(),
    settlement: z.string(),
    allowed: z.boolean(),
    available: z.number().int().nullable(),
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
    const units = action.settlement === "metered" ? maxUnits : (query.units ?? 1);
    if (units > maxUnits) {
      throw new Problem("invalid_units", `${action.id} takes at most ${maxUnits} units.`, {
        field: "units",
      });
    }
    const terms = termsOf(catalog.config, action, price, units);
    const credits = terms.holdCredits;
    const key = bearerToken(c.req.header("authorization")) ?? "";
    const decision = await c.var.ledger.admit({
      keyHash: await sha256Hex(key),
      requestId: c.get("requestId"),
      action: terms,
      purpose: c.req.header("x-credit-purpose") ?? null,
      idempotency: null,
      dryRun: true,
    });
    const base = { action: action.id, units, credits, settlement: action.settlement };
    if (decision.kind === "quote") {
      return c.json({ ...base, allowed: true, available: decision.available, denial: null }, 200);
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
