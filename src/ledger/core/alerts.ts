/**
 * Alerts (SPEC §8, issue 6): which ones a debit fires. Pure: the ledger calls it inside the
 * transaction that holds or captures, with the usage after it, so an alert is decided by the
 * debit that reached its line, and the ledger's `alerts` table (one row per kind, scope, line
 * and period) makes each fire at most once however the calls race.
 */

export const ALERT_KINDS = ["threshold", "spike", "forecast", "depleted", "denied_burst"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export const ALERT_SCOPES = ["account", "team", "member"] as const;
export type AlertScope = (typeof ALERT_SCOPES)[number];

export interface AlertSettings {
  /** Shares of a scope's credits for the period, in percent, ascending. */
  thresholds: number[];
  /** Spend in the last hour above `factor` times the trailing 24 h hourly average, and above `floorCredits`. */
  spike: { enabled: boolean; factor: number; floorCredits: number };
  /** At the current burn rate the balance runs out before the period ends. */
  forecast: { enabled: boolean };
  /** The account's balance reached zero. */
  depleted: { enabled: boolean };
  /** `count` denials within `windowMinutes`. */
  deniedBurst: { enabled: boolean; count: number; windowMinutes: number };
}

export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  thresholds: [50, 80, 100],
  spike: { enabled: true, factor: 3, floorCredits: 100 },
  forecast: { enabled: true },
  depleted: { enabled: true },
  deniedBurst: { enabled: true, count: 20, windowMinutes: 5 },
};

/** A scope's credits for the period, used before and after one debit. */
export interface UsageStep {
  scope: AlertScope;
  scopeId: string;
  /** What 100 % is: a budget, or the account's credits for the period. */
  limit: number;
  before: number;
  after: number;
}

export interface AlertFiring {
  kind: AlertKind;
  scope: AlertScope;
  scopeId: string;
  /** The percent crossed (threshold alerts); 0 for the kinds without a line. */
  threshold: number;
  detail: Record<string, number | string | null>;
}

/**
 * The thresholds a scope's usage has reached after a debit, in integer arithmetic (no rounding
 * can skip one). The ledger fires each at most once per period (its alerts table), so a line
 * passed by something that is not an admission (a metered call's overrun) fires with the next
 * debit instead of never.
 */
export function reachedThresholds(step: UsageStep, thresholds: readonly number[]): number[] {
  if (step.limit <= 0 || step.after <= 0) return [];
  return thresholds.filter((t) => step.after * 100 >= t * step.limit);
}

/** The threshold alerts of one debit over every scope it touched. */
export function thresholdAlerts(
  steps: readonly UsageStep[],
  settings: AlertSettings,
): AlertFiring[] {
  const out: AlertFiring[] = [];
  for (const step of steps) {
    for (const threshold of reachedThresholds(step, settings.thresholds)) {
      out.push({
        kind: "threshold",
        scope: step.scope,
        scopeId: step.scopeId,
        threshold,
        detail: { used: step.after, limit: step.limit, percent: threshold },
      });
    }
  }
  return out;
}

/** The depletion alert: after this debit the account has no credits left to spend. */
export function depletedAlert(
  accountId: string,
  availableAfter: number,
  settings: AlertSettings,
): AlertFiring | null {
  if (!settings.depleted.enabled || availableAfter > 0) return null;
  return {
    kind: "depleted",
    scope: "account",
    scopeId: accountId,
    threshold: 0,
    detail: { available: availableAfter },
  };
}

/**
 * A spike: the last hour's spend is above `factor` times the hourly average of the 24 hours
 * before it, and above the floor (so a quiet account's first few calls are no spike).
 */
export function isSpike(lastHour: number, previous24h: number, settings: AlertSettings): boolean {
  if (!settings.spike.enabled || lastHour < settings.spike.floorCredits) return false;
  return lastHour * 24 > settings.spike.factor * previous24h;
}

/**
 * Settings as stored (JSON, possibly partial or from an older version) over the defaults. The
 * ledger's read cache keeps the parsed settings, so an unchanged account parses them once.
 */
export function alertSettingsOf(stored: string | null | undefined): AlertSettings {
  if (!stored) return DEFAULT_ALERT_SETTINGS;
  return parseSettings(stored);
}

function parseSettings(stored: string): AlertSettings {
  try {
    const parsed = JSON.parse(stored) as Partial<AlertSettings>;
    return {
      thresholds: parsed.thresholds ?? DEFAULT_ALERT_SETTINGS.thresholds,
      spike: { ...DEFAULT_ALERT_SETTINGS.spike, ...parsed.spike },
      forecast: { ...DEFAULT_ALERT_SETTINGS.forecast, ...parsed.forecast },
      depleted: { ...DEFAULT_ALERT_SETTINGS.depleted, ...parsed.depleted },
      deniedBurst: { ...DEFAULT_ALERT_SETTINGS.deniedBurst, ...parsed.deniedBurst },
    };
  } catch {
    return DEFAULT_ALERT_SETTINGS;
  }
}
