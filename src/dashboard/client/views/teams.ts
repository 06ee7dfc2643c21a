/**
 * Team budgets and rules: each team's budget against its spend this period, and its rules in
 * short. The list (`GET /v1/teams`) carries only ids and names, so each team's rules and spend
 * come from `GET /v1/teams/{id}`: spend is captured + held this period, as budgets count it.
 */
import { empty, h, table } from "../dom";
import { count, credits } from "../format";
import type { TeamDetail, TeamRules } from "../types";
import type { Panel } from "./shell";

const TESTID = "team-budgets";

/** Whether any rule or budget differs from the defaults (every field null, purpose optional). */
export function hasRules(rules: TeamRules): boolean {
  return (
    rules.allowedActions !== null ||
    rules.allowedCategories !== null ||
    rules.purpose.required ||
    rules.purpose.allowed !== null ||
    rules.memberRateLimitPerMinute !== null ||
    rules.teamBudget !== null ||
    rules.memberBudget !== null
  );
}

/** An action passes if it is listed or its category is; both null: everything. */
function allowed(rules: TeamRules): string {
  const { allowedActions: actions, allowedCategories: categories } = rules;
  if (actions === null && categories === null) return "Everything the plan includes";
  const parts: string[] = [];
  if (actions?.length) parts.push(`actions ${actions.join(", ")}`);
  if (categories?.length) parts.push(`categories ${categories.join(", ")}`);
  if (parts.length === 0) return "Nothing: the allow-lists are empty";
  return `Only ${parts.join("; ")}`;
}

function purpose(rules: TeamRules): string | null {
  const { required, allowed: list } = rules.purpose;
  if (!required && list === null) return null;
  const which = list === null ? "any purpose" : `one of ${list.join(", ") || "(none)"}`;
  return required ? `Purpose required: ${which}` : `Purpose, when sent: ${which}`;
}

export function rulesCell(rules: TeamRules): HTMLElement {
  const rate = rules.memberRateLimitPerMinute;
  const lines = [
    allowed(rules),
    rate === null ? "No member rate limit" : `Member rate limit: ${count(rate, "call")} a minute`,
    rules.memberBudget === null
      ? "No default member budget"
      : `Default member budget: ${credits(rules.memberBudget)} credits`,
    purpose(rules),
  ];
  return h(
    "ul",
    { class: "rules" },
    ...lines.map((line) => (line === null ? null : h("li", { text: line }))),
  );
}

function budgetCell(team: TeamDetail, used: number): HTMLElement {
  const budget = team.rules.teamBudget;
  if (budget === null) return h("span", { text: "–" });
  const share = budget === 0 ? (used > 0 ? 100 : 0) : Math.round((used / budget) * 100);
  const bar = h("progress", {
    attrs: {
      max: String(Math.max(1, budget)),
      value: String(budget === 0 ? Math.min(used, 1) : Math.min(used, budget)),
      "aria-label": `${team.name}: ${credits(used)} of ${credits(budget)} budget credits used this period`,
    },
  });
  const over = used > budget ? `, ${credits(used - budget)} over` : "";
  return h(
    "div",
    { class: "budget-bar" },
    bar,
    h("span", { class: "note", text: `${share}%${over}` }),
  );
}

export function renderTeamBudgets(panel: Panel, teams: TeamDetail[]): void {
  if (teams.length === 0) {
    panel.body.replaceChildren(
      h(
        "div",
        { testid: TESTID },
        empty(
          "No teams yet. An admin creates them with POST /v1/teams; until then usage shows without a team.",
        ),
      ),
    );
    return;
  }
  const sorted = [...teams].sort((a, b) => a.name.localeCompare(b.name));
  const rows = sorted.map((t) => {
    const used = t.spend.captured + t.spend.held;
    const budget = t.rules.teamBudget;
    return [
      t.name,
      budget === null ? "No budget" : credits(budget),
      credits(used),
      budgetCell(t, used),
      rulesCell(t.rules),
    ];
  });
  const list = table(
    "Each team's budget against its credits used this period, and its rules",
    ["Team", "Budget", "Used this period (captured + held)", "Budget used", "Rules"],
    rows,
    { class: "data", testid: TESTID },
  );
  const trs = list.tBodies[0]?.rows ?? [];
  sorted.forEach((t, i) => {
    const tr = trs[i];
    if (!tr) return;
    tr.dataset.teamId = t.id;
    tr.dataset.budget = t.rules.teamBudget === null ? "" : String(t.rules.teamBudget);
    tr.dataset.used = String(t.spend.captured + t.spend.held);
  });
  const note = h("p", {
    class: "empty",
    testid: "rules-empty",
    text: "No rules yet: every member can use everything the plan includes. An admin sets budgets and allow-lists with PUT /v1/teams/{id}/rules.",
  });
  const none = !sorted.some((t) => hasRules(t.rules));
  panel.body.replaceChildren(...(none ? [list, note] : [list]));
}
