/**
 * Team rules and account policy (SPEC §4) as plain data, and the checks that read them. Pure:
 * the ledger object loads the state, these functions say yes or which rule says no.
 */
import type { ProblemInit } from "../../lib/problem";
import { MINUTE_MS } from "../../lib/time";
import type { ActionTerms, Category } from "./terms";

/** What an admin sets per team. Null means "no limit" / "anything the plan includes". */
export interface TeamRules {
  allowedActions: string[] | null;
  allowedCategories: Category[] | null;
  purpose: { required: boolean; allowed: string[] | null };
  memberRateLimitPerMinute: number | null;
  teamBudget: number | null;
  memberBudget: number | null;
}

export const DEFAULT_TEAM_RULES: TeamRules = {
  allowedActions: null,
  allowedCategories: null,
  purpose: { required: false, allowed: null },
  memberRateLimitPerMinute: null,
  teamBudget: null,
  memberBudget: null,
};

/** What the operator sets per account (and the admin sees). */
export interface AccountPolicy {
  overage: { policy: "block" | "allow"; limit: number };
  monthlySpendCap: number | null;
  rolloverCap: number;
  /** Per-action monthly caps for the whole account, in credits. */
  actionCaps: Record<string, number>;
}

export const DEFAULT_POLICY: AccountPolicy = {
  overage: { policy: "block", limit: 0 },
  monthlySpendCap: null,
  rolloverCap: 0,
  actionCaps: {},
};

/** Credits captured and held in the current period, for one budget's scope. */
export interface Spend {
  captured: number;
  held: number;
}

export interface BudgetState {
  team: Spend;
  member: Spend;
  action: Spend;
  account: Spend;
}

function extras(action: ActionTerms, rule: string, more: Record<string, unknown> = {}) {
  return { action: action.id, credits: action.holdCredits, units: action.units, rule, ...more };
}

/** Team allow-lists: an action passes if it is listed, or its category is. */
export function checkTeamAllows(rules: TeamRules, action: ActionTerms): ProblemInit | null {
  const { allowedActions, allowedCategories } = rules;
  if (allowedActions === null && allowedCategories === null) return null;
  if (
    allowedActions?.includes(action.id) ||
    allowedCategories?.includes(action.category as Category)
  )
    return null;
  return {
    code: "team_not_allowed",
    detail: `This member's team may not use ${action.id} (${action.category}).`,
    extras: extras(action, "team_allowed", {
      allowedActions: allowedActions ?? [],
      allowedCategories: allowedCategories ?? [],
    }),
  };
}

export function checkPurpose(
  rules: TeamRules,
  action: ActionTerms,
  purpose: string | null,
): ProblemInit | null {
  if (purpose === null) {
    if (!rules.purpose.required) return null;
    return {
      code: "purpose_required",
      detail: "This team must say why it spends credits: send X-Credit-Purpose.",
      extras: extras(action, "purpose", { allowedPurposes: rules.purpose.allowed ?? [] }),
    };
  }
  if (rules.purpose.allowed === null || rules.purpose.allowed.includes(purpose)) return null;
  return {
    code: "purpose_not_allowed",
    detail: `Purpose "${purpose}" is not one this team allows.`,
    extras: extras(action, "purpose", { purpose, allowedPurposes: rules.purpose.allowed }),
  };
}

/** The window of a member's per-minute rate limit. */
export const RATE_WINDOW_MS = MINUTE_MS;

/** `recent` = the member's admissions in the last minute, oldest first (epoch ms). */
export function checkRate(
  rules: TeamRules,
  action: ActionTerms,
  recent: readonly number[],
  now: number,
): { problem: ProblemInit; retryAfterSeconds: number } | null {
  const limit = rules.memberRateLimitPerMinute;
  if (limit === null || recent.length < limit) return null;
  // The call may go once the oldest of the last `limit` admissions leaves the window.
  const oldest = recent[recent.length - limit] ?? now;
  const retryAfterSeconds = Math.max(1, Math.ceil((oldest + RATE_WINDOW_MS - now) / 1000));
  return {
    problem: {
      code: "rate_limited",
      detail: `This member may make ${limit} credit calls per minute; retry in ${retryAfterSeconds} s.`,
      extras: extras(action, "member_rate", { limitPerMinute: limit }),
    },
    retryAfterSeconds,
  };
}

/** Budgets and caps, in SPEC order: team, member, per-action cap, account spend cap. */
export function checkBudgets(
  action: ActionTerms,
  limits: {
    team: number | null;
    member: number | null;
    action: number | null;
    account: number | null;
  },
  spend: BudgetState,
): ProblemInit | null {
  const order = [
    ["team", "team_budget"],
    ["member", "member_budget"],
    ["action", "action_cap"],
    ["account", "spend_cap"],
  ] as const;
  for (const [scope, rule] of order) {
    const limit = limits[scope];
    if (limit === null) continue;
    const used = spend[scope].captured + spend[scope].held;
    if (used + action.holdCredits <= limit) continue;
    return {
      code: "budget_exhausted",
      detail: `${action.id} needs ${action.holdCredits} credits; the ${rule.replace("_", " ")} has ${Math.max(0, limit - used)} of ${limit} left this period.`,
      extras: extras(action, rule, { limit, used, remaining: Math.max(0, limit - used) }),
    };
  }
  return null;
}

/** How much more a metered capture may take past its hold without passing any budget. */
export function budgetHeadroom(
  limits: {
    team: number | null;
    member: number | null;
    action: number | null;
    account: number | null;
  },
  spend: BudgetState,
): number {
  let room = Number.POSITIVE_INFINITY;
  for (const scope of ["team", "member", "action", "account"] as const) {
    const limit = limits[scope];
    if (limit === null) continue;
    room = Math.min(room, limit - spend[scope].captured - spend[scope].held);
  }
  return Math.max(0, room);
}
