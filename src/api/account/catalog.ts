/**
 * Account API: the account's catalog (every role). What its plan includes, with each action's
 * price now and its scheduled changes, and what it does not include, with the plans that would:
 * so a person learns what consumes credits, and how much, before spending any.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Catalog } from "../../catalog";
import { priceAt, upcomingPrices } from "../../config/price";
import { type Action, NO_SEAT } from "../../config/schema";
import { Problem } from "../../lib/problem";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { json, problemResponses } from "../schemas";
import { validationHook } from "../validation";

const Price = z.record(z.string(), z.unknown()).openapi({
  description: "A price as the configuration declares it: `{ credits }` per call, or per unit",
});

const CatalogAction = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    category: z.string(),
    method: z.string(),
    path: z.string(),
    price: Price.openapi({ description: "The price in force now" }),
    settlement: z.enum(["on_success", "metered", "on_request"]),
    seat: z.string().nullable(),
    priceChanges: z.array(z.object({ from: z.string(), price: Price })),
  })
  .openapi("CatalogAction");

const AccountCatalog = z
  .object({
    plan: z.object({ id: z.string(), name: z.string(), includedCredits: z.number().int() }),
    seats: z.array(z.string()).openapi({
      description: `The seats a member can hold: the configuration's, then \`${NO_SEAT}\``,
    }),
    categories: z.array(z.string()).openapi({ description: "The configuration's categories" }),
    included: z.array(CatalogAction),
    notIncluded: z.array(
      CatalogAction.extend({
        plans: z.array(z.string()).openapi({ description: "The plans that include it" }),
      }),
    ),
  })
  .openapi("AccountCatalog");

const read = createRoute({
  method: "get",
  path: "/catalog",
  operationId: "getAccountCatalog",
  tags: ["catalog"],
  summary: "What the account's plan includes and what each action costs, now and scheduled",
  middleware: [accountAuth("admin", "finance", "member")] as const,
  responses: { 200: json(AccountCatalog, "The account's catalog"), ...problemResponses },
});

function view(action: Action, now: number) {
  return {
    id: action.id,
    name: action.name,
    description: action.description ?? null,
    category: action.category,
    method: action.method,
    path: action.path,
    price: structuredClone(priceAt(action, now)),
    settlement: action.settlement,
    seat: action.seat ?? null,
    priceChanges: upcomingPrices(action, now).map((change) => structuredClone(change)),
  };
}

export function catalogRoutes(catalog: Catalog) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(read, async (c) => {
    const account = await c.var.ledger.getAccount();
    if (!account) throw new Problem("not_found", "Account not found.");
    const now = Date.now();
    const plan = catalog.config.plan(account.plan);
    const included = [];
    const notIncluded = [];
    for (const action of catalog.actions) {
      const plans = catalog.config.plansIncluding(action);
      if (plans.includes(account.plan)) included.push(view(action, now));
      else notIncluded.push({ ...view(action, now), plans: [...plans] });
    }
    return c.json(
      {
        // A plan the configuration no longer declares includes nothing and issues nothing.
        plan: {
          id: account.plan,
          name: plan?.name ?? account.plan,
          includedCredits: plan?.includedCredits ?? 0,
        },
        seats: [...catalog.config.seats, NO_SEAT],
        categories: [...catalog.config.categories],
        included,
        notIncluded,
      },
      200,
    );
  });
  return app;
}
