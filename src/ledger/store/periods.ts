/**
 * Entering a new billing period: the last period's unused included credits roll over up to the
 * account's cap, lapsed grants expire, and the period's included grant and overage allowance
 * are issued once each. Runs lazily on the first decision of the period, and from the alarm.
 */

import { config } from "../../config/bundled";
import { type Period, periodAt } from "../core/period";
import type { AccountPolicy } from "../core/rules";
import type { AccountRow } from "./account";
import { issueAddOns } from "./add-ons";
import { expireGrants, issueGrant, overageOf, resizeGrant } from "./grants";

/** Overage is spent after everything else. */
export const OVERAGE_PRIORITY = 1_000_000;

function issuedFor(sql: SqlStorage, source: string, periodStart: number): boolean {
  return (
    sql
      .exec(
        "SELECT 1 FROM grants WHERE source = ? AND period_start = ? LIMIT 1",
        source,
        periodStart,
      )
      .toArray().length > 0
  );
}

/** Enters the period that contains `now`; returns it, and the plan in force in it. */
export function enterPeriod(
  sql: SqlStorage,
  account: AccountRow,
  policy: AccountPolicy,
  now: number,
): { period: Period; plan: string } {
  const period = periodAt(account.billing_anchor_day, now);
  // A smaller plan chosen during the last period takes over with this one.
  let plan = account.plan;
  if (account.pending_plan !== null && (account.period_end ?? 0) <= period.start) {
    plan = account.pending_plan;
    sql.exec("UPDATE account SET plan = ?, pending_plan = NULL", plan);
  }
  let rollover = 0;
  // Only the period right before this one rolls over: after a gap, its credits are long gone.
  if (
    policy.rolloverCap > 0 &&
    account.period_start !== null &&
    account.period_end === period.start
  ) {
    const last = sql
      .exec<{ remaining: number }>(
        "SELECT remaining FROM grants WHERE source = 'included' AND period_start = ?",
        account.period_start,
      )
      .toArray()[0];
    rollover = Math.min(policy.rolloverCap, last?.remaining ?? 0);
  }
  expireGrants(sql, now);
  const base = { effectiveAt: period.start, expiresAt: period.end, periodStart: period.start };
  if (!issuedFor(sql, "included", period.start)) {
    // A plan the configuration no longer declares includes nothing.
    const amount = config.plan(plan)?.includedCredits ?? 0;
    issueGrant(
      sql,
      { ...base, amount, source: "included", priority: 0, note: `included, ${plan} plan` },
      now,
    );
  }
  if (rollover > 0 && !issuedFor(sql, "rollover", period.start)) {
    issueGrant(
      sql,
      {
        ...base,
        amount: rollover,
        source: "rollover",
        priority: 0,
        note: "unused included credits",
      },
      now,
    );
  }
  issueAddOns(sql, period, now);
  syncOverage(sql, policy, period, now);
  sql.exec("UPDATE account SET period_start = ?, period_end = ?", period.start, period.end);
  return { period, plan };
}

/**
 * Makes the period's overage allowance match the policy: `allow` up to the limit, `block` none.
 * A lower limit never takes back what is already held or spent.
 */
export function syncOverage(sql: SqlStorage, policy: AccountPolicy, period: Period, now: number) {
  const target = policy.overage.policy === "allow" ? policy.overage.limit : 0;
  const current = overageOf(sql, period.start);
  if (!current) {
    if (target > 0) {
      issueGrant(
        sql,
        {
          amount: target,
          source: "overage",
          priority: OVERAGE_PRIORITY,
          effectiveAt: period.start,
          expiresAt: period.end,
          periodStart: period.start,
          note: "overage allowance",
        },
        now,
      );
    }
    return;
  }
  const used = current.held + current.captured + current.expired;
  const remaining = Math.max(0, target - used);
  resizeGrant(sql, current.id, remaining - current.remaining, now);
}
