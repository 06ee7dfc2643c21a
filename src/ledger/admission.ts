/**
 * Admission, the first of the request path's two decisions: who is calling, the rules of SPEC
 * §4 in order, the balance, and on admission the hold (or, for on_request actions, the
 * capture). Synchronous: the object runs it as one transaction.
 */
import { priceCredits } from "../config/price";
import { newId } from "../lib/ids";
import type { ProblemInit } from "../lib/problem";
import type { ActionTerms, AdmitRequest, AdmitResult, Caller, DedupeOutcome } from "./contract";
import { allocate, sumRemaining } from "./core/allocate";
import { budgetLimits, checkCaller, decideAdmission } from "./core/decide";
import { DEFAULT_TEAM_RULES } from "./core/rules";
import { capture, expireHolds } from "./settlement";
import type { LedgerState } from "./state";
import { accountPolicy } from "./store/account";
import { type AlertContext, fireDebitAlerts, fireDenialAlerts } from "./store/alerts";
import { budgetState } from "./store/counters";
import { type HoldDedupe, skippedKeys, takeKeys } from "./store/dedupe";
import { denialEvent, skippedEvent, tagsJson } from "./store/events";
import { availableCredits, holdFromGrants, spendableGrants } from "./store/grants";
import { deleteHold, type HoldRow, insertHold } from "./store/holds";
import * as idempotency from "./store/idempotency";
import { recentAdmissions, recordAdmission } from "./store/rates";

/** The refusal of a key that is unknown, revoked or has no account behind it. */
function invalidKey(caller: Caller | null): AdmitResult {
  return {
    kind: "denied",
    caller,
    problem: {
      code: "invalid_key",
      detail: "The API key is unknown or revoked.",
      extras: { rule: "key" },
    },
  };
}

/** Decides a call: checks the caller, the rules and the balance, and on admission holds. */
export function admit(s: LedgerState, req: AdmitRequest, now: number): AdmitResult {
  const { sql, reads } = s;
  const period = s.currentPeriod(now);
  const account = s.inPeriod()?.account;
  if (!period || !account) return invalidKey(null);
  if (reads.holdsDue(now)) {
    expireHolds(s, now);
    reads.holdsExpired();
  }

  const key = reads.key(req.keyHash);
  if (!key) return invalidKey(null);
  const member = key.member_id ? reads.member(key.member_id) : null;
  const caller: Caller | null = member
    ? { keyId: key.id, memberId: member.id, teamId: member.teamId }
    : null;
  const alerts: AlertContext = {
    accountId: account.id,
    periodStart: period.start,
    settings: reads.alertSettings(),
    fired: reads.firedLines(period.start),
  };
  const denyWith = (problem: ProblemInit, retryAfterSeconds?: number): AdmitResult => {
    if (!req.dryRun) {
      s.writeEvent(denialEvent(req, key.id, member, problem), period.start, now);
      fireDenialAlerts(sql, alerts, req.requestId, now);
    }
    return retryAfterSeconds === undefined
      ? { kind: "denied", problem, caller }
      : { kind: "denied", problem, caller, retryAfterSeconds };
  };

  const callerProblem = checkCaller(
    { role: key.role, keyRevoked: key.revoked_at !== null, member },
    req.action,
  );
  if (callerProblem || !member || !caller) {
    return denyWith(callerProblem ?? { code: "invalid_key", detail: "The key has no member." });
  }

  if (req.idempotency && !req.dryRun) {
    const known = idempotency.answerKnown(sql, req.idempotency, req.action.id, caller, now);
    if (known) return known;
  }

  // With dedupe, the records already enriched (or in flight) are skipped and not charged.
  const deduped = dedupeDecision(s, req, now);
  const action = deduped.action;
  const rules = reads.teamRules(member.teamId) ?? DEFAULT_TEAM_RULES;
  const policy = accountPolicy(account);
  const limited = rules.memberRateLimitPerMinute !== null;
  const scope = { team: member.teamId, member: member.id, action: req.action.id };
  const spendable = spendableGrants(sql, now);
  const available = sumRemaining(spendable);
  const spend = budgetState(sql, period.start, scope);
  const denial = decideAdmission(action, {
    plan: account.plan,
    seat: member.seat,
    rules,
    policy,
    memberBudget: member.budget,
    purpose: req.purpose,
    recent: limited ? recentAdmissions(sql, member.id, now) : [],
    spend,
    available,
    now,
  });
  if (denial) return denyWith(denial.problem, denial.retryAfterSeconds);

  const { dedupe } = deduped;
  if (req.dryRun) {
    return {
      kind: "quote",
      caller,
      credits: action.holdCredits,
      units: action.units,
      available,
      dedupe,
    };
  }
  if (dedupe && action.units === 0) {
    // Nothing left to charge or forward: the call is served here, and recorded.
    s.writeEvent(skippedEvent(req, caller, dedupe), period.start, now);
    if (limited) recordAdmission(sql, member.id, now);
    if (req.idempotency) {
      const { key, fingerprint } = req.idempotency;
      idempotency.recordInFlight(sql, key, fingerprint, req.requestId, now);
      idempotency.recordSettled(
        sql,
        key,
        {
          requestId: req.requestId,
          holdId: req.requestId,
          action: action.id,
          status: 200,
          charged: 0,
          remaining: available,
        },
        now,
      );
    }
    return { kind: "skipped", caller, available, dedupe };
  }

  const allocations = allocate(spendable, action.holdCredits);
  if (!allocations) throw new Error("balance check passed but allocation failed");
  const holdId = newId("hold");
  const hold: HoldRow = {
    id: holdId,
    request_id: req.requestId,
    action: action.id,
    category: action.category,
    settlement: action.settlement,
    units: action.units,
    amount: action.holdCredits,
    allocations: JSON.stringify(allocations),
    key_id: caller.keyId,
    member_id: caller.memberId,
    team_id: caller.teamId,
    purpose: req.purpose,
    idempotency_key: req.idempotency?.key ?? null,
    price: JSON.stringify(action.price),
    dedupe: deduped.hold === null ? null : JSON.stringify(deduped.hold),
    tags: tagsJson(req.tags),
    period_start: period.start,
    created_at: now,
    expires_at: now + s.settings.holdTtlMs,
  };
  holdFromGrants(sql, allocations, { at: now, holdId, requestId: req.requestId });
  insertHold(sql, hold);
  if (deduped.hold) takeKeys(sql, deduped.hold.group, deduped.hold.keys, holdId, hold.expires_at);
  reads.holdAdded(hold.expires_at);
  // The hold itself now counts against every budget (counters.ts sums the holds in flight).
  fireDebitAlerts(sql, alerts, req, {
    spend,
    limits: budgetLimits(rules, policy, member.budget, req.action.id),
    scope,
    available,
    now,
  });
  if (limited) recordAdmission(sql, member.id, now);
  if (req.idempotency) {
    idempotency.recordInFlight(sql, req.idempotency.key, req.idempotency.fingerprint, holdId, now);
  }

  const admitted = { units: action.units, credits: hold.amount, dedupe };
  if (action.settlement === "on_request") {
    // Spent at once: capture now, so a crash after admission cannot make it free.
    const charged = capture(s, hold, allocations, hold.amount, null, null, now);
    deleteHold(sql, holdId);
    return {
      kind: "admitted",
      holdId,
      caller,
      held: 0,
      charged,
      available: availableCredits(sql, now),
      ...admitted,
    };
  }
  return {
    kind: "admitted",
    holdId,
    caller,
    held: hold.amount,
    charged: 0,
    available: available - hold.amount,
    ...admitted,
  };
}

/**
 * What dedupe makes of a call: the action's terms for the records left to charge, what the hold
 * will take, and what to tell the caller. Without dedupe, the request's terms unchanged.
 */
function dedupeDecision(
  s: LedgerState,
  req: AdmitRequest,
  now: number,
): { action: ActionTerms; dedupe: DedupeOutcome | null; hold: HoldDedupe | null } {
  const d = req.dedupe;
  if (!d) return { action: req.action, dedupe: null, hold: null };
  const skippedKeyList = skippedKeys(s.sql, d, now);
  const skippedSet = new Set(skippedKeyList.map((k) => k.key));
  const fresh = d.keys.filter((_, i) => !skippedSet.has(i));
  const units = d.unkeyed + fresh.length;
  const repeats = req.action.units - d.unkeyed - d.keys.length;
  const credits = priceCredits(req.action.price, units);
  const saved = priceCredits(req.action.price, req.action.units) - credits;
  const dedupe: DedupeOutcome = {
    charged: units,
    skipped: repeats + skippedKeyList.length,
    skippedKeys: skippedKeyList,
    saved,
  };
  return {
    action: { ...req.action, units, holdCredits: credits },
    dedupe,
    hold: {
      group: d.group,
      windowMs: d.windowMs,
      keys: fresh,
      charged: units,
      skipped: dedupe.skipped,
      saved,
    },
  };
}
