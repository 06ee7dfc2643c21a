/**
 * The API document and its page, both public: OpenAPI 3.1 at `/openapi.json`, generated from the
 * zod schemas the routes validate with (the app's OpenAPI registry) plus one operation per priced
 * catalog action, and an interactive page at `/docs` that renders it with no outside script.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Catalog } from "../catalog";
import { ALERT_KINDS } from "../ledger/contract";
import { Alert } from "./account/alerts";
import type { AppEnv } from "./context";
import { docsPage } from "./docs-page";
import { type ApiDocument, proxyDocument } from "./docs-proxy";
import { noInputProblems } from "./schemas";

/** The gateway's version, as in package.json (a worker cannot read that file). */
export const API_VERSION = "0.1.0";

const DESCRIPTION = `The creditgate gateway: priced feature calls (the proxy) metered in credits, the operator API under \`/admin/v1\` and the account API under \`/v1\`.

**Auth**: the operator API takes \`Authorization: Bearer $OPERATOR_TOKEN\` (\`operatorToken\`); the account API and the proxy take an account key \`Authorization: Bearer cg_<accountId>_<secret>\` (\`accountKey\`), whose role (admin, finance, member) decides what it may call.

**Errors**: every error of every route is \`application/problem+json\` (RFC 9457, schema \`Problem\`) with a stable \`code\` and the \`requestId\`, also sent as \`X-Request-Id\`.

**Proxy**: each catalog action answers at its own path with \`X-Credits-Action\`, \`X-Credits-Charged\` and \`X-Credits-Remaining\`; send \`Idempotency-Key\` to retry safely, \`X-Credit-Dry-Run: true\` for a quote, \`X-Credit-Purpose\` where a team requires one.`;

const SECURITY_SCHEMES = {
  operatorToken: {
    type: "http",
    scheme: "bearer",
    description: "The platform operator's token (the `OPERATOR_TOKEN` secret).",
  },
  accountKey: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "cg_<accountId>_<secret>",
    description: "An account API key; its role (admin, finance, member) decides what it may do.",
  },
  // How a webhook receiver knows an alert is the gateway's. OpenAPI has no scheme type for a
  // signature over the request, so this is the nearest it allows: the header the proof is in.
  webhookSignature: {
    type: "apiKey",
    in: "header",
    name: "webhook-signature",
    description:
      "Standard Webhooks signature, on the alerts the gateway sends (`webhooks`), not a key to send to it: `v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the webhook secret (`whsec_` + base64, from `PUT /v1/webhook`). The receiver recomputes it, compares in constant time and rejects stale timestamps; any Standard Webhooks library does this.",
  },
} as const;

const OPERATIONS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
type PathItem = NonNullable<ApiDocument["paths"]>[string];
type Operation = NonNullable<PathItem["get"]>;

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

/** Who may call a management path: the mount decides (operator auth on all of /admin/v1). */
function securityFor(path: string): Operation["security"] {
  if (path.startsWith("/admin/v1/")) return [{ operatorToken: [] }];
  if (path.startsWith("/v1/")) return [{ accountKey: [] }];
  return undefined;
}

/** What every route can also answer, beyond what its own definition lists. */
function addSharedErrors(operation: Operation, path: string): void {
  operation.responses ??= {};
  const responses = operation.responses;
  responses[500] ??= problem("Internal error (`internal_error`): only the request id is shown");
  // Account routes and the operator's routes of one account reach its ledger.
  if (path.startsWith("/v1/") || path.startsWith("/admin/v1/accounts/")) {
    responses[503] ??= problem("The account's ledger is unavailable (`ledger_unavailable`)");
  }
  const body = operation.requestBody;
  if (body && "content" in body && body.content["application/json"]) {
    responses[415] ??= problem("The body is not JSON (`unsupported_media_type`)");
  }
}

/** What the account's webhook receives for each alert (README "Webhook"). */
const AlertDelivery = z
  .object({
    type: z
      .enum(ALERT_KINDS.map((k) => `alert.${k}`) as [string, ...string[]])
      .openapi({ description: "`alert.` + the alert's kind" }),
    timestamp: z.string().openapi({ description: "When the alert fired (ISO 8601)" }),
    data: Alert,
  })
  .openapi("AlertDelivery");

function registerWebhooks(app: OpenAPIHono<AppEnv>): void {
  const header = (description: string) => ({ param: { description } });
  app.openAPIRegistry.registerWebhook({
    method: "post",
    path: "alert",
    operationId: "deliverAlert",
    tags: ["alerts"],
    summary: "An alert, sent to the account's webhook (PUT /v1/webhook)",
    description:
      "Signed per Standard Webhooks (security scheme `webhookSignature`). Retried with backoff (30 s doubling, capped at 6 h, 12 attempts) until the receiver answers 2xx; every attempt of a message has the same `webhook-id`.",
    security: [{ webhookSignature: [] }],
    request: {
      headers: z.object({
        "webhook-id": z.string().openapi(header("The message id: the same on every attempt")),
        "webhook-timestamp": z.string().openapi(header("Unix seconds of this attempt")),
        "webhook-signature": z
          .string()
          .openapi(header("`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` with the secret")),
      }),
      body: { required: true, content: { "application/json": { schema: AlertDelivery } } },
    },
    responses: {
      "2XX": { description: "Delivered: any 2xx, whatever the body" },
      default: {
        description:
          "Any other status (a 3xx is not followed), a timeout (10 s) or a connection error: the attempt failed and is retried",
      },
    },
  });
}

/** The whole document: the app's routes, completed, then the proxy's actions beside them. */
export function buildDocument(app: OpenAPIHono<AppEnv>, catalog: Catalog): ApiDocument {
  registerWebhooks(app);
  const doc = app.getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: "creditgate", version: API_VERSION, description: DESCRIPTION },
    servers: [{ url: "/" }],
  });
  doc.paths ??= {};
  const paths = doc.paths;
  for (const [path, item] of Object.entries(paths)) {
    for (const method of OPERATIONS) {
      const operation = item[method];
      if (!operation) continue;
      operation.security ??= securityFor(path);
      addSharedErrors(operation, path);
    }
  }
  const proxy = proxyDocument(catalog);
  for (const [path, item] of Object.entries(proxy.paths ?? {})) {
    paths[path] ??= {};
    const target = paths[path];
    for (const method of OPERATIONS) {
      // A management route registered at the same method and path answers before the proxy.
      if (item[method] && !target[method]) target[method] = item[method];
    }
  }
  const mine = doc.components ?? {};
  const theirs = proxy.components ?? {};
  doc.components = {
    ...mine,
    schemas: { ...theirs.schemas, ...mine.schemas },
    headers: { ...theirs.headers, ...mine.headers },
    securitySchemes: { ...mine.securitySchemes, ...SECURITY_SCHEMES },
  };
  return doc;
}

const documentRoute = createRoute({
  method: "get",
  path: "/openapi.json",
  operationId: "getApiDocument",
  tags: ["docs"],
  summary: "This API document (OpenAPI 3.1)",
  security: [],
  responses: {
    200: {
      description: "The OpenAPI 3.1 document",
      content: { "application/json": { schema: z.looseObject({ openapi: z.string() }) } },
    },
    ...noInputProblems,
  },
});

const pageRoute = createRoute({
  method: "get",
  path: "/docs",
  operationId: "getDocsPage",
  tags: ["docs"],
  summary: "Interactive API docs (HTML) for this document",
  security: [],
  responses: {
    200: { description: "The docs page", content: { "text/html": { schema: z.string() } } },
    ...noInputProblems,
  },
});

/** Mounts `/openapi.json` and `/docs` (public, GET only); call before the proxy's catch-all. */
export function mountDocs(app: OpenAPIHono<AppEnv>, catalog: Catalog): void {
  let cached: ApiDocument | undefined;
  app.openapi(documentRoute, (c) => {
    cached ??= buildDocument(app, catalog);
    return c.json({ ...cached }, 200);
  });
  app.openapi(pageRoute, (c) => {
    const nonce = crypto.randomUUID().replaceAll("-", "");
    return c.html(docsPage(nonce), 200, {
      "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    });
  });
}
