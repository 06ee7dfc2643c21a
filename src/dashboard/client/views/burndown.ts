/**
 * The balance over this billing period with its forecast (see `burndownOf` in derive.ts for
 * how the past is derived), drawn as a line chart with a hidden table of the same points.
 */
import { burndownChart } from "../charts/burndown";
import type { ChartHandle } from "../charts/resize";
import { h, table, visuallyHidden } from "../dom";
import { credits, dateTime, day } from "../format";
import type { Balance, BurnPoint } from "../types";
import type { Panel } from "./shell";

function describe(points: BurnPoint[], balance: Balance): string {
  const first = points[0];
  const start = first?.balance ?? balance.available;
  const end = Date.parse(balance.period.end);
  const depletion = balance.forecast.projectedDepletionAt;
  const forecast =
    depletion === null
      ? "No forecast: nothing was captured recently."
      : `Forecast: runs out around ${dateTime(depletion)}${balance.forecast.depletesBeforePeriodEnd ? ", before the period ends" : ", after the period ends"}.`;
  return `Line chart of the balance from ${credits(start)} credits at the period start to ${credits(balance.available)} now; the period ends ${day(end - 1)} (UTC). ${forecast} The table that follows lists the points.`;
}

export class BurndownView {
  private chart: ChartHandle | null = null;

  constructor(private readonly panel: Panel) {}

  destroy(): void {
    this.chart?.destroy();
    this.chart = null;
  }

  render(points: BurnPoint[], balance: Balance): void {
    this.destroy();
    const tableId = "burndown-table";
    const box = h("div", {
      class: "chart",
      testid: "chart-burndown",
      attrs: {
        role: "img",
        "aria-label": describe(points, balance),
      },
    });
    const data = table(
      "Balance and forecast (UTC)",
      ["Time (UTC)", "Balance", "Forecast"],
      points.map((p) => [
        dateTime(p.at),
        p.balance === null ? "–" : credits(p.balance),
        p.forecast === null ? "–" : credits(Math.round(p.forecast)),
      ]),
      { id: tableId, testid: "burndown-table" },
    );
    const rows = data.tBodies[0]?.rows ?? [];
    points.forEach((p, i) => {
      const row = rows[i];
      if (!row) return;
      row.dataset.at = new Date(p.at).toISOString();
      if (p.balance !== null) row.dataset.balance = String(p.balance);
      if (p.forecast !== null) row.dataset.forecast = String(Math.round(p.forecast));
    });
    const note = h("p", {
      class: "hint",
      text: "Past balances are derived. Balance at the end of a day (time t, before now) = available now + held now + credits captured after t − credits granted after t (grants effective after t, the overage allowance aside) + credits expired after t (grants expiring between t and now) − overage captured after t (the overage allowance is spent last, so its captured credits are taken from the latest days' captures, from today backwards, and are not balance spend). The last point is available now. Calls of the last minute may not be counted yet. The dashed line is the forecast at the recent burn rate; the dotted line marks the end of the period.",
      testid: "burndown-rule",
    });
    this.panel.body.replaceChildren(box, note, visuallyHidden(data));
    this.chart = burndownChart(box, points, Date.parse(balance.period.end));
  }
}
