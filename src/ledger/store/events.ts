/** Usage events as the ledger records them: one per settled, expired or denied call. */
import type { ProblemInit } from "../../lib/problem";
import type { UsageEvent } from "../../usage/event";
import type { AdmitRequest, DedupeOutcome } from "../contract";
import { holdDedupe } from "./dedupe";
import type { HoldRow } from "./holds";

/** The tags of a request as an event stores them. */
export function tagsJson(tags: Record<string, string> | null | undefined): string | null {
  return tags && Object.keys(tags).length > 0 ? JSON.stringify(tags) : null;
}

/** An event's own fields; id, sequence, account and times are added when it is written. */
export type EventFields = Omit<
  UsageEvent,
  "id" | "seq" | "accountId" | "occurredAt" | "periodStart"
>;

/** The event of a settled or expired hold: who and what come from the hold. */
export function holdEvent(
  hold: HoldRow,
  outcome: Pick<
    EventFields,
    "outcome" | "reason" | "credits" | "grants" | "upstreamStatus" | "durationMs"
  >,
): EventFields {
  return {
    requestId: hold.request_id,
    teamId: hold.team_id,
    memberId: hold.member_id,
    keyId: hold.key_id,
    action: hold.action,
    category: hold.category,
    units: hold.units,
    heldCredits: hold.amount,
    purpose: hold.purpose,
    idempotencyKey: hold.idempotency_key,
    price: hold.price,
    ...dedupeFields(hold),
    tags: hold.tags,
    ...outcome,
  };
}

/** An event's dedupe fields from what its hold took. */
function dedupeFields(
  hold: HoldRow,
): Pick<EventFields, "recordsCharged" | "recordsSkipped" | "creditsSaved" | "recordKeys"> {
  const d = holdDedupe(hold.dedupe);
  if (!d)
    return { recordsCharged: null, recordsSkipped: null, creditsSaved: null, recordKeys: null };
  return {
    recordsCharged: d.charged,
    recordsSkipped: d.skipped,
    creditsSaved: d.saved,
    recordKeys: JSON.stringify(d.keys),
  };
}

/** The event of a call whose records were all skipped: served, nothing charged or forwarded. */
export function skippedEvent(
  req: AdmitRequest,
  caller: { keyId: string; memberId: string; teamId: string },
  dedupe: DedupeOutcome,
): EventFields {
  return {
    requestId: req.requestId,
    teamId: caller.teamId,
    memberId: caller.memberId,
    keyId: caller.keyId,
    action: req.action.id,
    category: req.action.category,
    outcome: "captured",
    reason: "deduplicated",
    units: 0,
    credits: 0,
    heldCredits: 0,
    grants: "[]",
    purpose: req.purpose,
    idempotencyKey: req.idempotency?.key ?? null,
    price: JSON.stringify(req.action.price),
    upstreamStatus: null,
    durationMs: null,
    recordsCharged: 0,
    recordsSkipped: dedupe.skipped,
    creditsSaved: dedupe.saved,
    tags: tagsJson(req.tags),
    recordKeys: "[]",
  };
}

/** The event of a denied call: 0 credits, the rule's code as the reason. */
export function denialEvent(
  req: AdmitRequest,
  keyId: string,
  member: { id: string; teamId: string } | null,
  problem: ProblemInit,
): EventFields {
  return {
    requestId: req.requestId,
    teamId: member?.teamId ?? null,
    memberId: member?.id ?? null,
    keyId,
    action: req.action.id,
    category: req.action.category,
    outcome: "denied",
    reason: problem.code,
    units: req.action.units,
    credits: 0,
    heldCredits: 0,
    grants: "[]",
    purpose: req.purpose,
    idempotencyKey: req.idempotency?.key ?? null,
    price: JSON.stringify(req.action.price),
    upstreamStatus: null,
    durationMs: null,
    recordsCharged: null,
    recordsSkipped: null,
    creditsSaved: null,
    tags: tagsJson(req.tags),
    recordKeys: null,
  };
}
