/**
 * Value (issue 16): what the selected range's credits cost against what the same work would
 * have cost by hand, by action (`GET /v1/usage/value?group_by=action`), the credits dedupe saved
 * by skipping records already enriched, and the outcomes reported per 1,000 credits by action
 * (`GET /v1/usage/attribution?group_by=action`; absent until outcomes are reported). The table
 * is the figures themselves: a caption, column and row headers, and the totals in its footer.
 */
import { empty, h, table } from "../dom";
import { credits, day, decimals, money } from "../format";
import type { Range } from "../state";
import type { Attribution, Problem, ValueMeasures, ValueReport } from "../types";
import type { Panel } from "./shell";

const TESTID = "value-table";

function ratioText(ratio: number | null): string {
  return ratio === null ? "–" : `${decimals(ratio)}×`;
}

/** Outcomes per 1,000 credits of an action's calls; "–" without credits or outcomes. */
function per1000(outcomes: number, spent: number): string {
  return spent > 0 && outcomes > 0 ? decimals((outcomes / spent) * 1000) : "–";
}

function cells(m: ValueMeasures, currency: string): string[] {
  return [
    credits(m.credits),
    money(m.creditCost, currency),
    decimals(m.manualHours),
    money(m.manualCost, currency),
    ratioText(m.ratio),
    credits(m.creditsSaved),
  ];
}

function summary(report: ValueReport, range: Range): HTMLElement {
  const t = report.totals;
  const span = `${day(range.from)} to ${day(range.to - 1)} (UTC)`;
  const cost = money(t.creditCost, report.currency);
  if (t.credits === 0) {
    return h("p", { text: `No credits were spent in ${span}, so there is nothing to compare.` });
  }
  const byHand =
    t.manualCost > 0
      ? `The same work by hand: about ${decimals(t.manualHours)} hours, ${money(t.manualCost, report.currency)}${t.ratio === null ? "" : ` (${ratioText(t.ratio)} the credits' cost)`}.`
      : "The configuration gives these actions no manual minutes, so there is no manual cost to compare.";
  const saved =
    t.creditsSaved > 0
      ? ` Skipping records already enriched saved ${credits(t.creditsSaved)} credits (${money(t.creditsSaved * report.creditPrice, report.currency)}).`
      : "";
  return h(
    "p",
    { class: "value-summary", testid: "value-summary" },
    `In ${span}, ${credits(t.credits)} credits cost ${cost}. ${byHand}${saved}`,
  );
}

export function renderValue(
  panel: Panel,
  report: ValueReport,
  attribution: Attribution | null,
  range: Range,
): void {
  panel.body.removeAttribute("aria-busy");
  const { currency } = report;
  const outcomesByAction = new Map(
    (attribution?.groups ?? []).map((g) => [
      g.action ?? "",
      { outcomes: g.outcomes, credits: g.credits },
    ]),
  );
  const withOutcomes = (attribution?.totals.outcomes ?? 0) > 0;
  const headers = [
    "Action",
    "Credits",
    "Credit cost",
    "Hours by hand",
    "Cost by hand",
    "By hand ÷ credits",
    "Credits saved by dedupe",
    ...(withOutcomes ? ["Outcomes per 1,000 credits"] : []),
  ];
  const groups = [...report.groups].sort(
    (a, b) => b.credits - a.credits || (a.action ?? "").localeCompare(b.action ?? ""),
  );
  const outcomeCell = (action: string): string[] => {
    if (!withOutcomes) return [];
    const o = outcomesByAction.get(action);
    return [o ? per1000(o.outcomes, o.credits) : "–"];
  };
  const rows = groups.map((g) => [
    g.action ?? "–",
    ...cells(g, currency),
    ...outcomeCell(g.action ?? ""),
  ]);
  const body: Node[] = [summary(report, range)];
  if (rows.length === 0) {
    body.push(
      empty(
        "No usage in this range yet. Calls through the gateway will show here within a minute.",
      ),
    );
  } else {
    const list = table(
      `Credits against the same work by hand, by action, in ${currency}`,
      headers,
      rows,
      { class: "data", testid: TESTID },
    );
    const totals = attribution?.totals;
    list.append(
      h(
        "tfoot",
        {},
        h(
          "tr",
          {},
          h("th", { text: "All actions", attrs: { scope: "row" } }),
          ...[
            ...cells(report.totals, currency),
            ...(withOutcomes && totals ? [per1000(totals.outcomes, totals.credits)] : []),
          ].map((text) => h("td", { text })),
        ),
      ),
    );
    body.push(list);
  }
  const notes: string[] = [
    `At ${money(report.creditPrice, currency)} a credit and ${money(report.hourlyCost, currency)} an hour of manual work. An admin sets the account's own with PUT /v1/value/settings.`,
  ];
  if (report.withoutManualMinutes.length > 0) {
    notes.push(
      `No manual minutes in the configuration for ${report.withoutManualMinutes.join(", ")}: counted as no manual work.`,
    );
  }
  body.push(...notes.map((text) => h("p", { class: "hint", text })));
  body.push(
    h("p", {
      class: "hint",
      testid: "value-outcomes",
      text: withOutcomes
        ? "Outcomes are those reported for the range's calls (GET /v1/usage/attribution)."
        : "No outcomes reported in this range: outcomes per 1,000 credits show here once they are.",
    }),
  );
  panel.body.replaceChildren(...body);
}

/** The report could not be made (no value declared or set): say why and what to do. */
export function renderValueMissing(panel: Panel, problem: Problem): void {
  panel.body.removeAttribute("aria-busy");
  panel.body.replaceChildren(h("div", { testid: TESTID }, empty(problem.detail)));
}
