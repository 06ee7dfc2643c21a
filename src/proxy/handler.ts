/**
 * The request path (SPEC §3): resolve -> one ledger call to admit -> forward -> one ledger call
 * to settle -> stream the answer back with the credit headers. No D1 on this path; if the ledger
 * cannot decide, the call is refused (fail closed), never proxied for free.
 */
import type { Catalog } from "../catalog";
import { ledgerStub } from "../ledger/client";
import type { AdmitResult, DedupeOutcome, SettleRequest, SettleResult } from "../ledger/contract";
import { Problem, problemResponse } from "../lib/problem";
import type { RequestScope } from "../lib/request-scope";
import { dedupeHeaders, forwardedRecords, type SkippedRecord, skippedRecords } from "./dedupe";
import { forward } from "./forward";
import { responseHeaders } from "./headers";
import { prepareCall } from "./prepare";
import { settlementFor } from "./settle";

const SETTLE_ATTEMPTS = 3;
const ENCODER = new TextEncoder();

/** One priced call, from the request to the answer with its credit headers. */
export async function serveCall(
  catalog: Catalog,
  request: Request,
  url: URL,
  env: Env,
  scope: RequestScope,
): Promise<Response> {
  const { requestId, log } = scope;
  const call = await prepareCall(catalog, request, url);
  const recordsSkipped = (outcome: DedupeOutcome | null): SkippedRecord[] =>
    outcome && call.records ? skippedRecords(call.records.read, outcome) : [];
  log.account = call.accountId;
  log.action = call.action.id;
  const ledger = ledgerStub(env, call.accountId);

  let admission: AdmitResult;
  try {
    admission = await ledger.admit({
      keyHash: call.keyHash,
      requestId,
      action: call.terms,
      purpose: call.purpose,
      idempotency: call.idempotency,
      dryRun: call.dryRun,
      tags: call.tags,
      dedupe: call.records?.read.request ?? null,
    });
  } catch (error) {
    log.error = `admit: ${error instanceof Error ? error.message : String(error)}`;
    throw new Problem(
      "ledger_unavailable",
      "The ledger could not decide; nothing was charged. Retry.",
      {
        action: call.action.id,
      },
    );
  }

  const creditHeaders = (charged: number, remaining: number | null): Record<string, string> => ({
    "x-credits-action": call.action.id,
    "x-credits-charged": String(charged),
    ...(remaining === null ? {} : { "x-credits-remaining": String(remaining) }),
  });

  switch (admission.kind) {
    case "denied": {
      log.decision = "denied";
      log.reason = admission.problem.code;
      const headers: Record<string, string> = creditHeaders(0, null);
      if (admission.retryAfterSeconds !== undefined)
        headers["retry-after"] = String(admission.retryAfterSeconds);
      return problemResponse(Problem.from(admission.problem), requestId, headers);
    }
    case "replay": {
      const o = admission.outcome;
      log.decision = "replayed";
      log.credits = 0;
      const status = o.status >= 200 && o.status <= 599 ? o.status : 200;
      // A 204, 205 or 304 carries no body, so its replay carries none either.
      const bodyless = status === 204 || status === 205 || status === 304;
      return new Response(
        bodyless ? null : JSON.stringify({ replayed: true, ...o, holdId: undefined }),
        {
          status,
          headers: {
            ...(bodyless ? {} : { "content-type": "application/json" }),
            ...creditHeaders(o.charged, o.remaining),
            "x-credits-replayed": "true",
            "x-credits-original-request-id": o.requestId,
          },
        },
      );
    }
    case "quote": {
      log.decision = "quoted";
      const skipped = recordsSkipped(admission.dedupe);
      return Response.json(
        {
          dryRun: true,
          allowed: true,
          action: call.action.id,
          units: admission.units,
          credits: admission.credits,
          available: admission.available,
          ...(admission.dedupe && call.records
            ? {
                records: { charged: admission.dedupe.charged, skipped: admission.dedupe.skipped },
                creditsSaved: admission.dedupe.saved,
                skipped,
              }
            : {}),
        },
        {
          headers: {
            ...creditHeaders(0, admission.available),
            "x-credits-quote": String(admission.credits),
            ...(admission.dedupe ? dedupeHeaders(admission.dedupe, skipped) : {}),
          },
        },
      );
    }
    case "skipped": {
      // Every record was enriched already (or repeated): served here, the upstream not called.
      log.decision = "deduplicated";
      log.credits = 0;
      const skipped = recordsSkipped(admission.dedupe);
      return Response.json(
        {
          action: call.action.id,
          charged: 0,
          records: { charged: 0, skipped: admission.dedupe.skipped },
          creditsSaved: admission.dedupe.saved,
          skipped,
        },
        {
          headers: {
            ...creditHeaders(0, admission.available),
            ...dedupeHeaders(admission.dedupe, skipped),
            "x-request-id": requestId,
            "cache-control": "no-store",
          },
        },
      );
    }
    case "admitted":
      break;
  }

  // With dedupe, only the records charged go to the upstream.
  const skipped = recordsSkipped(admission.dedupe);
  const body =
    call.records && skipped.length > 0
      ? (ENCODER.encode(
          JSON.stringify(forwardedRecords(call.records.body, call.records.read, skipped)),
        ).buffer as ArrayBuffer)
      : call.body;
  const upstream = await forward(catalog, env, call.action, call.params, request, body, {
    accountId: call.accountId,
    caller: admission.caller,
    requestId,
    search: url.search,
  });
  const settleRequest = settlementFor(
    call.action,
    call.price,
    admission.holdId,
    admission.units,
    admission.credits,
    call.idempotency?.key ?? null,
    upstream,
  );
  const settled = await settleWithRetry(ledger, settleRequest, log);
  const charged =
    call.action.settlement === "on_request" ? admission.charged : (settled?.charged ?? 0);
  const remaining = settled?.available ?? null;
  const gatewayMs = Date.now() - scope.startedAt - upstream.ms;
  // The ledger had no hold to settle: it expired or was voided while the upstream worked, so
  // the call was served without its charge. (An on_request call's hold is captured at admission.)
  const holdLost = settled?.settled === false && call.action.settlement !== "on_request";
  Object.assign(log, {
    decision: upstream.ok ? "forwarded" : upstream.failure,
    credits: charged,
    upstreamStatus: upstream.ok ? upstream.response.status : null,
    upstreamMs: upstream.ms,
    gatewayMs,
    settled: settled !== null,
    ...(holdLost ? { holdLost } : {}),
  });
  const timing = `gateway;dur=${gatewayMs}, upstream;dur=${upstream.ms}`;

  if (!upstream.ok) {
    const problem = new Problem(
      upstream.failure === "timeout" ? "gateway_timeout" : "bad_gateway",
      upstream.detail,
      {
        action: call.action.id,
        charged,
      },
    );
    return problemResponse(problem, requestId, {
      ...creditHeaders(charged, remaining),
      "server-timing": timing,
    });
  }
  const headers = responseHeaders(upstream.response.headers, {
    ...creditHeaders(charged, remaining),
    ...(admission.dedupe ? dedupeHeaders(admission.dedupe, skipped) : {}),
    "x-request-id": requestId,
    "server-timing": timing,
  });
  return new Response(upstream.response.body, { status: upstream.response.status, headers });
}

/**
 * The upstream has already answered, so a settle that fails is retried a few times; if it
 * still fails the hold expires after its TTL and is voided: the client is never overcharged.
 */
async function settleWithRetry(
  ledger: { settle(req: SettleRequest): Promise<SettleResult> },
  request: SettleRequest,
  log: Record<string, string | number | boolean | null>,
): Promise<SettleResult | null> {
  for (let attempt = 1; attempt <= SETTLE_ATTEMPTS; attempt++) {
    try {
      return await ledger.settle(request);
    } catch (error) {
      log.settleError = `attempt ${attempt}: ${error instanceof Error ? error.message : String(error)}`;
      if (attempt < SETTLE_ATTEMPTS) await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
  return null;
}
