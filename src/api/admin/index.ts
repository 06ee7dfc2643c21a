/** The operator API under /admin/v1. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { type Catalog, describeAction } from "../../catalog";
import { ledgerClient } from "../../ledger/client";
import { Problem } from "../../lib/problem";
import { managementBodyLimit, operatorAuth } from "../auth";
import type { AppEnv } from "../context";
import { issueKey } from "../keys-service";
import {
  CreatedKey,
  CreateGrant,
  CreateKey,
  Grant,
  IdParam,
  json,
  jsonBody,
  problemResponses,
} from "../schemas";
import { validationHook } from "../validation";
import { accountAdminRoutes, requireAccount } from "./accounts";
import { demoAdminRoutes } from "./demo";
import { usageAdminRoutes } from "./usage";

const grant = createRoute({
  method: "post",
  path: "/accounts/{id}/grants",
  operationId: "issueGrant",
  tags: ["operator"],
  summary: "Issue a grant (pack, promo or adjustment)",
  request: { params: IdParam, body: jsonBody(CreateGrant) },
  responses: { 201: json(Grant, "The new grant"), ...problemResponses },
});

const bootstrapKey = createRoute({
  method: "post",
  path: "/accounts/{id}/keys",
  operationId: "createAccountKey",
  tags: ["operator"],
  summary: "Create an account key (bootstrap the first admin key)",
  request: { params: IdParam, body: jsonBody(CreateKey) },
  responses: {
    201: json(CreatedKey, "The key; its secret is shown only here"),
    ...problemResponses,
  },
});

const catalogRoute = createRoute({
  method: "get",
  path: "/catalog",
  operationId: "getCatalog",
  tags: ["operator"],
  summary: "The priced actions and the plans of the configuration",
  responses: {
    200: json(
      z.object({
        actions: z.array(z.record(z.string(), z.unknown())),
        plans: z.array(z.record(z.string(), z.unknown())),
      }),
      "The catalog",
    ),
    ...problemResponses,
  },
});

export function adminRoutes(catalog: Catalog) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use("*", operatorAuth, managementBodyLimit);

  app.openapi(grant, async (c) => {
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const effectiveAt = input.effectiveAt ? Date.parse(input.effectiveAt) : Date.now();
    const expiresAt = input.expiresAt ? Date.parse(input.expiresAt) : null;
    if (expiresAt !== null && (expiresAt <= effectiveAt || expiresAt <= Date.now())) {
      throw new Problem(
        "validation_failed",
        "expiresAt must be in the future and after effectiveAt.",
        {
          field: "expiresAt",
        },
      );
    }
    await requireAccount(c.env, id);
    const view = await ledgerClient(c.env, id).issueGrant({
      amount: input.amount,
      source: input.source,
      priority: input.priority,
      effectiveAt,
      expiresAt,
      note: input.note,
    });
    return c.json(view, 201);
  });

  app.openapi(bootstrapKey, async (c) => {
    const { id } = c.req.valid("param");
    await requireAccount(c.env, id);
    return c.json(await issueKey(c.env, id, c.req.valid("json")), 201);
  });

  app.openapi(catalogRoute, (c) =>
    c.json(
      {
        actions: catalog.actions.map((action) => describeAction(catalog, action)),
        plans: catalog.config.plans.map((plan) => ({ ...plan, includes: [...plan.includes] })),
      },
      200,
    ),
  );

  app.route("/", accountAdminRoutes(catalog));
  app.route("/", usageAdminRoutes());
  app.route("/", demoAdminRoutes(catalog));
  return app;
}
