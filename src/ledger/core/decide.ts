/**
 * The admission rules of SPEC §4 as pure functions: given the caller, the account and the
 * action, the first rule that fails decides. The ledger object feeds them its stored state.
 */
import type { ProblemInit } from "../../lib/problem";
import {
  type AccountPolicy,
  type BudgetState,
  checkBudgets,
  checkPurpose,
  checkRate,
  checkTeamAllows,
  type TeamRules,
} from "./rules";
import type { ActionTerms, PlanId, Seat } from "./terms";

export interface CallerState {
  role: "admin" | "member" | "finance";
  keyRevoked: boolean;
  member: { active: boolean; seat: Seat } | null;
}

function priceExtras(action: ActionTerms) {
  return { action: action.id, credits: action.holdCredits, units: action.units };
}

/** Checks who is calling: key, role and member. Null when the caller may spend. */
export function checkCaller(caller: CallerState, action: ActionTerms): ProblemInit | null {
  if (caller.keyRevoked) {
    return {
      code: "invalid_key",
      detail: "This API key has been revoked.",
      extras: { ...priceExtras(action), rule: "key" },
    };
  }
  if (caller.role !== "member" || caller.member === null) {
    return {
      code: "forbidden",
      detail: `A ${caller.role} key cannot call credit features; use a member key.`,
      extras: { ...priceExtras(action), rule: "role" },
    };
  }
  if (!caller.member.active) {
    return {
      code: "invalid_key",
      detail: "The member of this key is deactivated.",
      extras: { ...priceExtras(action), rule: "member" },
    };
  }
  return null;
}

/** Checks what the account's plan and the member's seat allow. */
function checkEntitlement(plan: PlanId, seat: Seat, action: ActionTerms): ProblemInit | null {
  if (!action.plans.includes(plan)) {
    const including = action.plans.length > 0 ? action.plans.join(", ") : "none";
    return {
      code: "plan_excludes_action",
      detail: `The ${plan} plan does not include ${action.id}; plans that do: ${including}.`,
      extras: { ...priceExtras(action), rule: "plan", plan, includedIn: [...action.plans] },
    };
  }
  if (action.seat !== null && action.seat !== "none" && seat !== action.seat) {
    return {
      code: "seat_required",
      detail: `${action.id} needs a ${action.seat} seat; this member holds ${seat}.`,
      extras: { ...priceExtras(action), rule: "seat", seat, requiredSeat: action.seat },
    };
  }
  return null;
}

/** Checks the balance (overage policy `block`: the grants must cover the hold). */
function checkBalance(available: number, action: ActionTerms): ProblemInit | null {
  if (available >= action.holdCredits) return null;
  return {
    code: "insufficient_credits",
    detail: `${action.id} needs ${action.holdCredits} credits; ${available} are available.`,
    extras: { ...priceExtras(action), rule: "balance", available },
  };
}

/** Everything a decision reads, loaded by the ledger from its own storage. */
export interface AdmissionState {
  /** The account's plan. */
  plan: PlanId;
  seat: Seat;
  rules: TeamRules;
  policy: AccountPolicy;
  /** The member's own budget, overriding the team's default member budget. */
  memberBudget: number | null;
  purpose: string | null;
  /** The member's admissions in the last minute (only read when the team has a rate limit). */
  recent: readonly number[];
  spend: BudgetState;
  /** Spendable credits, the overage allowance included. */
  available: number;
  now: number;
}

export interface Denial {
  problem: ProblemInit;
  retryAfterSeconds?: number;
}

/** The budget limits that apply to a call (null: none). */
export function budgetLimits(
  rules: TeamRules,
  policy: AccountPolicy,
  memberBudget: number | null,
  actionId: string,
) {
  return {
    team: rules.teamBudget,
    member: memberBudget ?? rules.memberBudget,
    action: policy.actionCaps[actionId] ?? null,
    account: policy.monthlySpendCap,
  };
}

/**
 * SPEC §4 after the caller is known: plan, seat, team allow-list, purpose, rate, budgets and
 * caps, balance. All-or-nothing; the first rule that fails decides.
 */
export function decideAdmission(action: ActionTerms, s: AdmissionState): Denial | null {
  const first =
    checkEntitlement(s.plan, s.seat, action) ??
    checkTeamAllows(s.rules, action) ??
    checkPurpose(s.rules, action, s.purpose);
  if (first) return { problem: first };
  const rate = checkRate(s.rules, action, s.recent, s.now);
  if (rate) return rate;
  const limits = budgetLimits(s.rules, s.policy, s.memberBudget, action.id);
  const budget = checkBudgets(action, limits, s.spend) ?? checkBalance(s.available, action);
  return budget ? { problem: budget } : null;
}
