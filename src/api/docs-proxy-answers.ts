/**
 * What the proxy answers with, as the API document describes it: the credit headers (once,
 * under components.headers) and the problem+json refusals it can give, by status.
 */
import type { ProblemCode } from "../lib/problem";

/** The response headers of the proxy, documented once under components.headers. */
export const CREDIT_HEADERS = {
  "X-Credits-Action": {
    description: "The id of the priced action the call resolved to.",
    schema: { type: "string" },
  },
  "X-Credits-Charged": {
    description:
      "Credits this call was charged: 0 on a denial or dry run; on a replay, what the first call was charged.",
    schema: { type: "integer", minimum: 0 },
  },
  "X-Credits-Remaining": {
    description:
      "Credits available after the call settled. Absent on denials and when settlement could not be recorded (the hold then expires and is voided).",
    schema: { type: "integer" },
  },
  "X-Credits-Replayed": {
    description:
      "`true` when the answer is the stored outcome of an earlier call with the same Idempotency-Key; nothing was charged again.",
    schema: { type: "string", const: "true" },
  },
  "X-Credits-Original-Request-Id": {
    description: "On a replay: the request id of the call whose outcome is replayed.",
    schema: { type: "string" },
  },
  "X-Credits-Quote": {
    description: "On a dry run (`X-Credit-Dry-Run: true`): the credits the call would hold.",
    schema: { type: "integer", minimum: 0 },
  },
  "X-Credits-Records-Charged": {
    description:
      "Actions with dedupe: the records charged (records without a key, and each new key once). Only these reached the upstream.",
    schema: { type: "integer", minimum: 0 },
  },
  "X-Credits-Records-Skipped": {
    description:
      "Actions with dedupe: the records not charged and not forwarded: repeats of a key within the call, and keys enriched for the account within the window or being enriched by a call in flight.",
    schema: { type: "integer", minimum: 0 },
  },
  "X-Credits-Skipped": {
    description:
      'Actions with dedupe, when a record was skipped: an RFC 8941 list of the skipped records\' indexes in the request\'s array, each with why: `repeat-of=N` (the same key as record N), `enriched="<ISO time>"` (charged then, within the window) or `in-flight` (a call in flight is enriching it). Example: `1;repeat-of=0, 3;enriched="2026-11-20T10:00:00.000Z", 4;in-flight`. The upstream received the other records, in their order.',
    schema: { type: "string" },
  },
  "X-Credits-Skipped-Omitted": {
    description:
      "When `X-Credits-Skipped` would pass 8,000 characters: how many skipped records it leaves out (the last ones in the array). A dry run's `skipped` list has them all.",
    schema: { type: "integer", minimum: 1 },
  },
  "X-Request-Id": {
    description: "The gateway's id of this request; quote it when reporting a problem.",
    schema: { type: "string" },
  },
  "Retry-After": {
    description: "Seconds to wait before retrying.",
    schema: { type: "integer", minimum: 1 },
  },
} as const;
type CreditHeader = keyof typeof CREDIT_HEADERS;

export const headerRefs = (names: readonly CreditHeader[]) =>
  Object.fromEntries(names.map((n) => [n, { $ref: `#/components/headers/${n}` }]));

/** The refusals of the proxy, by status: the codes it really gives and the headers it adds. */
export const PROXY_DENIALS: Record<
  number,
  { codes: readonly ProblemCode[]; description: string; headers: readonly CreditHeader[] }
> = {
  400: {
    codes: ["bad_request", "invalid_path", "invalid_units"],
    description: "Malformed headers or body, an unusable path, or a unit count out of range.",
    headers: ["X-Request-Id"],
  },
  401: {
    codes: ["invalid_key"],
    description: "Missing, malformed, unknown or revoked key, or a deactivated member.",
    headers: ["X-Request-Id"],
  },
  402: {
    codes: ["insufficient_credits", "budget_exhausted"],
    description: "The balance, or a team, member, action or account budget, cannot cover it.",
    headers: ["X-Request-Id", "X-Credits-Action", "X-Credits-Charged"],
  },
  403: {
    codes: [
      "forbidden",
      "plan_excludes_action",
      "seat_required",
      "team_not_allowed",
      "purpose_required",
      "purpose_not_allowed",
    ],
    description: "Not a member key, or a plan, seat, team or purpose rule says no.",
    headers: ["X-Request-Id", "X-Credits-Action", "X-Credits-Charged"],
  },
  409: {
    codes: ["idempotency_in_progress"],
    description: "A call with this Idempotency-Key is still in flight.",
    headers: ["X-Request-Id", "X-Credits-Action", "X-Credits-Charged", "Retry-After"],
  },
  413: {
    codes: ["payload_too_large"],
    description: "The body exceeds the action's limit.",
    headers: ["X-Request-Id"],
  },
  422: {
    codes: ["idempotency_mismatch"],
    description: "The Idempotency-Key was used before with a different request.",
    headers: ["X-Request-Id", "X-Credits-Action", "X-Credits-Charged"],
  },
  429: {
    codes: ["rate_limited"],
    description: "The member's per-minute rate limit.",
    headers: ["X-Request-Id", "X-Credits-Action", "X-Credits-Charged", "Retry-After"],
  },
  500: {
    codes: ["internal_error"],
    description: "An unexpected failure; the body carries only the request id.",
    headers: ["X-Request-Id"],
  },
  502: {
    codes: ["bad_gateway"],
    description: "The upstream could not be reached or broke off. Only on_request actions charge.",
    headers: ["X-Request-Id", "X-Credits-Action", "X-Credits-Charged", "X-Credits-Remaining"],
  },
  503: {
    codes: ["ledger_unavailable"],
    description: "The ledger could not decide; nothing was charged (fail closed).",
    headers: ["X-Request-Id"],
  },
  504: {
    codes: ["gateway_timeout"],
    description: "The upstream did not answer within the action's timeout.",
    headers: ["X-Request-Id", "X-Credits-Action", "X-Credits-Charged", "X-Credits-Remaining"],
  },
};
