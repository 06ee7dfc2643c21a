/**
 * Balance now (`GET /v1/balance`): credits available, held and in overage; the period's
 * progress (captured this period against the included credits, days left); the grants by
 * source and expiry; and the forecast in words.
 */
import { h, table } from "../dom";
import { count, credits, DAY_MS, dateTime, day, decimals } from "../format";
import type { Balance, Grant } from "../types";
import type { Panel } from "./shell";

function figure(label: string, value: string, testid?: string, raw?: number): HTMLElement {
  const number = h("dd", { class: "figure-value", text: value, testid });
  if (raw !== undefined) number.dataset.value = String(raw);
  return h("div", { class: "figure" }, h("dt", { text: label }), number);
}

function bySource(grants: Grant[]): [string, number, number][] {
  const sums = new Map<string, [number, number]>();
  for (const g of grants) {
    const [remaining, amount] = sums.get(g.source) ?? [0, 0];
    sums.set(g.source, [remaining + g.remaining, amount + g.amount]);
  }
  return [...sums.entries()]
    .map(([source, [remaining, amount]]): [string, number, number] => [source, remaining, amount])
    .sort((a, b) => b[1] - a[1]);
}

function forecastText(balance: Balance): string {
  const f = balance.forecast;
  if (f.projectedDepletionAt === null || f.basis === null) {
    return "No credits captured recently, so there is no forecast yet.";
  }
  const rate = f.basis === "last7Days" ? f.burnRate.last7Days : f.burnRate.thisPeriod;
  const basis = f.basis === "last7Days" ? "the last 7 days" : "this period";
  const when = dateTime(f.projectedDepletionAt);
  const verdict = f.depletesBeforePeriodEnd ? "before the period ends" : "after the period ends";
  return `At ${decimals(rate)} credits a day (${basis}), the balance runs out around ${when}, ${verdict}.`;
}

export function renderBalance(panel: Panel, balance: Balance, now = Date.now()): void {
  // This period's included credits as granted, spent or not: from the period's grants, since
  // `grants` drops the included grant once it is used up.
  const periodStart = Date.parse(balance.period.start);
  const included = balance.periodGrants
    .filter((g) => g.source === "included" && Date.parse(g.effectiveAt) === periodStart)
    .reduce((sum, g) => sum + g.amount, 0);
  const used = balance.capturedThisPeriod;
  const end = Date.parse(balance.period.end);
  const daysLeft = Math.max(0, Math.ceil((end - now) / DAY_MS));
  const progress = h("progress", {
    attrs: {
      max: String(Math.max(1, included)),
      value: String(Math.min(used, Math.max(1, included))),
      "aria-label": "Credits used of the included credits this period",
    },
  });
  const usedEl = h("span", { testid: "period-used", text: credits(used) });
  usedEl.dataset.value = String(used);
  const includedEl = h("span", { testid: "period-included", text: credits(included) });
  includedEl.dataset.value = String(included);
  const period = h(
    "div",
    { class: "period" },
    h(
      "p",
      {},
      usedEl,
      " of ",
      includedEl,
      " included credits used this period",
      included > 0 && used > included ? ` (${credits(used - included)} beyond the included)` : "",
    ),
    progress,
    h("p", {
      class: "hint",
      text: `Period ${day(balance.period.start)} to ${day(end - 1)} (UTC): ${count(daysLeft, "day")} left.`,
    }),
  );

  const grants = [...balance.grants].sort(
    (a, b) =>
      (a.expiresAt === null ? 1 : 0) - (b.expiresAt === null ? 1 : 0) ||
      (a.expiresAt ?? "").localeCompare(b.expiresAt ?? "") ||
      a.source.localeCompare(b.source),
  );
  const grantTable = grants.length
    ? table(
        "Grants by expiry (times in UTC)",
        ["Source", "Remaining", "Granted", "Held", "Effective", "Expires"],
        grants.map((g) => [
          g.note ? h("span", {}, g.source, h("span", { class: "note", text: g.note })) : g.source,
          credits(g.remaining),
          credits(g.amount),
          credits(g.held),
          dateTime(g.effectiveAt),
          g.expiresAt ? dateTime(g.expiresAt) : "Never",
        ]),
        { class: "data" },
      )
    : h("p", { class: "empty", text: "No grants yet. Credits appear here once granted." });
  const sourceTable = table(
    "Remaining by source",
    ["Source", "Remaining", "Granted"],
    bySource(balance.grants).map(([source, remaining, amount]) => [
      source,
      credits(remaining),
      credits(amount),
    ]),
    { class: "data compact" },
  );

  panel.body.replaceChildren(
    h(
      "dl",
      { class: "figures" },
      figure(
        "Available credits",
        credits(balance.available),
        "balance-available",
        balance.available,
      ),
      figure("Held by calls in flight", credits(balance.held)),
      figure(
        "Overage",
        balance.overage.policy === "allow"
          ? `${credits(balance.overage.used)} of ${credits(balance.overage.limit)} used`
          : "Blocked",
      ),
    ),
    period,
    h("p", { text: forecastText(balance) }),
    h("div", { class: "tables" }, sourceTable, grantTable),
  );
}
