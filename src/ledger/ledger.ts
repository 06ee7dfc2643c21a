/**
 * The account's ledger operations over its SQLite storage. Each public method is one decision
 * and runs synchronously: the AccountLedger object wraps every call in `transactionSync`, so a
 * decision either happens whole or not at all, and no other request interleaves with it.
 */
import { newId } from "../lib/ids";
import type { ProblemInit } from "../lib/problem";
import {
  type Allocation,
  allocate,
  mergeAllocations,
  splitCapture,
  sumAllocations,
  sumRemaining,
} from "./core/allocate";
import { budgetLimits, checkCaller, decideAdmission, invalidKey } from "./core/decide";
import type { Period } from "./core/period";
import { budgetHeadroom, DEFAULT_TEAM_RULES } from "./core/rules";
import { CachedReads } from "./reads";
import { fireCaptureAlerts, fireDebitAlerts, fireDenialAlerts } from "./store/alerts";
import { type AccountRow, accountPolicy, accountRow } from "./store/config";
import { addSpend, budgetState } from "./store/counters";
import { denialEvent, type EventFields, holdEvent } from "./store/events";
import {
  availableCredits,
  captureFromHeld,
  expireGrants,
  holdFromGrants,
  releaseHeld,
  spendableGrants,
} from "./store/grants";
import {
  deleteHold,
  type HoldRow,
  holdAllocations,
  holdScope,
  insertHold,
  takeDueHolds,
  takeHold,
} from "./store/holds";
import * as idempotency from "./store/idempotency";
import { appendEvent } from "./store/outbox";
import { enterPeriod } from "./store/periods";
import { recentAdmissions, recordAdmission } from "./store/rates";
import type {
  AdmitRequest,
  AdmitResult,
  Caller,
  SettleRequest,
  SettleResult,
  StoredOutcome,
} from "./types";

export type LedgerSettings = { holdTtlMs: number };

export class Ledger {
  /** What this transaction already read of the account and its period (see `begin`). */
  private memo: { now: number; account: AccountRow; period: Period } | null = null;
  private reads: CachedReads;

  constructor(
    private readonly sql: SqlStorage,
    private readonly settings: LedgerSettings,
  ) {
    this.reads = new CachedReads(sql);
  }

  /**
   * Starts a transaction, forgetting what the last one read of the period. Only the request
   * path keeps the cached reads (it writes no config and updates them on a period roll or a
   * hold); other transactions, and failed ones, start and end without them (`forget`).
   */
  begin(keepCache: boolean) {
    this.memo = null;
    if (!keepCache) this.forget();
  }

  /** Drops every cached read: the next transaction reads from SQLite again. */
  forget() {
    this.reads = new CachedReads(this.sql);
  }

  /**
   * Brings the account into the period that contains `now`: expires what has lapsed and issues
   * the period's included grant once. Returns null for an object with no account.
   */
  currentPeriod(now: number): Period | null {
    if (this.memo?.now === now) return this.memo.period;
    const account = this.reads.account();
    if (!account) return null;
    if (account.period_start !== null && account.period_end !== null) {
      if (now >= account.period_start && now < account.period_end) {
        if (this.reads.grantsDue(now)) {
          expireGrants(this.sql, now);
          this.reads.grantsExpired();
        }
        const period = { start: account.period_start, end: account.period_end };
        this.memo = { now, account, period };
        return period;
      }
    }
    // Entering a period reads the last one's unused credits for rollover before expiring them.
    const period = enterPeriod(this.sql, account, accountPolicy(account), now);
    const entered = { ...account, period_start: period.start, period_end: period.end };
    this.reads.enteredPeriod(entered);
    this.memo = { now, account: entered, period };
    return period;
  }

  /** Decides a call: checks the caller, the rules and the balance, and on admission holds. */
  admit(req: AdmitRequest, now: number): AdmitResult {
    const period = this.currentPeriod(now);
    const account = this.memo?.account;
    if (!period || !account) return invalidKey(null);
    if (this.reads.holdsDue(now)) {
      this.expireHolds(now);
      this.reads.holdsExpired();
    }

    const key = this.reads.key(req.keyHash);
    if (!key) return invalidKey(null);
    const member = key.member_id ? this.reads.member(key.member_id) : null;
    const caller: Caller | null = member
      ? { keyId: key.id, memberId: member.id, teamId: member.teamId }
      : null;
    const denyWith = (problem: ProblemInit, retryAfterSeconds?: number): AdmitResult => {
      if (!req.dryRun) {
        this.writeEvent(denialEvent(req, key.id, member, problem), period.start, now);
        fireDenialAlerts(this.sql, account, period.start, req.requestId, now);
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
      const known = idempotency.answerKnown(this.sql, req.idempotency, req.action.id, caller, now);
      if (known) return known;
    }

    const rules = this.reads.teamRules(member.teamId) ?? DEFAULT_TEAM_RULES;
    const limited = rules.memberRateLimitPerMinute !== null;
    const scope = { team: member.teamId, member: member.id, action: req.action.id };
    const spendable = spendableGrants(this.sql, now);
    const available = sumRemaining(spendable);
    const spend = budgetState(this.sql, period.start, scope);
    const denial = decideAdmission(req.action, {
      tier: account.tier,
      seat: member.seat,
      rules,
      policy: accountPolicy(account),
      memberBudget: member.budget,
      purpose: req.purpose,
      recent: limited ? recentAdmissions(this.sql, member.id, now) : [],
      spend,
      available,
      now,
    });
    if (denial) return denyWith(denial.problem, denial.retryAfterSeconds);

    if (req.dryRun) return { kind: "quote", caller, credits: req.action.holdCredits, available };

    const allocations = allocate(spendable, req.action.holdCredits);
    if (!allocations) throw new Error("balance check passed but allocation failed");
    const holdId = newId("hold");
    const hold: HoldRow = {
      id: holdId,
      request_id: req.requestId,
      action: req.action.id,
      category: req.action.category,
      settlement: req.action.settlement,
      units: req.action.units,
      amount: req.action.holdCredits,
      allocations: JSON.stringify(allocations),
      key_id: caller.keyId,
      member_id: caller.memberId,
      team_id: caller.teamId,
      purpose: req.purpose,
      idempotency_key: req.idempotency?.key ?? null,
      period_start: period.start,
      created_at: now,
      expires_at: now + this.settings.holdTtlMs,
    };
    holdFromGrants(this.sql, allocations, { at: now, holdId, requestId: req.requestId });
    insertHold(this.sql, hold);
    this.reads.holdAdded(hold.expires_at);
    addSpend(this.sql, period.start, scope, { held: hold.amount, captured: 0 });
    fireDebitAlerts(this.sql, account, period.start, req, {
      spend,
      limits: budgetLimits(rules, accountPolicy(account), member.budget, req.action.id),
      scope,
      available,
      now,
    });
    if (limited) recordAdmission(this.sql, member.id, now);
    if (req.idempotency) {
      idempotency.recordInFlight(
        this.sql,
        req.idempotency.key,
        req.idempotency.fingerprint,
        holdId,
        now,
      );
    }

    if (req.action.settlement === "on_request") {
      // Spent at once: capture now, so a crash after admission cannot make it free.
      const charged = this.capture(hold, allocations, hold.amount, null, null, now);
      deleteHold(this.sql, holdId);
      return {
        kind: "admitted",
        holdId,
        caller,
        held: 0,
        charged,
        available: availableCredits(this.sql, now),
      };
    }
    return {
      kind: "admitted",
      holdId,
      caller,
      held: hold.amount,
      charged: 0,
      available: available - hold.amount,
    };
  }

  /** Captures or voids a hold after the upstream answered (or failed). */
  settle(req: SettleRequest, now: number): SettleResult {
    this.currentPeriod(now);
    const hold = takeHold(this.sql, req.holdId);
    if (!hold) {
      idempotency.recordOnRequestStatus(this.sql, req, now);
      return { settled: false, charged: 0, available: availableCredits(this.sql, now) };
    }
    const allocations = holdAllocations(hold);
    if (req.decision === "void") {
      this.void(
        hold,
        allocations,
        req.failure ?? "upstream_status",
        req.upstreamStatus,
        req.durationMs,
        now,
      );
      return { settled: true, charged: 0, available: availableCredits(this.sql, now) };
    }
    const charged = this.capture(
      { ...hold, units: req.units },
      allocations,
      req.credits,
      req.upstreamStatus,
      req.durationMs,
      now,
    );
    return { settled: true, charged, available: availableCredits(this.sql, now) };
  }

  /** Housekeeping the alarm does: roll the period, void lapsed holds, forget old idempotency keys. */
  tick(now: number) {
    this.currentPeriod(now);
    this.expireHolds(now);
    idempotency.purgeExpired(this.sql, now);
  }

  /** Voids every hold whose time-to-live has passed. Returns how many. */
  expireHolds(now: number): number {
    const due = takeDueHolds(this.sql, now);
    for (const hold of due) this.void(hold, holdAllocations(hold), "hold_expired", null, null, now);
    return due.length;
  }

  /** How far a metered capture may go past its hold without passing a budget or cap. */
  private budgetRoom(hold: HoldRow, fromHold: number): number {
    const account = this.memo?.account ?? accountRow(this.sql);
    const member = this.reads.member(hold.member_id);
    if (!account) return 0;
    // The team charged is the one at admission; the member's budget is the one it has now (its
    // own, or its current team's default; null is none, not the admission team's default).
    const rules = this.reads.teamRules(hold.team_id) ?? DEFAULT_TEAM_RULES;
    const memberBudget = member
      ? (member.budget ?? this.reads.teamRules(member.teamId)?.memberBudget ?? null)
      : rules.memberBudget;
    const limits = {
      ...budgetLimits(rules, accountPolicy(account), memberBudget, hold.action),
      member: memberBudget,
    };
    const spend = budgetState(this.sql, hold.period_start, holdScope(hold));
    for (const scope of Object.values(spend)) {
      scope.held -= hold.amount;
      scope.captured += fromHold;
    }
    return budgetHeadroom(limits, spend);
  }

  /** Charges a hold (the caller has already removed its row from `holds`). */
  private capture(
    hold: HoldRow,
    allocations: Allocation[],
    credits: number,
    upstreamStatus: number | null,
    durationMs: number | null,
    now: number,
  ): number {
    const ctx = { at: now, holdId: hold.id, requestId: hold.request_id };
    const fromHold = Math.min(credits, hold.amount);
    const { captured, released } = splitCapture(allocations, fromHold);
    captureFromHeld(this.sql, captured, ctx);
    releaseHeld(this.sql, released, ctx);
    // A metered call may report more than its estimate: charge the rest only as far as the
    // balance and every budget allow, never below zero (I1).
    const extraWanted = credits - fromHold;
    let extra: Allocation[] = [];
    if (extraWanted > 0) {
      const room = Math.min(
        extraWanted,
        availableCredits(this.sql, now),
        this.budgetRoom(hold, fromHold),
      );
      extra = allocate(spendableGrants(this.sql, now), room) ?? [];
      holdFromGrants(this.sql, extra, { ...ctx, reason: "metered_overrun" });
      captureFromHeld(this.sql, extra, { ...ctx, reason: "metered_overrun" });
    }
    const charged = fromHold + sumAllocations(extra);
    const periodStart = hold.period_start;
    addSpend(this.sql, periodStart, holdScope(hold), { held: -hold.amount, captured: charged });
    fireCaptureAlerts(this.sql, this.reads.spendHours(), this.memo, hold.request_id, charged, now);
    const grants = mergeAllocations([...captured, ...extra]);
    this.writeEvent(
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
        remaining: availableCredits(this.sql, now),
      };
      idempotency.recordSettled(this.sql, hold.idempotency_key, outcome, now);
    }
    return charged;
  }

  /** Returns a hold's credits (the caller has already removed its row from `holds`). */
  private void(
    hold: HoldRow,
    allocations: Allocation[],
    reason: string,
    upstreamStatus: number | null,
    durationMs: number | null,
    now: number,
  ) {
    releaseHeld(this.sql, allocations, {
      at: now,
      holdId: hold.id,
      requestId: hold.request_id,
      reason,
    });
    addSpend(this.sql, hold.period_start, holdScope(hold), { held: -hold.amount, captured: 0 });
    this.writeEvent(
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
    if (hold.idempotency_key) idempotency.forget(this.sql, hold.idempotency_key);
  }

  private writeEvent(fields: EventFields, periodStart: number, now: number) {
    const account = this.memo?.account ?? accountRow(this.sql);
    appendEvent(this.sql, account?.id ?? "", fields, periodStart, now);
  }
}
