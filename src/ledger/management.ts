/**
 * Managing the account: its row and policy, grants, teams and their rules, members and keys,
 * the value report's settings, and the balance view. Each function is one decision, synchronous;
 * the object runs it as one transaction. Refusals come back as data (`Outcome`), never as thrown
 * errors.
 */

import { config as configuration } from "../config/bundled";
import type { ProblemInit } from "../lib/problem";
import { iso } from "../lib/time";
import type {
  AccountConfig,
  AccountPatch,
  AddOnHolding,
  BalanceView,
  GrantSource,
  GrantView,
  KeyView,
  MemberPatch,
  MemberView,
  NewAccount,
  NewGrantInput,
  NewKey,
  NewMember,
  Outcome,
  PlanId,
  TeamDetail,
  TeamRules,
  ValueSettings,
  ValueSettingsView,
} from "./contract";
import { forecast } from "./core/forecast";
import { DEFAULT_TEAM_RULES } from "./core/rules";
import { valueSettingsProblem, valueSettingsView } from "./core/value";
import { expireHolds } from "./settlement";
import type { LedgerState } from "./state";
import {
  accountPolicy,
  accountRow,
  accountView,
  insertAccount,
  pendingPlanOf,
  setPlan,
  setStoredPolicy,
  storedPolicy,
  updateAccountRow,
} from "./store/account";
import { addOnsOf, setAddOns as storeAddOns } from "./store/add-ons";
import * as config from "./store/config";
import { accountSpend, spendOf } from "./store/counters";
import { availableCredits, issueGrant, listGrants, overageOf, periodGrants } from "./store/grants";
import { heldTotal } from "./store/holds";
import { syncOverage } from "./store/periods";
import { readValueSettings, writeValueSettings } from "./store/value";

/** The worker checks the account exists before it manages it; this guards against bugs. */
export function requireAccount(s: LedgerState) {
  if (!accountRow(s.sql)) throw new Error("ledger has no account");
}

function refuse(detail: string, field: string): { ok: false; problem: ProblemInit } {
  return { ok: false, problem: { code: "validation_failed", detail, extras: { field } } };
}

/** Creates the account in this object; repeating the same creation is harmless. */
export function createAccount(s: LedgerState, input: NewAccount, now: number): AccountConfig {
  const existing = accountRow(s.sql);
  if (existing) {
    if (existing.id !== input.id) throw new Error("ledger already holds another account");
    return accountView(existing, addOnsOf(s.sql));
  }
  insertAccount(s.sql, input, now);
  s.currentPeriod(now);
  const created = accountRow(s.sql);
  if (!created) throw new Error("account not created");
  return accountView(created, addOnsOf(s.sql));
}

/**
 * Changes name, plan or policy; takes effect on the next request. A new overage limit resizes
 * this period's overage allowance in the same transaction.
 */
export function updateAccount(
  s: LedgerState,
  patch: AccountPatch,
  now: number,
): AccountConfig | null {
  const before = accountRow(s.sql);
  if (!before) return null;
  updateAccountRow(s.sql, patch, now);
  if (patch.policy !== undefined) {
    setStoredPolicy(s.sql, { ...storedPolicy(before), ...patch.policy }, now);
  }
  if (patch.plan !== undefined) changePlan(s, patch.plan, now);
  const after = accountRow(s.sql);
  if (!after) return null;
  if (patch.policy !== undefined || patch.plan !== undefined) {
    // The policy in force may change with either (a plan's overage default): resize the allowance.
    const period = s.currentPeriod(now);
    if (period) syncOverage(s.sql, accountPolicy(after), period, now);
  }
  return accountView(after, addOnsOf(s.sql));
}

/**
 * Moves the account to another plan, as billing systems do: a plan with at least as many
 * included credits applies at once (its actions at once, and the difference as a grant that
 * expires with the period); one with fewer applies from the next period, and until then the
 * account keeps its current plan. Choosing the current plan again cancels a pending change.
 */
function changePlan(s: LedgerState, target: PlanId, now: number) {
  const account = accountRow(s.sql);
  const period = s.currentPeriod(now);
  if (!account || !period) return;
  const credits = (id: PlanId) => configuration.plan(id)?.includedCredits ?? 0;
  const current = account.plan;
  if (target === current) {
    setPlan(s.sql, current, null, now);
    return;
  }
  if (credits(target) < credits(current)) {
    setPlan(s.sql, current, target, now);
    return;
  }
  setPlan(s.sql, target, null, now);
  const difference = credits(target) - credits(current);
  if (difference > 0) {
    issueGrant(
      s.sql,
      {
        amount: difference,
        source: "plan_change",
        priority: 0,
        effectiveAt: now,
        expiresAt: period.end,
        periodStart: period.start,
        note: `plan ${current} -> ${target}`,
      },
      now,
    );
  }
}

/** Replaces the add-ons held (see store/add-ons.ts for when their credits come). */
export function setAddOns(
  s: LedgerState,
  holdings: readonly AddOnHolding[],
  now: number,
): AccountConfig | null {
  const period = s.currentPeriod(now);
  if (!period) return null;
  storeAddOns(s.sql, holdings, period, now);
  const row = accountRow(s.sql);
  return row ? accountView(row, addOnsOf(s.sql)) : null;
}

/** The account's value settings beside the configuration's figures; null without an account. */
export function valueSettings(s: LedgerState): ValueSettingsView | null {
  const own = readValueSettings(s.sql);
  return own ? valueSettingsView(own, configuration.value) : null;
}

/** Replaces the account's value settings, unless they would leave the report no whole value. */
export function setValueSettings(
  s: LedgerState,
  input: ValueSettings,
  now: number,
): Outcome<ValueSettingsView> | null {
  if (!accountRow(s.sql)) return null;
  const problem = valueSettingsProblem(input, configuration.value);
  if (problem) return { ok: false, problem };
  writeValueSettings(s.sql, input, now);
  return { ok: true, value: valueSettingsView(input, configuration.value) };
}

function defaultPriority(source: GrantSource): number {
  return source === "pack" ? 10 : source === "adjustment" ? 5 : 0;
}

export function grant(s: LedgerState, input: NewGrantInput, now: number): GrantView {
  requireAccount(s);
  return issueGrant(
    s.sql,
    {
      amount: input.amount,
      source: input.source,
      priority: input.priority ?? defaultPriority(input.source),
      effectiveAt: input.effectiveAt ?? now,
      expiresAt: input.expiresAt ?? null,
      periodStart: null,
      note: input.note ?? null,
    },
    now,
  );
}

export function teamDetail(s: LedgerState, id: string, now: number): TeamDetail | null {
  const team = config.getTeam(s.sql, id);
  const period = s.currentPeriod(now);
  if (!team || !period) return null;
  const rules = config.teamRules(s.sql, id) ?? DEFAULT_TEAM_RULES;
  return { ...team, rules, spend: spendOf(s.sql, period.start, "team", id) };
}

/** Deletes a team with no members; refused while it has any. */
export function deleteTeam(s: LedgerState, id: string, now: number): Outcome<null> | null {
  if (!config.getTeam(s.sql, id)) return null;
  const members = config.teamMemberCount(s.sql, id);
  if (members > 0) {
    const detail = `Team ${id} still has ${members} member(s); move or delete them first.`;
    return { ok: false, problem: { code: "conflict", detail, extras: { members } } };
  }
  config.deleteTeam(s.sql, id, now);
  return { ok: true, value: null };
}

/** Replaces a team's rules; the next request is decided by them. */
export function setTeamRules(s: LedgerState, id: string, rules: TeamRules): TeamRules | null {
  if (!config.getTeam(s.sql, id)) return null;
  config.setTeamRules(s.sql, id, rules);
  return config.teamRules(s.sql, id);
}

export function createMember(s: LedgerState, input: NewMember, now: number): Outcome<MemberView> {
  requireAccount(s);
  if (!config.getTeam(s.sql, input.teamId)) {
    return refuse(`Team ${input.teamId} does not exist.`, "teamId");
  }
  return { ok: true, value: config.createMember(s.sql, input, now) };
}

export function updateMember(
  s: LedgerState,
  id: string,
  patch: MemberPatch,
): Outcome<MemberView> | null {
  if (!config.getMember(s.sql, id)) return null;
  if (patch.teamId !== undefined && !config.getTeam(s.sql, patch.teamId)) {
    return refuse(`Team ${patch.teamId} does not exist.`, "teamId");
  }
  const member = config.updateMember(s.sql, id, patch);
  return member ? { ok: true, value: member } : null;
}

export function createKey(s: LedgerState, input: NewKey, now: number): Outcome<KeyView> {
  requireAccount(s);
  if (input.memberId !== null && !config.getMember(s.sql, input.memberId)) {
    return refuse(`Member ${input.memberId} does not exist.`, "memberId");
  }
  return { ok: true, value: config.createKey(s.sql, input, now) };
}

/** The balance now: available, held, this period's spend, grants, holds and the forecast. */
export function balance(s: LedgerState, now: number): BalanceView | null {
  const { sql } = s;
  const period = s.currentPeriod(now);
  if (!period) return null;
  expireHolds(s, now);
  const holds = heldTotal(sql);
  const overage = overageOf(sql, period.start);
  const account = accountRow(sql);
  const policy = account ? accountPolicy(account) : null;
  const available = availableCredits(sql, now) - (overage?.remaining ?? 0);
  const captured = accountSpend(sql, period.start).captured;
  return {
    plan: account?.plan ?? "",
    pendingPlan: account ? pendingPlanOf(account) : null,
    available,
    overage: {
      policy: policy?.overage.policy ?? "block",
      limit: overage?.amount ?? 0,
      used: (overage?.held ?? 0) + (overage?.captured ?? 0),
      available: overage?.remaining ?? 0,
    },
    held: holds.amount,
    capturedThisPeriod: captured,
    period: { start: iso(period.start), end: iso(period.end) },
    // Read in this transaction, so the forecast agrees with the available credits shown.
    forecast: forecast({
      now,
      period,
      available,
      // The hourly spend the forecast alert reads too, so the two agree (ledger V13).
      capturedLast7Days: s.reads.spendHours().last7Days(now),
      capturedThisPeriod: captured,
      accountCreatedAt: account?.created_at ?? now,
    }),
    grants: listGrants(sql, now, true),
    periodGrants: periodGrants(sql, period),
    holds: {
      count: holds.count,
      oldestExpiresAt: holds.oldestExpiresAt === null ? null : iso(holds.oldestExpiresAt),
    },
  };
}
