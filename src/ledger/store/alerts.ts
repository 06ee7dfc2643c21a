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
  isSpike,
  thresholdAlerts,
  type UsageStep,
} from "../core/alerts";
import { forecast } from "../core/forecast";
import type { BudgetState, Spend } from "../core/rules";
import type { AccountRow } from "./config";
import { accountSpend, type ScopeIds } from "./counters";
import { availableCredits } from "./grants";
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
  const reached = thresholdAlerts(steps, settings);
  const depleted = depletedAlert(account.id, d.available - amount, settings);
  if (depleted) reached.push(depleted);
  // Lines already fired this period are known here after the first time: no write for them.
  const known = firedLines(account.id, periodStart);
  const alerts = reached.filter((a) => !known.has(lineOf(a)));
  if (alerts.length === 0) return 0;
  const fired = fire(sql, alerts, { periodStart, now: d.now, requestId: req.requestId });
  for (const a of alerts) known.add(lineOf(a));
  return fired;
}

/**
 * Lines (kind, scope, line) each account has fired in a period, as far as this isolate knows:
 * a cache in front of the alerts table's unique key, which stays the guarantee (a fresh
 * isolate tries the insert once more and the table refuses it).
 */
const firedByPeriod = new Map<string, Set<string>>();
const lineOf = (a: AlertFiring) => `${a.kind}:${a.scope}:${a.scopeId}:${a.threshold}`;

/** Forgets the cache, as a fresh isolate would (tests use it to check the table alone). */
export function forgetFiredLines(): void {
  firedByPeriod.clear();
}

function firedLines(accountId: string, periodStart: number): Set<string> {
  const key = `${accountId}:${periodStart}`;
  let lines = firedByPeriod.get(key);
  if (!lines) {
    if (firedByPeriod.size >= 10_000) firedByPeriod.clear();
    lines = new Set();
    firedByPeriod.set(key, lines);
  }
  return lines;
}

const HOUR_MS = 3_600_000;
const SPIKE_CHECK_EVERY_MS = 60_000;
/** When each account's captures last looked for a spike (per isolate; lost with it, harmlessly). */
const spikeCheckedAt = new Map<string, number>();
const DAY_MS = 86_400_000;

/** Credits captured per clock hour: what spike and forecast alerts measure. */
function addHourlySpend(sql: SqlStorage, now: number, credits: number) {
  sql.exec(
    "INSERT INTO spend_hours (hour, captured) VALUES (?, ?) ON CONFLICT(hour) DO UPDATE SET captured = captured + excluded.captured",
    Math.floor(now / HOUR_MS),
    credits,
  );
}

/**
 * The last hour's spend and the 24 hours' before it, from clock-hour buckets: the last hour is
 * the current hour so far plus the part of the previous hour that is still within 60 minutes.
 */
export function recentSpend(
  sql: SqlStorage,
  now: number,
): { lastHour: number; before: number; fullDay: boolean } {
  const hour = Math.floor(now / HOUR_MS);
  const first = sql.exec<{ h: number | null }>("SELECT MIN(hour) AS h FROM spend_hours").one().h;
  const rows = sql
    .exec<{ hour: number; captured: number }>(
      "SELECT hour, captured FROM spend_hours WHERE hour >= ?",
      hour - 25,
    )
    .toArray();
  const into = (now - hour * HOUR_MS) / HOUR_MS;
  let lastHour = 0;
  let before = 0;
  for (const r of rows) {
    if (r.hour === hour) lastHour += r.captured;
    else if (r.hour === hour - 1) {
      lastHour += r.captured * (1 - into);
      before += r.captured * into;
    } else if (r.hour < hour - 1) before += r.captured;
  }
  // A spike is measured against a whole day of history: a new account's first busy hour is not one.
  const fullDay = first !== null && first <= hour - 24;
  return { lastHour: Math.round(lastHour), before: Math.round(before), fullDay };
}

/**
 * After a capture, in its transaction: counts the spend in its hour, then looks for a spike
 * (at most one per UTC day) and a forecast depletion (at most one per period). Reading a day
 * or a week of buckets on every capture would tax the request path, so a capture looks at
 * most once a minute per account: each is decided by a capture within a minute of it.
 */
export function fireCaptureAlerts(
  sql: SqlStorage,
  memo: { account: AccountRow; period: { start: number; end: number } } | null,
  requestId: string,
  credits: number,
  now: number,
): number {
  if (!memo || credits <= 0) return 0;
  const { account, period } = memo;
  addHourlySpend(sql, now, credits);
  const settings = alertSettingsOf(account.alert_settings);
  if (!settings.spike.enabled && !settings.forecast.enabled) return 0;
  const checked = spikeCheckedAt.get(account.id);
  if (checked !== undefined && Math.abs(now - checked) < SPIKE_CHECK_EVERY_MS) return 0;
  spikeCheckedAt.set(account.id, now);
  let fired = fireForecastAlert(sql, account, period, now, requestId);
  if (!settings.spike.enabled) return fired;
  const { lastHour, before, fullDay } = recentSpend(sql, now);
  if (!fullDay || !isSpike(lastHour, before, settings)) return fired;
  const hourlyAverage = Math.round(before / 24);
  const detail = { lastHour, hourlyAverage, factor: settings.spike.factor };
  const day = Math.floor(now / DAY_MS);
  fired += fire(
    sql,
    [{ kind: "spike", scope: "account", scopeId: account.id, threshold: day, detail }],
    { periodStart: period.start, now, requestId },
  );
  return fired;
}

/**
 * After a denial, in its transaction: notes it and fires a denial-burst alert (at most one per
 * window) once `count` denials fell within `windowMinutes`.
 */
export function fireDenialAlerts(
  sql: SqlStorage,
  account: { id: string; alert_settings: string },
  periodStart: number,
  requestId: string,
  now: number,
): number {
  const settings = alertSettingsOf(account.alert_settings);
  if (!settings.deniedBurst.enabled) return 0;
  const windowMs = settings.deniedBurst.windowMinutes * 60_000;
  sql.exec("DELETE FROM denials WHERE at <= ?", now - windowMs);
  sql.exec("INSERT INTO denials (at) VALUES (?)", now);
  const { n } = sql
    .exec<{ n: number }>("SELECT COUNT(*) AS n FROM denials WHERE at > ?", now - windowMs)
    .one();
  if (n < settings.deniedBurst.count) return 0;
  const detail = { denials: n, windowMinutes: settings.deniedBurst.windowMinutes };
  return fire(
    sql,
    [
      {
        kind: "denied_burst",
        scope: "account",
        scopeId: account.id,
        threshold: Math.floor(now / windowMs),
        detail,
      },
    ],
    { periodStart, now, requestId },
  );
}

/**
 * The forecast alert: at the last 7 days' burn rate the available credits run out before the
 * period ends (at most one per period). Reads the hourly buckets, not the ledger's entries.
 */
export function fireForecastAlert(
  sql: SqlStorage,
  account: { id: string; alert_settings: string; created_at: number },
  period: { start: number; end: number },
  now: number,
  requestId: string | null,
): number {
  const settings = alertSettingsOf(account.alert_settings);
  if (!settings.forecast.enabled) return 0;
  const { last7 } = sql
    .exec<{ last7: number | null }>(
      "SELECT SUM(captured) AS last7 FROM spend_hours WHERE hour >= ?",
      Math.floor((now - 7 * DAY_MS) / HOUR_MS),
    )
    .one();
  const available = availableCredits(sql, now);
  const f = forecast({
    now,
    period,
    available,
    capturedLast7Days: last7 ?? 0,
    capturedThisPeriod: accountSpend(sql, period.start).captured,
    accountCreatedAt: account.created_at,
  });
  if (!f.depletesBeforePeriodEnd || available <= 0) return 0;
  const detail = {
    projectedDepletionAt: f.projectedDepletionAt,
    burnRatePerDay: f.basis === "thisPeriod" ? f.burnRate.thisPeriod : f.burnRate.last7Days,
    available,
  };
  return fire(
    sql,
    [{ kind: "forecast", scope: "account", scopeId: account.id, threshold: 0, detail }],
    { periodStart: period.start, now, requestId },
  );
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
