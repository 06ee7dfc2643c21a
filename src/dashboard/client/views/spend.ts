/**
 * Spend per day in the selected range, stacked by team, action or category
 * (`GET /v1/usage/summary?group_by=day,<group>` with the filters). The chart is an image to
 * assistive technology, described in words; a visually hidden table lists every (day, group)
 * with its credits.
 */
import type { ChartHandle } from "../charts/resize";
import { stackedBars } from "../charts/stacked";
import type { Spend } from "../derive";
import { empty, h, table, visuallyHidden } from "../dom";
import { credits, day } from "../format";
import { GROUP_LABELS, type GroupBy, type Range } from "../state";
import type { Totals } from "../types";
import type { Panel } from "./shell";

export const NO_USAGE =
  "No usage in this range yet. Calls through the gateway will show here within a minute.";

function describe(spend: Spend, by: GroupBy, range: Range, total: number): string {
  const span = `${day(range.from)} to ${day(range.to - 1)} (UTC)`;
  let peak = -1;
  spend.perDay.forEach((v, i) => {
    if (peak < 0 || v > (spend.perDay[peak] ?? 0)) peak = i;
  });
  const top = spend.layers[0];
  const peakText =
    peak >= 0 ? ` Busiest day ${spend.days[peak]} with ${credits(spend.perDay[peak] ?? 0)}.` : "";
  const topText = top ? ` Largest ${GROUP_LABELS[by].toLowerCase()}: ${top.label}.` : "";
  return `Bar chart of credits spent per day by ${GROUP_LABELS[by].toLowerCase()}, ${span}: ${credits(total)} credits in total.${peakText}${topText} The table that follows lists each day.`;
}

export class SpendView {
  private chart: ChartHandle | null = null;

  constructor(private readonly panel: Panel) {}

  loading(): void {
    this.panel.body.setAttribute("aria-busy", "true");
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = null;
  }

  render(spend: Spend, totals: Totals, by: GroupBy, range: Range): void {
    this.destroy();
    this.panel.body.removeAttribute("aria-busy");
    const total = h("p", { class: "range-total" });
    const number = h("strong", { testid: "range-total", text: credits(totals.credits) });
    number.dataset.value = String(totals.credits);
    total.append(
      number,
      ` credits in ${day(range.from)} to ${day(range.to - 1)} (UTC) · ${credits(totals.calls)} calls · ${credits(totals.denials)} denied`,
    );
    const saved = totals.creditsSaved ?? 0;
    if (saved > 0) {
      const note = h("span", { testid: "range-saved", text: credits(saved) });
      note.dataset.value = String(saved);
      total.append(" · ", note, " credits saved by skipping duplicates");
    }
    const chartBox = h("div", { class: "chart", testid: "chart-spend" });
    const tableId = "spend-table";
    const dataTable = table(
      `Credits per day and ${GROUP_LABELS[by].toLowerCase()} (UTC)`,
      ["Day (UTC)", GROUP_LABELS[by], "Credits"],
      spend.cells.map((c) => [c.day, c.label, credits(c.credits)]),
      { id: tableId, testid: "spend-table" },
    );
    const rows = dataTable.tBodies[0]?.rows ?? [];
    spend.cells.forEach((c, i) => {
      const row = rows[i];
      if (!row) return;
      row.dataset.day = c.day;
      row.dataset.group = c.key;
      row.dataset.credits = String(c.credits);
    });
    dataTable.dataset.groupBy = by;
    if (spend.cells.length === 0) {
      chartBox.append(empty(NO_USAGE));
      this.panel.body.replaceChildren(total, chartBox, visuallyHidden(dataTable));
      return;
    }
    chartBox.setAttribute("role", "img");
    chartBox.setAttribute("aria-label", describe(spend, by, range, totals.credits));
    this.panel.body.replaceChildren(total, chartBox, visuallyHidden(dataTable));
    this.chart = stackedBars(chartBox, spend.days, spend.layers);
  }
}
