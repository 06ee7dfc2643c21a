/**
 * Per-period spend by scope (account, team, member, action): captured and held credits. Holds
 * count against budgets while in flight; a void gives them back. Keyed by period, so counters
 * reset at the period boundary without a write.
 */
import type { BudgetState, Spend } from "../core/rules";

export type Scope = "account" | "team" | "member" | "action";

export interface ScopeIds {
  team: string;
  member: string;
  action: string;
}

const ACCOUNT = "*";
/** The WHERE clause of one period's four scope rows; bind account, team, member, action ids. */
const FOUR_SCOPES = `(scope = 'account' AND scope_id = ?) OR (scope = 'team' AND scope_id = ?) OR
  (scope = 'member' AND scope_id = ?) OR (scope = 'action' AND scope_id = ?)`;

function scopes(ids: ScopeIds): [Scope, string][] {
  return [
    ["account", ACCOUNT],
    ["team", ids.team],
    ["member", ids.member],
    ["action", ids.action],
  ];
}

export function spendOf(sql: SqlStorage, period: number, scope: Scope, id: string): Spend {
  const row = sql
    .exec<{ captured: number; held: number }>(
      "SELECT captured, held FROM counters WHERE period_start = ? AND scope = ? AND scope_id = ?",
      period,
      scope,
      id,
    )
    .toArray()[0];
  return row ?? { captured: 0, held: 0 };
}

/** The four scopes' spend this period, in one read. */
export function budgetState(sql: SqlStorage, period: number, ids: ScopeIds): BudgetState {
  const state: BudgetState = {
    account: { captured: 0, held: 0 },
    team: { captured: 0, held: 0 },
    member: { captured: 0, held: 0 },
    action: { captured: 0, held: 0 },
  };
  const rows = sql
    .exec<{ scope: Scope; scope_id: string; captured: number; held: number }>(
      `SELECT scope, scope_id, captured, held FROM counters WHERE period_start = ? AND (${FOUR_SCOPES})`,
      period,
      ACCOUNT,
      ids.team,
      ids.member,
      ids.action,
    )
    .toArray();
  for (const r of rows) state[r.scope] = { captured: r.captured, held: r.held };
  return state;
}

/**
 * Adds to held (a hold made) or moves from held to captured (a settlement): one UPDATE for the
 * four scopes, then an INSERT for any scope that has no row yet this period (its first call).
 * Updates first: an upsert would check the CHECK constraints on a negative insert row before
 * the update.
 */
export function addSpend(
  sql: SqlStorage,
  period: number,
  ids: ScopeIds,
  change: { held: number; captured: number },
) {
  const updated = sql.exec(
    `UPDATE counters SET captured = captured + ?, held = held + ?
     WHERE period_start = ? AND (${FOUR_SCOPES})`,
    change.captured,
    change.held,
    period,
    ACCOUNT,
    ids.team,
    ids.member,
    ids.action,
  ).rowsWritten;
  if (updated === 4) return;
  const present = new Set(
    sql
      .exec<{ scope: Scope }>(
        `SELECT scope FROM counters WHERE period_start = ? AND (${FOUR_SCOPES})`,
        period,
        ACCOUNT,
        ids.team,
        ids.member,
        ids.action,
      )
      .toArray()
      .map((r) => r.scope),
  );
  for (const [scope, id] of scopes(ids)) {
    if (present.has(scope)) continue;
    sql.exec(
      "INSERT INTO counters (period_start, scope, scope_id, captured, held) VALUES (?, ?, ?, ?, ?)",
      period,
      scope,
      id,
      change.captured,
      change.held,
    );
  }
}

export function accountSpend(sql: SqlStorage, period: number): Spend {
  return spendOf(sql, period, "account", ACCOUNT);
}
