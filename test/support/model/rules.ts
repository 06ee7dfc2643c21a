/**
 * SPEC §4 after the caller is known, as the model reads it: plan, seat, team allow-list,
 * purpose, rate, budgets in order (team, member, action cap, spend cap), balance. The first
 * rule that fails decides.
 */
import type { PlanId } from "../../../src/ledger/contract";
import {
  type Denial,
  type MMember,
  RATE_WINDOW_MS,
  type Rules,
  type Scope,
  type Spend,
  type Terms,
} from "./types";

const BUDGETS: readonly [Scope, string][] = [
  ["team", "team_budget"],
  ["member", "member_budget"],
  ["action", "action_cap"],
  ["account", "spend_cap"],
];

export interface Situation {
  plan: PlanId;
  terms: Terms;
  member: MMember;
  rules: Rules;
  purpose: string | null;
  /** The member's admissions within the last minute, oldest first. */
  recent: readonly number[];
  limits: Record<Scope, number | null>;
  spend: (scope: Scope) => Spend;
  available: number;
  now: number;
}

/** A refusal by `rule`; the retry delay and the budget's numbers where they apply. */
export function deny(
  code: string,
  rule: string | null,
  more: { retryAfter?: number; limit?: number; used?: number } = {},
): Denial {
  return {
    code,
    rule,
    retryAfter: more.retryAfter ?? null,
    limit: more.limit ?? null,
    used: more.used ?? null,
  };
}

/** The first rule that refuses the call, or null when it may be admitted. */
export function denialOf(s: Situation): Denial | null {
  const { terms, rules } = s;
  if (!terms.plans.includes(s.plan)) return deny("plan_excludes_action", "plan");
  if (terms.seat !== null && s.member.seat !== terms.seat) return deny("seat_required", "seat");
  const listed = rules.allowedActions !== null || rules.allowedCategories !== null;
  if (
    listed &&
    !rules.allowedActions?.includes(terms.id) &&
    !rules.allowedCategories?.includes(terms.category)
  ) {
    return deny("team_not_allowed", "team_allowed");
  }
  if (s.purpose === null && rules.purpose.required) return deny("purpose_required", "purpose");
  if (s.purpose !== null && rules.purpose.allowed && !rules.purpose.allowed.includes(s.purpose)) {
    return deny("purpose_not_allowed", "purpose");
  }
  const limit = rules.memberRateLimitPerMinute;
  if (limit !== null && s.recent.length >= limit) {
    const oldest = s.recent[s.recent.length - limit] ?? s.now;
    const wait = Math.max(1, Math.ceil((oldest + RATE_WINDOW_MS - s.now) / 1000));
    return deny("rate_limited", "member_rate", { retryAfter: wait });
  }
  for (const [scope, rule] of BUDGETS) {
    const cap = s.limits[scope];
    if (cap === null) continue;
    const spent = s.spend(scope);
    const used = spent.captured + spent.held;
    if (used + terms.holdCredits > cap) return deny("budget_exhausted", rule, { limit: cap, used });
  }
  if (s.available < terms.holdCredits) return deny("insufficient_credits", "balance");
  return null;
}
