/**
 * One closed list of error codes, one status per code, one body shape (RFC 9457 problem+json).
 * Everything that refuses a request throws or returns a `Problem`; `app.ts` renders it.
 */
export const PROBLEM_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  invalid_path: 400,
  invalid_units: 400,
  invalid_key: 401,
  unauthorized: 401,
  plan_excludes_action: 403,
  seat_required: 403,
  team_not_allowed: 403,
  purpose_required: 403,
  purpose_not_allowed: 403,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  idempotency_in_progress: 409,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_mismatch: 422,
  rate_limited: 429,
  budget_exhausted: 402,
  insufficient_credits: 402,
  internal_error: 500,
  bad_gateway: 502,
  ledger_unavailable: 503,
  gateway_timeout: 504,
} as const;

export type ProblemCode = keyof typeof PROBLEM_STATUS;

const TITLES: Record<ProblemCode, string> = {
  bad_request: "Bad request",
  validation_failed: "Validation failed",
  invalid_path: "Invalid path",
  invalid_units: "Invalid unit count",
  invalid_key: "Invalid API key",
  unauthorized: "Unauthorized",
  plan_excludes_action: "Plan does not include this action",
  seat_required: "Seat required",
  team_not_allowed: "Team not allowed",
  purpose_required: "Purpose required",
  purpose_not_allowed: "Purpose not allowed",
  forbidden: "Forbidden",
  not_found: "Not found",
  method_not_allowed: "Method not allowed",
  idempotency_in_progress: "Request with this Idempotency-Key is in progress",
  conflict: "Conflict",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Unsupported media type",
  idempotency_mismatch: "Idempotency-Key reused with a different request",
  rate_limited: "Rate limited",
  budget_exhausted: "Budget exhausted",
  insufficient_credits: "Insufficient credits",
  internal_error: "Internal error",
  bad_gateway: "Bad gateway",
  ledger_unavailable: "Ledger unavailable",
  gateway_timeout: "Gateway timeout",
};

/** Extra members of a problem body (the action, its price, the rule that said no, ...). */
export type ProblemExtras = Record<string, string | number | boolean | null | string[] | object>;

/** A plain, serialisable description of a refusal: crosses the Durable Object RPC boundary. */
export interface ProblemInit {
  code: ProblemCode;
  detail: string;
  extras?: ProblemExtras;
}

export class Problem extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly extras: ProblemExtras;
  readonly headers: Record<string, string>;

  constructor(
    code: ProblemCode,
    detail: string,
    extras: ProblemExtras = {},
    headers: Record<string, string> = {},
  ) {
    super(detail);
    this.code = code;
    this.status = PROBLEM_STATUS[code];
    this.extras = extras;
    this.headers = headers;
  }

  /** Keeps what went wrong underneath, for the request's log line (never for the client). */
  causedBy(error: unknown): this {
    this.cause = error;
    return this;
  }

  static from(init: ProblemInit, headers: Record<string, string> = {}): Problem {
    return new Problem(init.code, init.detail, init.extras ?? {}, headers);
  }

  body(requestId: string): Record<string, unknown> {
    return {
      ...this.extras,
      type: `/problems/${this.code.replaceAll("_", "-")}`,
      title: TITLES[this.code],
      status: this.status,
      code: this.code,
      detail: this.message,
      requestId,
    };
  }
}

/** Renders a problem as an RFC 9457 response. */
export function problemResponse(
  problem: Problem,
  requestId: string,
  extraHeaders: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(problem.body(requestId)), {
    status: problem.status,
    headers: {
      "content-type": "application/problem+json",
      "x-request-id": requestId,
      ...problem.headers,
      ...extraHeaders,
    },
  });
}
