/**
 * The reference model of one account's ledger: SPEC §2-§4 written as plainly as possible, with
 * no storage, no SQL and no code shared with src/ledger (only its types). It is the one model
 * every test that checks the ledger against a reference uses: the ledger's model property test
 * (grants, holds, expiry, periods), the rules property test (rules, budgets, rate limits,
 * members) and the deterministic simulation (all of it, through the gateway). Each runs its
 * operations on the real ledger and on this model and compares them; a disagreement is a bug
 * in one of them.
 *
 * Housekeeping is lazy in the ledger (a period rolls, grants and holds lapse when something
 * touches the account), so the model has the same entry points: `touch` for what every
 * decision does first, `expireHolds`, and `tick` for the alarm.
 */
import type { PlanId } from "../../../src/ledger/contract";
import { Books } from "./books";
import { EnrichedRecords } from "./records";
import { denialOf, deny } from "./rules";
import {
  type Admission,
  DEFAULT_POLICY,
  type Denial,
  HOLD_TTL_MS,
  IDEMPOTENCY_TTL_MS,
  INCLUDED,
  type MHold,
  type MIdem,
  type MKey,
  type MMember,
  type MRecordsRequest,
  OPEN_RULES,
  OVERAGE_PRIORITY,
  type Policy,
  periodOf,
  RATE_WINDOW_MS,
  type Rules,
  type Scope,
  type SettleAsk,
  type Terms,
} from "./types";

export interface AdmitRequest {
  secret: string;
  terms: Terms;
  purpose: string | null;
  idem: { key: string; fingerprint: string } | null;
  dryRun: boolean;
  requestId: string;
  /** For an action with dedupe (issue 16): the call's records by key; absent or null: none. */
  records?: MRecordsRequest | null;
}

export class LedgerModel extends Books {
  policy: Policy = structuredClone(DEFAULT_POLICY);
  /** A plan with fewer included credits, waiting for the period's end. */
  pendingPlan: PlanId | null = null;
  periodStart: number | null = null;
  periodEnd: number | null = null;
  idem = new Map<string, MIdem>();
  /** Admission times per member, recorded only while its team had a rate limit. */
  rate = new Map<string, number[]>();
  teams = new Map<string, Rules>();
  members = new Map<string, MMember>();
  keys: MKey[] = [];
  /** Per dedupe group, the keys enriched and the keys taken by calls in flight. */
  records = new EnrichedRecords();

  constructor(
    public plan: PlanId,
    readonly anchorDay: number,
  ) {
    super();
  }

  /** The budget limits of a call by a member with `memberBudget`, under `rules` (null: none). */
  limits(
    rules: Rules,
    memberBudget: number | null,
    actionId: string,
  ): Record<Scope, number | null> {
    return {
      team: rules.teamBudget,
      member: memberBudget ?? rules.memberBudget,
      action: this.policy.actionCaps[actionId] ?? null,
      account: this.policy.monthlySpendCap,
    };
  }

  // ---- periods and housekeeping -------------------------------------------------------------

  /** What every decision does first: roll into the period containing `now`, expire lapsed grants. */
  touch(now: number) {
    if (this.periodStart !== null && this.periodEnd !== null && now < this.periodEnd) {
      this.expireGrants(now);
      return;
    }
    const period = periodOf(this.anchorDay, now);
    let rollover = 0;
    // Only the period right before this one rolls over, and only its included grant.
    if (this.policy.rolloverCap > 0 && this.periodEnd === period.start) {
      const last = this.grants.find(
        (g) => g.source === "included" && g.periodStart === this.periodStart,
      );
      rollover = Math.min(this.policy.rolloverCap, last?.remaining ?? 0);
    }
    this.expireGrants(now);
    // A smaller plan chosen during the last period takes over with this one.
    if (this.pendingPlan !== null && (this.periodEnd ?? 0) <= period.start) {
      this.plan = this.pendingPlan;
      this.pendingPlan = null;
    }
    const base = { effectiveAt: period.start, expiresAt: period.end, periodStart: period.start };
    const issued = (source: string) =>
      this.grants.some((g) => g.source === source && g.periodStart === period.start);
    if (!issued("included")) {
      this.issue({ ...base, source: "included", priority: 0, amount: INCLUDED[this.plan] ?? 0 });
    }
    if (rollover > 0 && !issued("rollover")) {
      this.issue({ ...base, source: "rollover", priority: 0, amount: rollover });
    }
    this.periodStart = period.start;
    this.periodEnd = period.end;
    this.syncOverage();
  }

  /** The period's overage allowance follows the policy; what is used is never taken back. */
  private syncOverage() {
    const start = this.periodStart;
    const end = this.periodEnd;
    if (start === null || end === null) return;
    const target = this.policy.overage.policy === "allow" ? this.policy.overage.limit : 0;
    const current = this.grants.find((g) => g.source === "overage" && g.periodStart === start);
    if (!current) {
      if (target > 0) {
        this.issue({
          source: "overage",
          priority: OVERAGE_PRIORITY,
          effectiveAt: start,
          expiresAt: end,
          periodStart: start,
          amount: target,
        });
      }
      return;
    }
    const used = current.held + current.captured + current.expired;
    const delta = Math.max(0, target - used) - current.remaining;
    current.amount += delta;
    current.remaining += delta;
  }

  /** Voids every hold whose time-to-live has passed. */
  expireHolds(now: number) {
    const due = this.holds
      .filter((h) => h.expiresAt <= now)
      .sort((a, b) => a.expiresAt - b.expiresAt);
    for (const hold of due) this.void(hold, "hold_expired", now);
  }

  /** The alarm's housekeeping: roll, expire holds, forget lapsed idempotency keys. */
  tick(now: number) {
    this.touch(now);
    this.expireHolds(now);
    for (const [key, record] of this.idem) if (record.expiresAt <= now) this.idem.delete(key);
  }

  /** The operator's policy change; the period's overage allowance follows it at once. */
  /**
   * SPEC §2: a plan with at least as many included credits applies at once, the difference
   * granted until the period ends; one with fewer waits for the next period.
   */
  changePlan(target: PlanId, now: number) {
    this.touch(now);
    const credits = (plan: PlanId) => INCLUDED[plan] ?? 0;
    if (target === this.plan) {
      this.pendingPlan = null;
      return;
    }
    if (credits(target) < credits(this.plan)) {
      this.pendingPlan = target;
      return;
    }
    const difference = credits(target) - credits(this.plan);
    this.plan = target;
    this.pendingPlan = null;
    if (difference > 0 && this.periodStart !== null && this.periodEnd !== null) {
      this.issue({
        source: "plan_change",
        priority: 0,
        effectiveAt: now,
        expiresAt: this.periodEnd,
        periodStart: this.periodStart,
        amount: difference,
      });
    }
  }

  setPolicy(patch: Partial<Policy>, now: number) {
    this.policy = { ...this.policy, ...structuredClone(patch) };
    this.touch(now);
    this.syncOverage();
  }

  // ---- decisions ----------------------------------------------------------------------------

  /** SPEC §3 step 3 and §4: one decision; on admission the hold (on_request: the charge). */
  admit(req: AdmitRequest, now: number): Admission {
    this.touch(now);
    this.expireHolds(now);
    const period = this.periodStart ?? 0;
    const key = this.keys.find((k) => k.secret === req.secret);
    if (!key) return { kind: "unknown_key" };
    const member = key.memberId ? (this.members.get(key.memberId) ?? null) : null;
    const refuse = (denial: Denial): Admission => {
      if (!req.dryRun) {
        this.event({
          requestId: req.requestId,
          outcome: "denied",
          credits: 0,
          reason: denial.code,
          idemKey: req.idem?.key ?? null,
          periodStart: period,
        });
      }
      return { kind: "denied", ...denial };
    };
    if (key.revoked) return refuse(deny("invalid_key", "key"));
    if (key.role !== "member" || !member) return refuse(deny("forbidden", "role"));
    if (!member.active) return refuse(deny("invalid_key", "member"));

    const record = req.idem && !req.dryRun ? this.idem.get(req.idem.key) : undefined;
    if (req.idem && record && record.expiresAt > now) {
      if (record.fingerprint !== req.idem.fingerprint) {
        return { kind: "idempotency", code: "idempotency_mismatch" };
      }
      if (record.state === "in_flight" || !record.outcome) {
        return { kind: "idempotency", code: "idempotency_in_progress" };
      }
      return { kind: "replay", ...record.outcome, requestId: record.requestId };
    }

    // With dedupe the call is priced for the records left once enriched, in-flight and repeated
    // ones are skipped; the rules and the balance then judge that price.
    const decided = req.records ? this.records.decide(req.records, req.terms.price, now) : null;
    const terms = decided
      ? { ...req.terms, units: decided.units, holdCredits: decided.credits }
      : req.terms;
    const dedupe = decided?.dedupe ?? null;
    const rules = this.teams.get(member.teamId) ?? OPEN_RULES;
    const recent = (this.rate.get(member.id) ?? []).filter((t) => t > now - RATE_WINDOW_MS);
    const ids = { team: member.teamId, member: member.id, action: terms.id, account: "*" };
    const denial = denialOf({
      plan: this.plan,
      terms,
      member,
      rules,
      purpose: req.purpose,
      recent,
      limits: this.limits(rules, member.budget, terms.id),
      spend: (scope) => this.spend(period, scope, ids[scope]),
      available: this.available(now),
      now,
    });
    if (denial) return refuse(denial);
    if (req.dryRun) return { kind: "quote", credits: terms.holdCredits, dedupe };
    if (dedupe && terms.units === 0) {
      // Nothing left to charge: served by the gateway, recorded as captured for 0 credits.
      this.event({
        requestId: req.requestId,
        outcome: "captured",
        credits: 0,
        reason: "deduplicated",
        idemKey: req.idem?.key ?? null,
        periodStart: period,
        records: { charged: 0, skipped: dedupe.skipped, saved: dedupe.saved, keys: [] },
      });
      if (rules.memberRateLimitPerMinute !== null) this.rate.set(member.id, [...recent, now]);
      if (req.idem) {
        this.idem.set(req.idem.key, {
          fingerprint: req.idem.fingerprint,
          state: "settled",
          requestId: req.requestId,
          outcome: { charged: 0, status: 200 },
          expiresAt: now + IDEMPOTENCY_TTL_MS,
        });
      }
      return { kind: "skipped", dedupe };
    }

    const hold: MHold = {
      requestId: req.requestId,
      amount: terms.holdCredits,
      allocations: this.take(now, terms.holdCredits),
      expiresAt: now + HOLD_TTL_MS,
      periodStart: period,
      teamId: member.teamId,
      memberId: member.id,
      actionId: terms.id,
      idemKey: req.idem?.key ?? null,
      records:
        decided && dedupe && req.records
          ? {
              group: req.records.group,
              keys: decided.fresh,
              charged: dedupe.charged,
              skipped: dedupe.skipped,
              saved: dedupe.saved,
            }
          : null,
    };
    this.holds.push(hold);
    if (hold.records) this.records.take(hold.records.group, hold.records.keys, hold.requestId);
    this.addSpend(period, hold, { captured: 0, held: hold.amount });
    if (rules.memberRateLimitPerMinute !== null) this.rate.set(member.id, [...recent, now]);
    if (req.idem) {
      this.idem.set(req.idem.key, {
        fingerprint: req.idem.fingerprint,
        state: "in_flight",
        requestId: req.requestId,
        outcome: null,
        expiresAt: now + IDEMPOTENCY_TTL_MS,
      });
    }
    const charged =
      terms.settlement === "on_request" ? this.capture(hold, hold.amount, null, now) : 0;
    return { kind: "admitted", hold, charged, dedupe };
  }

  /** Settles the hold of `requestId`; not settled when it had already expired or been settled. */
  settle(
    requestId: string,
    idemKey: string | null,
    ask: SettleAsk,
    now: number,
  ): { settled: boolean; charged: number } {
    this.touch(now);
    const hold = this.holds.find((h) => h.requestId === requestId);
    if (!hold) {
      // An on_request call was charged at admission; its settle only records the status.
      const record = idemKey ? this.idem.get(idemKey) : undefined;
      const own = record?.state === "settled" && record.requestId === requestId;
      if (record?.outcome && own && record.expiresAt > now && ask.upstreamStatus !== null) {
        record.outcome.status = ask.upstreamStatus;
      }
      return { settled: false, charged: 0 };
    }
    if (ask.decision === "void") {
      this.void(hold, ask.failure ?? "upstream_status", now);
      return { settled: true, charged: 0 };
    }
    return { settled: true, charged: this.capture(hold, ask.credits, ask.upstreamStatus, now) };
  }

  private void(hold: MHold, reason: string, now: number) {
    this.release(now, hold.allocations);
    this.holds = this.holds.filter((h) => h !== hold);
    this.addSpend(hold.periodStart, hold, { captured: 0, held: -hold.amount });
    // The records it took were not enriched: another call may charge them now.
    if (hold.records) this.records.giveBack(hold.records.group, hold.records.keys, hold.requestId);
    this.event({
      requestId: hold.requestId,
      outcome: "voided",
      credits: 0,
      reason,
      idemKey: hold.idemKey,
      periodStart: hold.periodStart,
      records: eventRecords(hold),
    });
    // Nothing was charged: a retry with the same key is a new attempt.
    if (hold.idemKey) this.idem.delete(hold.idemKey);
  }

  /** Captures `credits`: from the hold first, then (metered) as far as balance and budgets allow. */
  private capture(hold: MHold, credits: number, status: number | null, now: number): number {
    const fromHold = Math.min(credits, hold.amount);
    let left = fromHold;
    const released: { seq: number; amount: number }[] = [];
    for (const a of hold.allocations) {
      const t = Math.min(a.amount, left);
      left -= t;
      this.captureHeld([{ seq: a.seq, amount: t }]);
      if (a.amount - t > 0) released.push({ seq: a.seq, amount: a.amount - t });
    }
    this.release(now, released);
    let extra = 0;
    if (credits > fromHold) {
      extra = Math.min(credits - fromHold, this.available(now), this.budgetRoom(hold, fromHold));
      this.captureHeld(this.take(now, extra));
    }
    const charged = fromHold + extra;
    this.addSpend(hold.periodStart, hold, { captured: charged, held: -hold.amount });
    this.holds = this.holds.filter((h) => h !== hold);
    // Its records are enriched now, for the window.
    if (hold.records)
      this.records.enrich(hold.records.group, hold.records.keys, hold.requestId, now);
    this.event({
      requestId: hold.requestId,
      outcome: "captured",
      credits: charged,
      reason: charged < credits ? "capped_at_balance" : null,
      idemKey: hold.idemKey,
      periodStart: hold.periodStart,
      records: eventRecords(hold),
    });
    const record = hold.idemKey ? this.idem.get(hold.idemKey) : undefined;
    if (record) {
      record.state = "settled";
      record.outcome = { charged, status: status ?? 0 };
      // A capture restarts the key's 24 h: a hold settled after its TTL must still replay
      // (I3, seed 7001).
      record.expiresAt = now + IDEMPOTENCY_TTL_MS;
    }
    return charged;
  }

  /** How far a metered capture may pass its hold: the team at admission, the member's budget now. */
  private budgetRoom(hold: MHold, fromHold: number): number {
    const rules = this.teams.get(hold.teamId) ?? OPEN_RULES;
    const member = this.members.get(hold.memberId);
    // Its own budget, or its current team's default; none there is none, not the default of
    // the team it was in at admission (the rules property test's MOVED_TO_NO_DEFAULT).
    const memberBudget = member
      ? (member.budget ?? this.teams.get(member.teamId)?.memberBudget ?? null)
      : rules.memberBudget;
    const limits = { ...this.limits(rules, memberBudget, hold.actionId), member: memberBudget };
    let room = Number.POSITIVE_INFINITY;
    for (const [scope, id] of this.scopesOf(hold)) {
      const cap = limits[scope];
      if (cap === null) continue;
      const s = this.spend(hold.periodStart, scope, id);
      room = Math.min(room, cap - (s.captured + fromHold) - (s.held - hold.amount));
    }
    return Math.max(0, room);
  }

  /** GET /v1/balance: it rolls the period and voids lapsed holds before it answers. */
  balance(now: number): { available: number; held: number; capturedThisPeriod: number } {
    this.touch(now);
    this.expireHolds(now);
    const overage = this.grants.find(
      (g) => g.source === "overage" && g.periodStart === this.periodStart,
    );
    return {
      available: this.available(now) - (overage?.remaining ?? 0),
      held: this.holds.reduce((sum, h) => sum + h.amount, 0),
      capturedThisPeriod: this.spend(this.periodStart ?? 0, "account", "*").captured,
    };
  }
}

/** A hold's event fields for dedupe: what the hold took, or null without dedupe. */
function eventRecords(hold: MHold) {
  const r = hold.records;
  if (!r) return null;
  return { charged: r.charged, skipped: r.skipped, saved: r.saved, keys: [...r.keys] };
}
