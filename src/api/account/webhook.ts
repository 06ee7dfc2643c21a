/**
 * Account API: the webhook alerts are sent to, and its delivery log (SPEC §8, issue 6).
 * Deliveries are signed per the Standard Webhooks spec with the account's secret.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { Problem } from "../../lib/problem";
import { newWebhookSecret, parseWebhookSecret } from "../../webhooks/sign";
import { checkWebhookUrl } from "../../webhooks/url";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { pageOf, positionOf } from "../newest-first";
import { json, jsonBody, ListQuery, problemResponses } from "../schemas";
import { validationHook } from "../validation";

const readers = accountAuth("admin", "finance");
const admins = accountAuth("admin");

const SetWebhook = z
  .strictObject({
    url: z.string().min(1).max(2048),
    secret: z
      .string()
      .max(200)
      .optional()
      .openapi({ description: "`whsec_` + base64 of 24 to 64 bytes; generated when left out." }),
  })
  .openapi("SetWebhook");

const Webhook = z
  .object({
    url: z.string().nullable().openapi({ description: "null: no webhook is set." }),
    secretPrefix: z.string().nullable(),
    updatedAt: z.string().nullable(),
  })
  .openapi("Webhook");

const WebhookSet = z
  .object({
    url: z.string(),
    secret: z.string().openapi({ description: "The signing secret: shown only here." }),
  })
  .openapi("WebhookSet");

const Delivery = z
  .object({
    id: z.string().openapi({ description: "The `webhook-id` of every attempt." }),
    alertId: z.string(),
    type: z.string(),
    state: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("WebhookDelivery");

const put = createRoute({
  method: "put",
  path: "/webhook",
  operationId: "setWebhook",
  tags: ["alerts"],
  summary: "Set the URL alerts are sent to, and its signing secret",
  middleware: [admins] as const,
  request: { body: jsonBody(SetWebhook) },
  responses: { 200: json(WebhookSet, "The webhook and its secret"), ...problemResponses },
});

const read = createRoute({
  method: "get",
  path: "/webhook",
  operationId: "getWebhook",
  tags: ["alerts"],
  summary: "The webhook alerts are sent to (the secret's prefix only; url null when none)",
  middleware: [readers] as const,
  responses: { 200: json(Webhook, "The webhook"), ...problemResponses },
});

const remove = createRoute({
  method: "delete",
  path: "/webhook",
  operationId: "deleteWebhook",
  tags: ["alerts"],
  summary: "Stop sending alerts to a webhook",
  middleware: [admins] as const,
  responses: { 204: { description: "Removed" }, ...problemResponses },
});

const deliveries = createRoute({
  method: "get",
  path: "/webhook/deliveries",
  operationId: "listWebhookDeliveries",
  tags: ["alerts"],
  summary: "The delivery log, newest first: state, attempts, last status and error",
  middleware: [readers] as const,
  request: { query: ListQuery },
  responses: {
    200: json(
      z
        .object({ data: z.array(Delivery), nextCursor: z.string().nullable() })
        .openapi("WebhookDeliveryList"),
      "A page of deliveries",
    ),
    ...problemResponses,
  },
});

export function webhookRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(put, async (c) => {
    const input = c.req.valid("json");
    const checked = checkWebhookUrl(input.url, {
      // Local development may send to http and local hosts; a deployed gateway never does.
      allowInsecure: c.var.settings.webhookAllowInsecure,
      gatewayHosts: [new URL(c.req.url).hostname],
    });
    if (!checked.ok) {
      throw new Problem("validation_failed", `url: ${checked.detail}`, { field: "url" });
    }
    const secret = input.secret ?? newWebhookSecret();
    if (!parseWebhookSecret(secret)) {
      throw new Problem("validation_failed", "secret: `whsec_` and base64 of 24 to 64 bytes.", {
        field: "secret",
      });
    }
    await c.var.ledger.setWebhook({ url: checked.url, secret });
    return c.json({ url: checked.url, secret }, 200);
  });
  app.openapi(read, async (c) => {
    const hook = await c.var.ledger.webhook();
    return c.json(hook ?? { url: null, secretPrefix: null, updatedAt: null }, 200);
  });
  app.openapi(remove, async (c) => {
    await c.var.ledger.setWebhook(null);
    return c.body(null, 204);
  });
  app.openapi(deliveries, async (c) => {
    const q = c.req.valid("query");
    const before = positionOf(q.cursor, "msg");
    const rows = await c.var.ledger.deliveries({
      before,
      limit: q.limit + 1,
    });
    return c.json(
      pageOf(rows, q.limit, (r) => r.createdAt),
      200,
    );
  });
  return app;
}
