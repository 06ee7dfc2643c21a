/**
 * The account row: who the account is, its plan, billing anchor, current period, policy, alert
 * settings and webhook. One row per ledger object.
 */
import { iso } from "../../lib/time";
import type { AccountConfig, NewAccount, PlanId } from "../contract";
import type { AlertSettings } from "../core/alerts";
import { type AccountPolicy, DEFAULT_POLICY } from "../core/rules";

export interface AccountRow {
  id: string;
  name: string;
  plan: PlanId;
  billing_anchor_day: number;
  period_start: number | null;
  period_end: number | null;
  policy: string;
  /** Alert settings as JSON (issue 6); '{}' means the defaults. */
  alert_settings: string;
  webhook_url: string | null;
  webhook_secret: string | null;
  webhook_updated_at: number | null;
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

/** Changes the name and plan given (undefined: unchanged) and marks the row updated. */
export function updateAccountRow(
  sql: SqlStorage,
  change: { name?: string | undefined; plan?: PlanId | undefined },
  now: number,
) {
  if (change.name !== undefined) sql.exec("UPDATE account SET name = ?", change.name);
  if (change.plan !== undefined) sql.exec("UPDATE account SET plan = ?", change.plan);
  sql.exec("UPDATE account SET updated_at = ?", now);
}

/** Moves the account's creation back to `at` if that is earlier (demo history only). */
export function backdateAccount(sql: SqlStorage, at: number) {
  sql.exec("UPDATE account SET created_at = MIN(created_at, ?)", at);
}

/** The account's policy, with defaults for anything never set. */
export function accountPolicy(row: AccountRow): AccountPolicy {
  return { ...DEFAULT_POLICY, ...(JSON.parse(row.policy || "{}") as Partial<AccountPolicy>) };
}

export function setAccountPolicy(sql: SqlStorage, policy: AccountPolicy, now: number) {
  sql.exec("UPDATE account SET policy = ?, updated_at = ?", JSON.stringify(policy), now);
}

export function writeAlertSettings(sql: SqlStorage, settings: AlertSettings, now: number) {
  sql.exec("UPDATE account SET alert_settings = ?, updated_at = ?", JSON.stringify(settings), now);
}

export function accountView(row: AccountRow): AccountConfig {
  const policy = accountPolicy(row);
  return {
    id: row.id,
    name: row.name,
    plan: row.plan,
    billingAnchorDay: row.billing_anchor_day,
    overagePolicy: policy.overage.policy,
    policy,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}
