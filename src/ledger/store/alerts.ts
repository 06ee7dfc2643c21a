/**
 * The ledger's alerts table (schema V3): fired alerts, one row per kind, scope, line and period.
 * `fire` runs inside the transaction of the debit that fired the alert.
 */
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import {
  type AlertFiring,
  type AlertKind,
  type AlertScope,
  type AlertSettings,
  alertSettingsOf,
  depletedAlert,
  thresholdAlerts,
  type UsageStep,
} from "../core/alerts";
import type { BudgetState, Spend } from "../core/rules";
import type { ScopeIds } from "./counters";
import { queueDelivery, webhookOf } from "./webhooks";

export interface AlertView {
  id: string;
  kind: AlertKind;
  scope: AlertScope;
  scopeId: string;
  threshold: number | null;
  periodStart: string;
  firedAt: string;
  requestId: string | null;
  detail: Record<string, number | string | null>;
}

interface AlertRow {
  id: string;
  kind: AlertKind;
  scope: AlertScope;
  scope_id: string;
  threshold: number;
  period_start: number;
  fired_at: number;
  request_id: string | null;
  detail: string;
  [key: string]: SqlStorageValue;
}

/**
 * Records the alerts of one debit; a line already fired this period is skipped. Each new alert
 * is queued for the account's webhook, if it has one, in the same transaction.
 */
export function fire(
  sql: SqlStorage,
  alerts: readonly AlertFiring[],
  ctx: { periodStart: number; now: number; requestId: string | null },
): number {
  let fired = 0;
  const hook = alerts.length > 0 ? webhookOf(sql) : null;
  for (const a of alerts) {
    const row: AlertRow = {
      id: newId("alert"),
      kind: a.kind,
      scope: a.scope,
      scope_id: a.scopeId,
      threshold: a.threshold,
      period_start: ctx.periodStart,
      fired_at: ctx.now,
      request_id: ctx.requestId,
      detail: JSON.stringify(a.detail),
    };
    const written = sql.exec(
      `INSERT INTO alerts (id, period_start, kind, scope, scope_id, threshold, fired_at, request_id, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      row.id,
      row.period_start,
      row.kind,
      row.scope,
      row.scope_id,
      row.threshold,
      row.fired_at,
      row.request_id,
      row.detail,
    ).rowsWritten;
    if (written === 0) continue;
    fired += 1;
    if (hook) queueDelivery(sql, view(row), ctx.now);
  }
  return fired;
}

function view(r: AlertRow): AlertView {
  return {
    id: r.id,
    kind: r.kind,
    scope: r.scope,
    scopeId: r.scope_id,
    threshold: r.kind === "threshold" ? r.threshold : null,
    periodStart: iso(r.period_start),
    firedAt: iso(r.fired_at),
    requestId: r.request_id,
    detail: JSON.parse(r.detail) as AlertView["detail"],
  };
}

/** Alerts newest first, after an optional (firedAt, id) position, optionally of one kind. */
export function listAlerts(
  sql: SqlStorage,
  options: { kind: AlertKind | null; before: { at: number; id: string } | null; limit: number },
): AlertView[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (options.kind) {
    where.push("kind = ?");
    params.push(options.kind);
  }
  if (options.before) {
    where.push("(fired_at < ? OR (fired_at = ? AND id < ?))");
    params.push(options.before.at, options.before.at, options.before.id);
  }
  const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
  return sql
    .exec<AlertRow>(
      `SELECT * FROM alerts ${clause} ORDER BY fired_at DESC, id DESC LIMIT ?`,
      ...params,
      options.limit,
    )
    .toArray()
    .map(view);
}

export function writeAlertSettings(sql: SqlStorage, settings: AlertSettings, now: number) {
  sql.exec("UPDATE account SET alert_settings = ?, updated_at = ?", JSON.stringify(settings), now);
}

/** What an admission's hold changes, as the alert rules need it. */
export interface DebitFacts {
  /** Each scope's spend (captured + held) before the debit. */
  spend: BudgetState;
  /** The team's and member's budgets (null: none). */
  limits: { team: number | null; member: number | null };
  scope: ScopeIds;
  /** The account's spendable credits before the debit. */
  available: number;
  now: number;
}

const used = (s: Spend) => s.captured + s.held;

/**
 * The threshold and depletion alerts of one admission's hold, fired in its transaction. The
 * account's 100 % is its credits for the period: what it used so far plus what it can still
 * spend (the overage allowance included).
 */
export function fireDebitAlerts(
  sql: SqlStorage,
  account: { id: string; alert_settings: string },
  periodStart: number,
  req: { requestId: string; action: { holdCredits: number } },
  d: DebitFacts,
): number {
  const amount = req.action.holdCredits;
  if (amount <= 0) return 0;
  const settings = alertSettingsOf(account.alert_settings);
  const step = (scope: UsageStep["scope"], scopeId: string, limit: number, before: number) => ({
    scope,
    scopeId,
    limit,
    before,
    after: before + amount,
  });
  const accountUsed = used(d.spend.account);
  const steps: UsageStep[] = [step("account", account.id, accountUsed + d.available, accountUsed)];
  if (d.limits.team !== null)
    steps.push(step("team", d.scope.team, d.limits.team, used(d.spend.team)));
  if (d.limits.member !== null)
    steps.push(step("member", d.scope.member, d.limits.member, used(d.spend.member)));
  const alerts = thresholdAlerts(steps, settings);
  const depleted = depletedAlert(account.id, d.available, d.available - amount, settings);
  if (depleted) alerts.push(depleted);
  if (alerts.length === 0) return 0;
  return fire(sql, alerts, { periodStart, now: d.now, requestId: req.requestId });
}
