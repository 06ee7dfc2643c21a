/**
 * Per-period spend by scope (account, team, member, action). Captured credits are counters,
 * written once per capture. Held credits are not kept here: they are the holds in flight,
 * summed from `holds` when a decision needs them (issue 18: a hold and its void or capture no
 * longer rewrite four counter rows each; the holds are few, so summing them reads a few rows).
 * Keyed by period, so counters reset at the period boundary without a write. The `held` column
 * is left from earlier releases and stays 0 (ledger V11).
 *
 * A capture writes three rows: its team's, its member's and its action's. The account's
 * captured credits are the sum of the action rows plus the account row, which keeps only what
 * was captured before action counters existed (ledger V13); no capture writes it.
 */
import type { BudgetState, Spend } from "../core/rules";

export type Scope = "account" | "team" | "member" | "action";

export interface ScopeIds {
  team: string;
  member: string;
  action: string;
}

const ACCOUNT = "*";
/** The WHERE clause of the three rows a capture writes; bind team, member, action ids. */
const WRITTEN_SCOPES = `(scope = 'team' AND scope_id = ?) OR (scope = 'member' AND scope_id = ?) OR
  (scope = 'action' AND scope_id = ?)`;
/** The rows whose sum is the account's captured credits. */
const ACCOUNT_ROWS = "scope IN ('account', 'action')";

function written(ids: ScopeIds): [Scope, string][] {
  return [
    ["team", ids.team],
    ["member", ids.member],
    ["action", ids.action],
  ];
}

/** The credits held by calls in flight that count against a period, by scope. */
function heldOf(sql: SqlStorage, period: number, ids: ScopeIds): Record<Scope, number> {
  return sql
    .exec<Record<Scope, number>>(
      `SELECT COALESCE(SUM(amount), 0) AS account,
         COALESCE(SUM(CASE WHEN team_id = ? THEN amount END), 0) AS team,
         COALESCE(SUM(CASE WHEN member_id = ? THEN amount END), 0) AS member,
         COALESCE(SUM(CASE WHEN action = ? THEN amount END), 0) AS action
       FROM holds WHERE period_start = ?`,
      ids.team,
      ids.member,
      ids.action,
      period,
    )
    .one();
}

/** The column of `holds` that names a hold's scope id (the account scope: every hold). */
const HOLD_COLUMN: Record<Scope, string | null> = {
  account: null,
  team: "team_id",
  member: "member_id",
  action: "action",
};

/** One scope's spend this period: its captured counter and the holds in flight it has. */
export function spendOf(sql: SqlStorage, period: number, scope: Scope, id: string): Spend {
  const { captured } =
    scope === "account"
      ? sql
          .exec<{ captured: number }>(
            `SELECT COALESCE(SUM(captured), 0) AS captured FROM counters WHERE period_start = ? AND ${ACCOUNT_ROWS}`,
            period,
          )
          .one()
      : (sql
          .exec<{ captured: number }>(
            "SELECT captured FROM counters WHERE period_start = ? AND scope = ? AND scope_id = ?",
            period,
            scope,
            id,
          )
          .toArray()[0] ?? { captured: 0 });
  const column = HOLD_COLUMN[scope];
  const held = sql
    .exec<{ n: number }>(
      `SELECT COALESCE(SUM(amount), 0) AS n FROM holds WHERE period_start = ?${column ? ` AND ${column} = ?` : ""}`,
      period,
      ...(column ? [id] : []),
    )
    .one().n;
  return { captured, held };
}

/**
 * The four scopes' spend this period: their captured counters in one read (the account's is the
 * sum of the action rows and its own), the holds in another.
 */
export function budgetState(sql: SqlStorage, period: number, ids: ScopeIds): BudgetState {
  const held = heldOf(sql, period, ids);
  const state: BudgetState = {
    account: { captured: 0, held: held.account },
    team: { captured: 0, held: held.team },
    member: { captured: 0, held: held.member },
    action: { captured: 0, held: held.action },
  };
  const rows = sql
    .exec<{ scope: Scope; scope_id: string; captured: number }>(
      `SELECT scope, scope_id, captured FROM counters WHERE period_start = ? AND (${ACCOUNT_ROWS} OR
         (scope = 'team' AND scope_id = ?) OR (scope = 'member' AND scope_id = ?))`,
      period,
      ids.team,
      ids.member,
    )
    .toArray();
  for (const r of rows) {
    if (r.scope === "account" || r.scope === "action") state.account.captured += r.captured;
    const own = r.scope === "team" || r.scope === "member" || r.scope_id === ids.action;
    if (r.scope !== "account" && own) state[r.scope].captured = r.captured;
  }
  return state;
}

/**
 * Adds a capture's credits to its team's, member's and action's counters (the account's total
 * follows from the action's): one UPDATE, then an INSERT for any scope that has no row yet this
 * period (its first capture). Nothing to add, nothing written.
 */
export function addCaptured(sql: SqlStorage, period: number, ids: ScopeIds, captured: number) {
  if (captured === 0) return;
  const updated = sql.exec(
    `UPDATE counters SET captured = captured + ? WHERE period_start = ? AND (${WRITTEN_SCOPES})`,
    captured,
    period,
    ids.team,
    ids.member,
    ids.action,
  ).rowsWritten;
  if (updated === 3) return;
  const present = new Set(
    sql
      .exec<{ scope: Scope }>(
        `SELECT scope FROM counters WHERE period_start = ? AND (${WRITTEN_SCOPES})`,
        period,
        ids.team,
        ids.member,
        ids.action,
      )
      .toArray()
      .map((r) => r.scope),
  );
  for (const [scope, id] of written(ids)) {
    if (present.has(scope)) continue;
    sql.exec(
      "INSERT INTO counters (period_start, scope, scope_id, captured, held) VALUES (?, ?, ?, ?, 0)",
      period,
      scope,
      id,
      captured,
    );
  }
}

export function accountSpend(sql: SqlStorage, period: number): Spend {
  return spendOf(sql, period, "account", ACCOUNT);
}
