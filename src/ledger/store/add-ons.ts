/**
 * The account's recurring add-ons: how many of each it holds. Each period issues every add-on's
 * credits x quantity as one `add_on` grant that expires with the period; buying more mid-period
 * issues the difference at once; holding fewer takes effect from the next period.
 */
import { config } from "../../config/bundled";
import type { Period } from "../core/period";
import { issueGrant } from "./grants";

export interface AddOnHolding {
  id: string;
  quantity: number;
}

export function addOnsOf(sql: SqlStorage): AddOnHolding[] {
  return sql
    .exec<{ id: string; quantity: number }>("SELECT id, quantity FROM add_ons ORDER BY id")
    .toArray();
}

function issue(
  sql: SqlStorage,
  id: string,
  quantity: number,
  period: Period,
  effectiveAt: number,
  now: number,
) {
  const addOn = config.addOn(id);
  // An add-on the configuration no longer declares issues nothing.
  if (!addOn || quantity <= 0) return;
  issueGrant(
    sql,
    {
      amount: addOn.credits * quantity,
      source: "add_on",
      priority: 0,
      effectiveAt,
      expiresAt: period.end,
      periodStart: period.start,
      note: `add-on ${id} x${quantity}`,
      addOn: id,
    },
    now,
  );
}

/** At a period's start: each held add-on's credits for the period, once. */
export function issueAddOns(sql: SqlStorage, period: Period, now: number) {
  for (const { id, quantity } of addOnsOf(sql)) {
    const issued = sql
      .exec("SELECT 1 FROM grants WHERE add_on = ? AND period_start = ? LIMIT 1", id, period.start)
      .toArray().length;
    if (issued === 0) issue(sql, id, quantity, period, period.start, now);
  }
}

/**
 * Replaces the account's holdings. What grows is issued for this period at once; what shrinks
 * or goes keeps this period's grants and issues less from the next.
 */
export function setAddOns(
  sql: SqlStorage,
  holdings: readonly AddOnHolding[],
  period: Period,
  now: number,
) {
  const before = new Map(addOnsOf(sql).map((h) => [h.id, h.quantity]));
  sql.exec("DELETE FROM add_ons");
  for (const { id, quantity } of holdings) {
    if (quantity <= 0) continue;
    sql.exec("INSERT INTO add_ons (id, quantity) VALUES (?, ?)", id, quantity);
    const more = quantity - (before.get(id) ?? 0);
    if (more > 0) issue(sql, id, more, period, now, now);
  }
}
