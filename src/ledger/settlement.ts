/**
 * Settlement, the second of the request path's two decisions: a hold is captured (fully, partly,
 * or past its estimate as far as balance and budgets allow) or voided, and its usage event is
 * written in the same transaction. Holds that outlive their time-to-live are voided here too.
 */
import type { SettleRequest, SettleResult, StoredOutcome } from "./contract";
import {
  type Allocation,
  allocate,
  mergeAllocations,
  splitCapture,
  sumAllocations,
} from "./core/allocate";
import { budgetLimits } from "./core/decide";
import { budgetHeadroom, DEFAULT_TEAM_RULES } from "./core/rules";
import type { LedgerState } from "./state";
import { accountPolicy } from "./store/account";
import { fireCaptureAlerts } from "./store/alerts";
import { addCaptured, budgetState } from "./store/counters";
import { enrichKeys, holdDedupe, releaseKeys } from "./store/dedupe";
import { holdEvent } from "./store/events";
import {
  availableCredits,
  captureFromHeld,
  holdFromGrants,
  releaseHeld,
  spendableGrants,
} from "./store/grants";
import { type HoldRow, holdAllocations, holdScope, takeDueHolds, takeHold } from "./store/holds";
import * as idempotency from "./store/idempotency";

/** Captures or voids a hold after the upstream answered (or failed). */
export function settle(s: LedgerState, req: SettleRequest, now: number): SettleResult {
  const { sql } = s;
  s.currentPeriod(now);
  const hold = takeHold(sql, req.holdId);
  if (!hold) {
    idempotency.recordOnRequestStatus(sql, req, now);
    return { settled: false, charged: 0, available: availableCredits(sql, now) };
  }
  const allocations = holdAllocations(hold);
  if (req.decision === "void") {
    voidHold(
      s,
      hold,
      allocations,
      req.failure ?? "upstream_status",
      req.upstreamStatus,
      req.durationMs,
      now,
    );
    return { settled: true, charged: 0, available: availableCredits(sql, now) };
  }
  const charged = capture(
    s,
    { ...hold, units: req.units },
    allocations,
    req.credits,
    req.upstreamStatus,
    req.durationMs,
    now,
  );
  return { settled: true, charged, available: availableCredits(sql, now) };
}

/** Voids every hold whose time-to-live has passed. Returns how many. */
export function expireHolds(s: LedgerState, now: number): number {
  const due = takeDueHolds(s.sql, now);
  for (const hold of due) voidHold(s, hold, holdAllocations(hold), "hold_expired", null, null, now);
  return due.length;
}

/** How far a metered capture may go past its hold without passing a budget or cap. */
function budgetRoom(s: LedgerState, hold: HoldRow, fromHold: number): number {
  const account = s.account();
  const member = s.reads.member(hold.member_id);
  if (!account) return 0;
  // The team charged is the one at admission; the member's budget is the one it has now (its
  // own, or its current team's default; null is none, not the admission team's default).
  const rules = s.reads.teamRules(hold.team_id) ?? DEFAULT_TEAM_RULES;
  const memberBudget = member
    ? (member.budget ?? s.reads.teamRules(member.teamId)?.memberBudget ?? null)
    : rules.memberBudget;
  const limits = {
    ...budgetLimits(rules, accountPolicy(account), memberBudget, hold.action),
    member: memberBudget,
  };
  // The hold's row is gone, so `held` no longer counts it; what it captures does count.
  const spend = budgetState(s.sql, hold.period_start, holdScope(hold));
  for (const scope of Object.values(spend)) scope.captured += fromHold;
  return budgetHeadroom(limits, spend);
}

/** Charges a hold (the caller has already removed its row from `holds`). */
export function capture(
  s: LedgerState,
  hold: HoldRow,
  allocations: Allocation[],
  credits: number,
  upstreamStatus: number | null,
  durationMs: number | null,
  now: number,
): number {
  const { sql } = s;
  const ctx = { at: now, holdId: hold.id, requestId: hold.request_id };
  const fromHold = Math.min(credits, hold.amount);
  const { captured, released } = splitCapture(allocations, fromHold);
  captureFromHeld(sql, captured, ctx);
  releaseHeld(sql, released, ctx);
  // A metered call may report more than its estimate: charge the rest only as far as the
  // balance and every budget allow, never below zero (I1).
  const extraWanted = credits - fromHold;
  let extra: Allocation[] = [];
  if (extraWanted > 0) {
    const room = Math.min(extraWanted, availableCredits(sql, now), budgetRoom(s, hold, fromHold));
    extra = allocate(spendableGrants(sql, now), room) ?? [];
    holdFromGrants(sql, extra, { ...ctx, reason: "metered_overrun" });
    captureFromHeld(sql, extra, { ...ctx, reason: "metered_overrun" });
  }
  const charged = fromHold + sumAllocations(extra);
  const periodStart = hold.period_start;
  addCaptured(sql, periodStart, holdScope(hold), charged);
  const current = s.inPeriod();
  if (current) {
    const { account, period } = current;
    const alerts = {
      account,
      period,
      accountId: account.id,
      periodStart: period.start,
      settings: s.reads.alertSettings(),
      fired: s.reads.firedLines(period.start),
    };
    fireCaptureAlerts(sql, alerts, s.reads.spendHours(), hold.request_id, charged, now);
  }
  const dedupe = holdDedupe(hold.dedupe);
  if (dedupe) enrichKeys(sql, hold.id, dedupe, now);
  const grants = mergeAllocations([...captured, ...extra]);
  s.writeEvent(
    holdEvent(hold, {
      outcome: "captured",
      reason: charged < credits ? "capped_at_balance" : null,
      credits: charged,
      grants: JSON.stringify(grants),
      upstreamStatus,
      durationMs,
    }),
    periodStart,
    now,
  );
  if (hold.idempotency_key) {
    const outcome: StoredOutcome = {
      requestId: hold.request_id,
      holdId: hold.id,
      action: hold.action,
      status: upstreamStatus ?? 0,
      charged,
      remaining: availableCredits(sql, now),
    };
    idempotency.recordSettled(sql, hold.idempotency_key, outcome, now);
  }
  return charged;
}

/** Returns a hold's credits (the caller has already removed its row from `holds`). */
function voidHold(
  s: LedgerState,
  hold: HoldRow,
  allocations: Allocation[],
  reason: string,
  upstreamStatus: number | null,
  durationMs: number | null,
  now: number,
) {
  releaseHeld(s.sql, allocations, {
    at: now,
    holdId: hold.id,
    requestId: hold.request_id,
    reason,
  });
  // The records it took are not enriched: another call may charge them now.
  const dedupe = holdDedupe(hold.dedupe);
  if (dedupe) releaseKeys(s.sql, hold.id, dedupe);
  s.writeEvent(
    holdEvent(hold, {
      outcome: "voided",
      reason,
      credits: 0,
      grants: "[]",
      upstreamStatus,
      durationMs,
    }),
    hold.period_start,
    now,
  );
  // Nothing was charged, so a retry with the same key is a new attempt.
  if (hold.idempotency_key) idempotency.forget(s.sql, hold.idempotency_key);
}
