/**
 * The ledger's alerts table (schema V3): fired alerts, one row per kind, scope, line and period.
 * `fire` runs inside the transaction of the debit that fired the alert.
 */
import { newId } from "../../lib/ids";
import { DAY_MS, iso, MINUTE_MS } from "../../lib/time";
import type { AlertQuery, AlertView } from "../contract";
import {
  type AlertFiring,
  type AlertKind,
  type AlertScope,
  type AlertSettings,
  depletedAlert,
  isSpike,
  thresholdAlerts,
  type UsageStep,
} from "../core/alerts";
import { forecast } from "../core/forecast";
import type { BudgetState, Spend } from "../core/rules";
import type { AccountRow } from "./account";
import { accountSpend, type ScopeIds } from "./counters";
import { availableCredits } from "./grants";
import type { SpendHours } from "./spend-hours";
import { queueDelivery, webhookOf } from "./webhooks";

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

/** Alerts newest first, after an optional (firedAt, id) position, with the query's filters. */
export function listAlerts(sql: SqlStorage, options: AlertQuery): AlertView[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const filters: [string, string | number | null][] = [
    ["kind = ?", options.kind],
    ["scope = ?", options.scope],
    ["scope_id = ?", options.scopeId],
    ["fired_at >= ?", options.from],
    ["fired_at < ?", options.to],
  ];
  for (const [clause, value] of filters) {
    if (value === null) continue;
    where.push(clause);
    params.push(value);
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

/**
 * Whose alerts and which period: the account's settings, and the lines this object already
 * knows have fired this period (a cache in front of the alerts table's unique key, which stays
 * the guarantee; it lives in the object's read cache, so a dropped cache only costs a retry).
 */
export interface AlertContext {
  accountId: string;
  periodStart: number;
  settings: AlertSettings;
  fired: Set<string>;
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
  ctx: AlertContext,
  req: { requestId: string; action: { holdCredits: number } },
  d: DebitFacts,
): number {
  const amount = req.action.holdCredits;
  if (amount <= 0) return 0;
  const { accountId, periodStart, settings } = ctx;
  const step = (scope: UsageStep["scope"], scopeId: string, limit: number, before: number) => ({
    scope,
    scopeId,
    limit,
    before,
    after: before + amount,
  });
  const accountUsed = used(d.spend.account);
  const steps: UsageStep[] = [step("account", accountId, accountUsed + d.available, accountUsed)];
  if (d.limits.team !== null)
    steps.push(step("team", d.scope.team, d.limits.team, used(d.spend.team)));
  if (d.limits.member !== null)
    steps.push(step("member", d.scope.member, d.limits.member, used(d.spend.member)));
  const reached = thresholdAlerts(steps, settings);
  const depleted = depletedAlert(accountId, d.available - amount, settings);
  if (depleted) reached.push(depleted);
  // Lines already fired this period are known here after the first time: no write for them.
  const known = ctx.fired;
  const alerts = reached.filter((a) => !known.has(lineOf(a)));
  if (alerts.length === 0) return 0;
  const fired = fire(sql, alerts, { periodStart, now: d.now, requestId: req.requestId });
  for (const a of alerts) known.add(lineOf(a));
  return fired;
}

const lineOf = (a: Pick<AlertFiring, "kind" | "scope" | "scopeId" | "threshold">) =>
  `${a.kind}:${a.scope}:${a.scopeId}:${a.threshold}`;

/**
 * After a capture, in its transaction: counts the spend in its hour, then looks for a spike
 * (at most one per UTC day) and a forecast depletion (at most one per period). Every capture
 * decides both, from the hourly buckets `hours` keeps in memory; a line this isolate knows has
 * fired is not looked at again.
 */
export function fireCaptureAlerts(
  sql: SqlStorage,
  ctx: AlertContext & { account: AccountRow; period: { start: number; end: number } },
  hours: SpendHours,
  requestId: string,
  credits: number,
  now: number,
): number {
  if (credits <= 0) return 0;
  const { account, period, settings, fired: known } = ctx;
  hours.add(now, credits);
  if (!settings.spike.enabled && !settings.forecast.enabled) return 0;
  const unknown = (kind: AlertKind, line: number) =>
    !known.has(lineOf({ kind, scope: "account", scopeId: account.id, threshold: line }));
  const candidates: AlertFiring[] = [];
  const forecastLine = unknown("forecast", 0)
    ? forecastAlert(sql, hours, account, period, settings, now)
    : null;
  if (forecastLine) candidates.push(forecastLine);
  const spikeLine = unknown("spike", Math.floor(now / DAY_MS))
    ? spikeAlert(hours, account.id, settings, now)
    : null;
  if (spikeLine) candidates.push(spikeLine);
  if (candidates.length === 0) return 0;
  const fired = fire(sql, candidates, { periodStart: period.start, now, requestId });
  for (const a of candidates) known.add(lineOf(a));
  return fired;
}

/** The spike alert at `now`, if the last hour runs above the settings' multiple of the day's. */
function spikeAlert(
  hours: SpendHours,
  accountId: string,
  settings: AlertSettings,
  now: number,
): AlertFiring | null {
  if (!settings.spike.enabled) return null;
  const { lastHour, before, fullDay } = hours.recent(now);
  if (!fullDay || !isSpike(lastHour, before, settings)) return null;
  const detail = {
    lastHour,
    hourlyAverage: Math.round(before / 24),
    factor: settings.spike.factor,
  };
  const day = Math.floor(now / DAY_MS);
  return { kind: "spike", scope: "account", scopeId: accountId, threshold: day, detail };
}

/**
 * After a denial, in its transaction: notes it and fires a denial-burst alert (at most one per
 * window) once `count` denials fell within `windowMinutes`.
 */
export function fireDenialAlerts(
  sql: SqlStorage,
  ctx: AlertContext,
  requestId: string,
  now: number,
): number {
  const { accountId, periodStart, settings, fired: known } = ctx;
  if (!settings.deniedBurst.enabled) return 0;
  const { count, windowMinutes } = settings.deniedBurst;
  const windowMs = windowMinutes * MINUTE_MS;
  sql.exec("DELETE FROM denials WHERE at <= ?", now - windowMs);
  sql.exec("INSERT INTO denials (at) VALUES (?)", now);
  const alert: AlertFiring = {
    kind: "denied_burst",
    scope: "account",
    scopeId: accountId,
    threshold: Math.floor(now / windowMs),
    detail: { denials: count, windowMinutes },
  };
  // Once this window's alert is known to have fired, its denials need no counting (issue 18:
  // a storm of denials would read the whole window's rows on each one).
  if (known.has(lineOf(alert))) return 0;
  // Counting stops at the threshold: the alert fires on the denial that reaches it.
  const { n } = sql
    .exec<{ n: number }>(
      "SELECT COUNT(*) AS n FROM (SELECT 1 FROM denials WHERE at > ? LIMIT ?)",
      now - windowMs,
      count,
    )
    .one();
  if (n < count) return 0;
  known.add(lineOf(alert));
  return fire(sql, [alert], { periodStart, now, requestId });
}

/**
 * The forecast alert at `now`: at the last 7 days' burn rate the available credits run out
 * before the period ends (at most one per period). Reads the hourly buckets, not the entries.
 */
function forecastAlert(
  sql: SqlStorage,
  hours: SpendHours,
  account: { id: string; created_at: number },
  period: { start: number; end: number },
  settings: AlertSettings,
  now: number,
): AlertFiring | null {
  if (!settings.forecast.enabled) return null;
  // A pace needs a day to mean anything: a new account's first calls are not a month's burn.
  if (now - account.created_at < DAY_MS) return null;
  const available = availableCredits(sql, now);
  if (available <= 0) return null;
  const f = forecast({
    now,
    period,
    available,
    capturedLast7Days: hours.last7Days(now),
    capturedThisPeriod: accountSpend(sql, period.start).captured,
    accountCreatedAt: account.created_at,
  });
  if (!f.depletesBeforePeriodEnd) return null;
  const detail = {
    projectedDepletionAt: f.projectedDepletionAt,
    burnRatePerDay: f.basis === "thisPeriod" ? f.burnRate.thisPeriod : f.burnRate.last7Days,
    available,
  };
  return { kind: "forecast", scope: "account", scopeId: account.id, threshold: 0, detail };
}

/** Alerts not yet copied to D1, oldest first, as D1 stores them. */
export function alertsToCopy(sql: SqlStorage, accountId: string, limit: number) {
  return sql
    .exec<AlertRow>("SELECT * FROM alerts WHERE copied = 0 ORDER BY fired_at, id LIMIT ?", limit)
    .toArray()
    .map((r) => ({ ...view(r), accountId }));
}

export function markCopied(sql: SqlStorage, ids: readonly string[]) {
  for (const id of ids) sql.exec("UPDATE alerts SET copied = 1 WHERE id = ?", id);
}
