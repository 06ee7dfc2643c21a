/**
 * The account row: who the account is, its plan, billing anchor, current period, policy, alert
 * settings and webhook. One row per ledger object.
 */

import { config } from "../../config/bundled";
import { iso } from "../../lib/time";
import type { AccountConfig, AddOnHolding, NewAccount, PlanId } from "../contract";
import type { AlertSettings } from "../core/alerts";
import { type AccountPolicy, DEFAULT_POLICY } from "../core/rules";

export interface AccountRow {
  id: string;
  name: string;
  plan: PlanId;
  /** A plan with fewer included credits, which takes over when the current period ends. */
  pending_plan: PlanId | null;
  billing_anchor_day: number;
  period_start: number | null;
  period_end: number | null;
  policy: string;
  /** Alert settings as JSON (issue 6); '{}' means the defaults. */
  alert_settings: string;
  webhook_url: string | null;
  webhook_secret: string | null;
  webhook_updated_at: number | null;
  /** The account's own value settings as JSON (issue 16, store/value.ts); null: none set. */
  value_settings: string | null;
  created_at: number;
  updated_at: number;
  [key: string]: SqlStorageValue;
}

export function accountRow(sql: SqlStorage): AccountRow | null {
  return sql.exec<AccountRow>("SELECT * FROM account LIMIT 1").toArray()[0] ?? null;
}

export function insertAccount(sql: SqlStorage, input: NewAccount, now: number) {
  sql.exec(
    `INSERT INTO account (id, name, plan, billing_anchor_day, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
    input.id,
    input.name,
    input.plan,
    input.billingAnchorDay,
    now,
    now,
  );
}

/** Changes the name given (undefined: unchanged) and marks the row updated. */
export function updateAccountRow(
  sql: SqlStorage,
  change: { name?: string | undefined },
  now: number,
) {
  if (change.name !== undefined) sql.exec("UPDATE account SET name = ?", change.name);
  sql.exec("UPDATE account SET updated_at = ?", now);
}

/** Moves the account's creation back to `at` if that is earlier (demo history only). */
export function backdateAccount(sql: SqlStorage, at: number) {
  sql.exec("UPDATE account SET created_at = MIN(created_at, ?)", at);
}

/** What the operator set of the account's policy (the rest comes from its plan or defaults). */
export function storedPolicy(row: AccountRow): Partial<AccountPolicy> {
  return JSON.parse(row.policy || "{}") as Partial<AccountPolicy>;
}

/**
 * The account's policy: what the operator set, else its plan's defaults (`rolloverCap`,
 * `overage` in the configuration), else the gateway's defaults.
 */
export function accountPolicy(row: AccountRow): AccountPolicy {
  const plan = config.plan(row.plan);
  const fromPlan: Partial<AccountPolicy> = {};
  if (plan?.rolloverCap !== undefined) fromPlan.rolloverCap = plan.rolloverCap;
  if (plan?.overage !== undefined) fromPlan.overage = { ...plan.overage };
  return { ...DEFAULT_POLICY, ...fromPlan, ...storedPolicy(row) };
}

/** Stores what the operator set of the policy (not the defaults it falls back to). */
export function setStoredPolicy(sql: SqlStorage, policy: Partial<AccountPolicy>, now: number) {
  sql.exec("UPDATE account SET policy = ?, updated_at = ?", JSON.stringify(policy), now);
}

/** Sets the plan now, or the plan that takes over at the period's end (null: none waiting). */
export function setPlan(sql: SqlStorage, plan: PlanId, pending: PlanId | null, now: number) {
  sql.exec("UPDATE account SET plan = ?, pending_plan = ?, updated_at = ?", plan, pending, now);
}

export function writeAlertSettings(sql: SqlStorage, settings: AlertSettings, now: number) {
  sql.exec("UPDATE account SET alert_settings = ?, updated_at = ?", JSON.stringify(settings), now);
}

/** The plan waiting for the period's end, and when it takes over; null when none waits. */
export function pendingPlanOf(row: AccountRow): AccountConfig["pendingPlan"] {
  return row.pending_plan !== null && row.period_end !== null
    ? { plan: row.pending_plan, from: iso(row.period_end) }
    : null;
}

export function accountView(row: AccountRow, addOns: AddOnHolding[]): AccountConfig {
  const policy = accountPolicy(row);
  return {
    id: row.id,
    name: row.name,
    plan: row.plan,
    pendingPlan: pendingPlanOf(row),
    addOns,
    billingAnchorDay: row.billing_anchor_day,
    overagePolicy: policy.overage.policy,
    policy,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}
