/**
 * Account API: outcomes the account reports (issue 16), `POST /v1/outcomes`. Admin and member
 * keys may report; the report is stored in D1 and attributed to calls when usage is read
 * (`GET /v1/usage/attribution`). Idempotent by the caller's `id`.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { Problem } from "../../lib/problem";
import { MAX_RECORD_KEY, normalizeRecordKey } from "../../lib/records";
import { MINUTE_MS } from "../../lib/time";
import { recordOutcome } from "../../usage/outcomes";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { conflictResponse, json, jsonBody, problemResponses } from "../schemas";
import { validationHook } from "../validation";

const reporters = accountAuth("admin", "member");

/** How far ahead of the gateway's clock an outcome's time may be (the caller's clock skew). */
const FUTURE_SKEW_MS = 5 * MINUTE_MS;
const YEAR_2000 = Date.parse("2000-01-01T00:00:00Z");

const ReportOutcome = z
  .strictObject({
    id: z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/, "1-128 visible ASCII characters")
      .openapi({
        description: "The caller's id of the outcome: a repeat with it changes nothing.",
      }),
    kind: z
      .string()
      .max(64)
      .regex(/^[a-z][a-z0-9_]*$/, "[a-z][a-z0-9_]*, at most 64")
      .openapi({ example: "meeting_booked" }),
    recordKey: z
      .string()
      .max(MAX_RECORD_KEY * 2)
      .refine((v) => normalizeRecordKey(v) !== null, "must not be empty")
      .refine(
        (v) => (normalizeRecordKey(v) ?? "").length <= MAX_RECORD_KEY,
        `at most ${MAX_RECORD_KEY} characters after trimming`,
      )
      .optional()
      .openapi({
        description:
          "The record the outcome concerns, as the action's dedupe key gives it (a domain, an email, an id): normalized and hashed with the account like dedupe keys; only the hash is stored.",
        example: "acme.com",
      }),
    requestId: z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/, "1-128 visible ASCII characters")
      .optional()
      .openapi({ description: "The `X-Request-Id` of the call that produced the outcome." }),
    value: z
      .number()
      .min(0)
      .max(1e15)
      .optional()
      .openapi({ description: "What the outcome is worth (a deal's amount), 0 or more." }),
    occurredAt: z.iso
      .datetime({ offset: true })
      .refine((v) => Date.parse(v) >= YEAR_2000, "must be in the year 2000 or later")
      .refine(
        (v) => Date.parse(v) <= Date.now() + FUTURE_SKEW_MS,
        "must not be in the future (5 minutes of clock skew allowed)",
      )
      .optional()
      .openapi({ description: "When it happened; default: when the gateway first receives it." }),
  })
  .refine((b) => b.recordKey !== undefined || b.requestId !== undefined, {
    message: "give recordKey or requestId (or both)",
    path: ["recordKey"],
  })
  .openapi("ReportOutcome");

export const Outcome = z
  .object({
    id: z.string(),
    kind: z.string(),
    recordKeyHash: z.string().nullable().openapi({
      description: "The hash of the normalized record key (as usage events' `recordKeys` hold it)",
    }),
    requestId: z.string().nullable(),
    value: z.number().nullable(),
    occurredAt: z.string(),
    receivedAt: z.string(),
  })
  .openapi("Outcome");

const report = createRoute({
  method: "post",
  path: "/outcomes",
  operationId: "reportOutcome",
  tags: ["outcomes"],
  summary: "Report an outcome (a meeting booked, a deal won) of a call or a record",
  description:
    "Idempotent by `id`: the same body again answers 200 with the stored outcome and changes " +
    "nothing; another body under a stored `id` is refused (422). Give `requestId` to tie the " +
    "outcome to one call, or `recordKey` to tie it to the last call that charged the record " +
    "(see `GET /v1/usage/attribution`).",
  middleware: [reporters] as const,
  request: { body: jsonBody(ReportOutcome) },
  responses: {
    201: json(Outcome, "Recorded"),
    200: json(Outcome, "Reported before with the same body: the stored outcome, unchanged"),
    422: conflictResponse("The id was reported before with another body (`idempotency_mismatch`)"),
    ...problemResponses,
  },
});

export function outcomeRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(report, async (c) => {
    const body = c.req.valid("json");
    const result = await recordOutcome(c.env.DB, c.get("accountId"), body, Date.now());
    if (result.kind === "mismatch") {
      throw new Problem(
        "idempotency_mismatch",
        `Outcome ${JSON.stringify(body.id)} was reported before with another body; send that body again or use a new id.`,
        { field: "id" },
      );
    }
    return c.json(result.outcome, result.kind === "created" ? 201 : 200);
  });
  return app;
}
