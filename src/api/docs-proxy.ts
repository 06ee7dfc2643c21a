/**
 * The proxy in the API document: one operation per priced catalog action, generated from the
 * catalog the app serves, with the request headers the proxy reads, the credit headers it
 * answers with and the problem+json denials it can give.
 */
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { type Action, type Catalog, holdCredits } from "../catalog";
import { paramNames } from "../config/pattern";
import { IDEMPOTENCY_KEY, PARAM_VALUE, PURPOSE, TAGS_HINT } from "../lib/formats";
import { CREDIT_HEADERS, headerRefs, PROXY_DENIALS } from "./docs-proxy-answers";
import { Problem } from "./schemas";

/** The generated document's type, without importing the generator's own package. */
export type ApiDocument = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;

const ProxyHeaders = z.object({
  "Idempotency-Key": z
    .string()
    .regex(IDEMPOTENCY_KEY)
    .optional()
    .openapi({
      param: {
        description:
          "Makes the call safe to retry: a repeat with the same key and request replays the first outcome without charging again (`X-Credits-Replayed: true`); while the first is in flight a repeat gets 409 `idempotency_in_progress`; the same key with a different request gets 422 `idempotency_mismatch`.",
      },
    }),
  "X-Credit-Dry-Run": z
    .enum(["true", "false"])
    .optional()
    .openapi({
      param: {
        description:
          "`true`: decide and quote (`X-Credits-Quote`), reserve nothing and do not call the upstream.",
      },
    }),
  "X-Credit-Purpose": z
    .string()
    .regex(PURPOSE)
    .optional()
    .openapi({
      param: { description: "Why the call is made; required or restricted by some teams' rules." },
    }),
  "X-Credit-Tags": z
    .string()
    .max(512)
    .optional()
    .openapi({
      param: {
        description: `Tags recorded on the call's usage event, for the usage summary and attribution: ${TAGS_HINT}. Example: \`campaign=q4-outbound,source=crm\`.`,
      },
    }),
});

const RecordCounts = z.object({
  charged: z.number().int(),
  skipped: z.number().int(),
});

const SkippedRecord = z
  .object({
    index: z.number().int().openapi({ description: "The record's index in the request's array" }),
    reason: z.enum(["repeated", "enriched", "in_flight"]),
    firstIndex: z
      .number()
      .int()
      .optional()
      .openapi({ description: "`repeated`: the record with the same key" }),
    enrichedAt: z
      .string()
      .optional()
      .openapi({ description: "`enriched`: when the account was charged for it" }),
  })
  .openapi("SkippedRecord");

const DryRunQuote = z
  .object({
    dryRun: z.literal(true),
    allowed: z.literal(true),
    action: z.string(),
    units: z.number().int(),
    credits: z.number().int(),
    available: z.number().int(),
    records: RecordCounts.optional().openapi({
      description: "Actions with dedupe: records that would be charged and skipped",
    }),
    creditsSaved: z.number().int().optional(),
    skipped: z.array(SkippedRecord).optional(),
  })
  .openapi("DryRunQuote");

const AllSkipped = z
  .object({
    action: z.string(),
    charged: z.literal(0),
    records: RecordCounts,
    creditsSaved: z
      .number()
      .int()
      .openapi({ description: "What the skipped records would have cost" }),
    skipped: z.array(SkippedRecord),
  })
  .openapi("AllRecordsSkipped", {
    description:
      "Actions with dedupe, when every record was skipped: the gateway answers itself, charges nothing and does not call the upstream.",
  });

/** A dry-run quote, or whatever the upstream answered: its body is not the gateway's to type. */
const SuccessBody = {
  anyOf: [
    { $ref: "#/components/schemas/DryRunQuote" },
    { $ref: "#/components/schemas/AllRecordsSkipped" },
    {
      description:
        "The upstream's own answer, streamed back unchanged (a replay: its stored outcome).",
    },
  ],
};

const METHOD = {
  GET: "get",
  POST: "post",
  PUT: "put",
  PATCH: "patch",
  DELETE: "delete",
} as const;

/** "POST /v1/ai/agents/:agentId/conversations" -> "/v1/ai/agents/{agentId}/conversations". */
export function openApiPath(pattern: string): string {
  return pattern.replaceAll(/:([A-Za-z][A-Za-z0-9]*)/g, "{$1}");
}

type UnitSource = Extract<Action["price"], { unit: unknown }>["unit"];

function unitSource(unit: UnitSource): string {
  switch (unit.from) {
    case "body":
      return `the length of the JSON array \`${unit.field}\` in the body`;
    case "query":
      return `the query parameter \`${unit.param}\``;
    case "response_header":
      return `the upstream's \`${unit.header}\` response header`;
  }
}

const SETTLEMENT_TEXT: Record<Action["settlement"], string> = {
  on_success: "`on_success`: held at admission, captured on a 2xx answer, voided otherwise",
  metered: "`metered`: the largest hold at admission, the reported units captured on a 2xx",
  on_request: "`on_request`: charged at admission whatever the upstream answers",
};

/** The price and settlement of an action, in words. */
function priceText(catalog: Catalog, action: Action): string {
  const price = action.price;
  let cost = `${price.credits} credits per request`;
  if ("unit" in price) {
    const per = price.per === 1 ? "unit" : `${price.per} units (rounded up)`;
    const hold = holdCredits(price, price.maxUnits);
    cost = `${price.credits} credits per ${per}; units are ${unitSource(price.unit)}, at most ${price.maxUnits} (largest hold ${hold} credits)`;
  }
  const seat = action.seat ? `; seat \`${action.seat}\`` : "";
  const dedupe = action.dedupe
    ? ` **Dedupe**: each record is charged once per ${action.dedupe.windowDays} days by its \`${action.dedupe.key}\` (group \`${action.dedupe.group ?? action.id}\`); repeats and records already enriched are skipped, not forwarded, and listed in \`X-Credits-Skipped\`.`
    : "";
  return `**Price**: ${cost}. **Settlement**: ${SETTLEMENT_TEXT[action.settlement]}. **Plans**: ${plansText(catalog.config.plansIncluding(action))}${seat}. **Timeout**: ${action.timeoutMs} ms.${dedupe}`;
}

function plansText(plans: readonly string[]): string {
  return plans.length > 0 ? plans.map((p) => `\`${p}\``).join(", ") : "none (no plan includes it)";
}

function requestOf(action: Action) {
  const names = paramNames(action.path);
  const params =
    names.length > 0
      ? z.object(Object.fromEntries(names.map((n) => [n, z.string().regex(PARAM_VALUE)])))
      : undefined;
  const unit = "unit" in action.price ? action.price.unit : null;
  const maxUnits = "unit" in action.price ? action.price.maxUnits : 1;
  const query =
    unit?.from === "query"
      ? z.object({
          [unit.param]: z
            .string()
            .regex(/^[1-9][0-9]{0,9}$/)
            .openapi({
              description: `The unit count the call is priced by: 1 to ${maxUnits}.`,
            }),
        })
      : undefined;
  const body =
    unit?.from === "body"
      ? {
          required: true,
          content: {
            "application/json": {
              schema: z.looseObject({
                [unit.field]: z.array(z.unknown()).min(1).max(maxUnits).openapi({
                  description: "One item per unit priced; the rest of the body passes through.",
                }),
              }),
            },
          },
        }
      : undefined;
  return { params, query, headers: ProxyHeaders, body };
}

function responsesOf() {
  const problem = { "application/problem+json": { schema: Problem } };
  const errors = Object.fromEntries(
    Object.entries(PROXY_DENIALS).map(([status, d]) => [
      status,
      {
        description: `${d.description} Codes: ${d.codes.map((c) => `\`${c}\``).join(", ")}.`,
        headers: headerRefs(d.headers),
        content: problem,
      },
    ]),
  );
  return {
    200: {
      description:
        "The upstream's answer (its status and body pass through), with the credit headers; with `X-Credit-Dry-Run: true`, a quote; with a repeated Idempotency-Key, the first outcome replayed.",
      headers: headerRefs([
        "X-Request-Id",
        "X-Credits-Action",
        "X-Credits-Charged",
        "X-Credits-Remaining",
        "X-Credits-Replayed",
        "X-Credits-Original-Request-Id",
        "X-Credits-Quote",
        "X-Credits-Records-Charged",
        "X-Credits-Records-Skipped",
        "X-Credits-Skipped",
        "X-Credits-Skipped-Omitted",
      ]),
      content: { "application/json": { schema: SuccessBody } },
    },
    ...errors,
  };
}

/** `ai.agent_conversation` -> `callAiAgentConversation`: a priced action's operationId. */
export function actionOperationId(actionId: string): string {
  const words = actionId.split(/[._]+/).filter(Boolean);
  return `call${words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("")}`;
}

/**
 * The operationId of each action id, unique and stable: the camel-case form, or, for the rare ids
 * that share one (`a_b.c` and `a.b_c`), the action id itself, which the catalog keeps unique and
 * which no other operationId has (only action ids have a dot).
 */
export function actionOperationIds(actionIds: readonly string[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const id of actionIds) {
    const derived = actionOperationId(id);
    count.set(derived, (count.get(derived) ?? 0) + 1);
  }
  return new Map(
    actionIds.map((id) => {
      const derived = actionOperationId(id);
      return [id, count.get(derived) === 1 ? derived : id];
    }),
  );
}

/** The proxy's part of the document: a path item per catalog action, and its components. */
export function proxyDocument(catalog: Catalog): ApiDocument {
  const scratch = new OpenAPIHono();
  const registry = scratch.openAPIRegistry;
  registry.register("DryRunQuote", DryRunQuote);
  registry.register("AllRecordsSkipped", AllSkipped);
  for (const [name, header] of Object.entries(CREDIT_HEADERS)) {
    registry.registerComponent("headers", name, header);
  }
  const operationIds = actionOperationIds(catalog.actions.map((a) => a.id));
  for (const action of catalog.actions) {
    registry.registerPath({
      method: METHOD[action.method],
      path: openApiPath(action.path),
      operationId: operationIds.get(action.id),
      // The id the call answers with in `X-Credits-Action`, as data for clients and tools.
      "x-credits-action": action.id,
      tags: ["proxy"],
      summary: action.name,
      description: [action.description ?? "", priceText(catalog, action)]
        .filter(Boolean)
        .join("\n\n"),
      security: [{ accountKey: [] }],
      request: requestOf(action),
      responses: responsesOf(),
    });
  }
  return scratch.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "", version: "" } });
}
