/** What the client sees of a call, as the gateway answered it and as the model expects it. */

import type { Admission, MDedupe, MSkip } from "../support/model/types";
import { iso, show } from "./checks";
import type { Reply } from "./gateway";
import type { Plan } from "./upstream";

/** SPEC §4's statuses, written out here rather than imported, so a wrong mapping is caught. */
const DENIAL_STATUS: Record<string, number> = {
  invalid_key: 401,
  forbidden: 403,
  plan_excludes_action: 403,
  seat_required: 403,
  team_not_allowed: 403,
  purpose_required: 403,
  purpose_not_allowed: 403,
  rate_limited: 429,
  budget_exhausted: 402,
  insufficient_credits: 402,
  idempotency_in_progress: 409,
  idempotency_mismatch: 422,
};

/** The parts of an answer the simulation compares (a missing number reads as NaN). */
export interface Seen {
  status: number;
  code: string | null;
  rule: string | null;
  charged: number;
  replayed: boolean;
  retryAfter: number | null;
  quote: number | null;
  /**
   * Dedupe (issue 16): `X-Credits-Records-Charged`, `X-Credits-Records-Skipped` and
   * `X-Credits-Skipped` as one line, or null when the answer has none of them.
   */
  records: string | null;
  /**
   * What the body says of the records: the skipped ones and the counts (an answer with every
   * record skipped, a quote), or the records the upstream received (an echoed call); else null.
   */
  recordsBody: string | null;
}

/** The records of a call with dedupe, as the simulation sent them. */
export interface SentRecords {
  records: readonly Record<string, unknown>[];
  /** The upstream was asked to echo what it received (an answer of 200). */
  echoed: boolean;
}

/** The header line the model expects: counts, then each skipped record as an RFC 8941 item. */
function recordsLine(d: MDedupe): string {
  const items = d.skips.map((k) =>
    k.reason === "repeated"
      ? `${k.index};repeat-of=${k.firstIndex}`
      : k.reason === "enriched"
        ? `${k.index};enriched="${iso(k.enrichedAt)}"`
        : `${k.index};in-flight`,
  );
  return `${d.charged} charged, ${d.skipped} skipped: ${items.join(", ")}`;
}

/** A skipped record as the body lists it. */
function skipJson(k: MSkip): Record<string, unknown> {
  return k.reason === "enriched" ? { ...k, enrichedAt: iso(k.enrichedAt) } : { ...k };
}

/** The body's account of the records: counts, credits saved, the skipped ones. */
function recordsJson(d: MDedupe, charged?: number): string {
  return show({
    charged,
    records: { charged: d.charged, skipped: d.skipped },
    creditsSaved: d.saved,
    skipped: d.skips.map(skipJson),
  });
}

/** The records the upstream receives: the call's records but the skipped ones, in order. */
export function forwardedJson(records: readonly Record<string, unknown>[], d: MDedupe): string {
  const gone = new Set(d.skips.map((k) => k.index));
  return show({ forwarded: records.filter((_, i) => !gone.has(i)) });
}

/** What the model says the client sees. */
export function expectedReply(
  admission: Admission,
  charged: number,
  plan: Plan,
  sent: SentRecords | null = null,
): Seen {
  const none = {
    rule: null,
    charged: 0,
    replayed: false,
    retryAfter: null,
    quote: null,
    records: null,
    recordsBody: null,
  };
  switch (admission.kind) {
    case "unknown_key":
      return { ...none, status: 401, code: "invalid_key", rule: "key" };
    case "denied":
      return {
        ...none,
        status: DENIAL_STATUS[admission.code] ?? 0,
        code: admission.code,
        rule: admission.rule,
        retryAfter: admission.retryAfter,
      };
    case "idempotency":
      return {
        ...none,
        status: DENIAL_STATUS[admission.code] ?? 0,
        code: admission.code,
        rule: "idempotency",
        retryAfter: admission.code === "idempotency_in_progress" ? 1 : null,
      };
    case "replay":
      return {
        ...none,
        status: admission.status >= 200 && admission.status <= 599 ? admission.status : 200,
        code: null,
        charged: admission.charged,
        replayed: true,
      };
    case "quote": {
      const d = admission.dedupe ?? null;
      return {
        ...none,
        status: 200,
        code: null,
        quote: admission.credits,
        records: d && recordsLine(d),
        recordsBody: d && recordsJson(d),
      };
    }
    case "skipped":
      // Served by the gateway: 200, nothing charged, the upstream not called.
      return {
        ...none,
        status: 200,
        code: null,
        records: recordsLine(admission.dedupe),
        recordsBody: recordsJson(admission.dedupe, 0),
      };
    case "admitted": {
      const d = admission.dedupe ?? null;
      if (plan.kind === "answer") {
        return {
          ...none,
          status: plan.status,
          code: null,
          charged,
          records: d && recordsLine(d),
          recordsBody: d && sent?.echoed ? forwardedJson(sent.records, d) : null,
        };
      }
      // A timeout or a failed connection is the gateway's problem answer, without the records.
      return {
        ...none,
        status: plan.kind === "timeout" ? 504 : 502,
        code: plan.kind === "timeout" ? "gateway_timeout" : "bad_gateway",
        charged,
      };
    }
  }
}

/** What a call refused before the ledger is asked sees (a key that is not a string: 400). */
export function refusedReply(code: string, status: number): Seen {
  return {
    status,
    code,
    rule: null,
    charged: Number.NaN,
    replayed: false,
    retryAfter: null,
    quote: null,
    records: null,
    recordsBody: null,
  };
}

/** What the client saw: status, problem code and rule, and the credit headers. */
export function seen(reply: Reply): Seen {
  const header = (name: string) => reply.headers.get(name);
  const problem = header("content-type") === "application/problem+json";
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  return {
    status: reply.status,
    code: problem ? text(reply.body?.code) : null,
    rule: problem ? text(reply.body?.rule) : null,
    charged: Number(header("x-credits-charged") ?? Number.NaN),
    replayed: header("x-credits-replayed") === "true",
    retryAfter: header("retry-after") === null ? null : Number(header("retry-after")),
    quote: header("x-credits-quote") === null ? null : Number(header("x-credits-quote")),
    records: recordsSeen(reply),
    recordsBody: recordsBodySeen(reply.body),
  };
}

function recordsSeen(reply: Reply): string | null {
  const charged = reply.headers.get("x-credits-records-charged");
  const skipped = reply.headers.get("x-credits-records-skipped");
  const list = reply.headers.get("x-credits-skipped");
  if (charged === null && skipped === null && list === null) return null;
  return `${charged} charged, ${skipped} skipped: ${list ?? ""}`;
}

function recordsBodySeen(body: Record<string, unknown> | null): string | null {
  if (!body) return null;
  if (Array.isArray(body.skipped) || "records" in body || "creditsSaved" in body) {
    return show({
      charged: body.charged,
      records: body.records,
      creditsSaved: body.creditsSaved,
      skipped: body.skipped,
    });
  }
  // The chaos upstream's echo: the body it received, as text.
  if (typeof body.body === "string" && typeof body.path === "string") {
    try {
      const sent = JSON.parse(body.body) as { records?: unknown };
      return show({ forwarded: sent.records });
    } catch {
      return show({ forwardedText: body.body });
    }
  }
  return null;
}
