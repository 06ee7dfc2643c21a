/**
 * The signed-in page: header with sign-out, the error banner, the filters, and an empty panel
 * for each view. Views fill their panel's body; the controller wires the rest.
 */
import { h, select, uid } from "../dom";
import {
  type FilterState,
  GROUP_LABELS,
  type GroupBy,
  RANGE_LABELS,
  type RangeChoice,
} from "../state";
import type { Account, Problem } from "../types";

export interface Panel {
  root: HTMLElement;
  /** Next to the heading: a control (the grouping switch) or a figure. */
  tools: HTMLElement;
  body: HTMLElement;
}

function panel(title: string, wide = false): Panel {
  const id = uid("h");
  const tools = h("div", { class: "panel-tools" });
  const body = h("div", { class: "panel-body" });
  const root = h(
    "section",
    { class: wide ? "panel wide" : "panel", attrs: { "aria-labelledby": id } },
    h("div", { class: "panel-head" }, h("h2", { id, text: title }), tools),
    body,
  );
  return { root, tools, body };
}

export class Banner {
  readonly root = h("div", { class: "banner", testid: "error-banner", attrs: { role: "alert" } });

  constructor() {
    this.root.hidden = true;
  }

  /**
   * Shows a problem. With `retry`, a Retry button runs it; `dismiss: false` leaves out the
   * Dismiss button (when the banner is all the page shows).
   */
  show(problem: Problem, options: { retry?: () => void; dismiss?: boolean } = {}): void {
    const buttons: HTMLElement[] = [];
    const { retry } = options;
    if (retry) {
      const again = h("button", {
        text: "Retry",
        testid: "banner-retry",
        attrs: { type: "button" },
      });
      again.addEventListener("click", () => {
        this.clear();
        retry();
      });
      buttons.push(again);
    }
    if (options.dismiss !== false) {
      const close = h("button", { class: "link", text: "Dismiss", attrs: { type: "button" } });
      close.addEventListener("click", () => this.clear());
      buttons.push(close);
    }
    const title = problem.status ? `${problem.title} (${problem.status})` : problem.title;
    this.root.replaceChildren(
      h("p", { class: "banner-title", text: title }),
      h("p", { testid: "error-detail", text: problem.detail }),
      h("p", { class: "hint", text: problem.requestId ? `Request id: ${problem.requestId}` : "" }),
      h("div", { class: "banner-actions" }, ...buttons),
    );
    this.root.hidden = false;
  }

  clear(): void {
    this.root.replaceChildren();
    this.root.hidden = true;
  }
}

export interface Shell {
  banner: Banner;
  balance: Panel;
  plan: Panel;
  spend: Panel;
  burndown: Panel;
  topMembers: Panel;
  topActions: Panel;
  value: Panel;
  teamBudgets: Panel;
  denials: Panel;
  alerts: Panel;
  /** The overview (every usage panel) and the console, one shown at a time. */
  overview: HTMLElement;
  manage: HTMLElement;
  showOverview: HTMLButtonElement;
  showManage: HTMLButtonElement;
  /** What the filters select, in words: "2026-07-01 to 2026-07-31 (UTC)". */
  rangeLabel: HTMLElement;
  teamSelect: HTMLSelectElement;
  actionSelect: HTMLSelectElement;
  categorySelect: HTMLSelectElement;
  teamHint: HTMLElement;
  exportCsv: HTMLButtonElement;
  exportNdjson: HTMLButtonElement;
  exportStatus: HTMLElement;
  refresh: HTMLButtonElement;
}

export function renderShell(
  root: HTMLElement,
  account: Account,
  filters: FilterState,
  onSignOut: () => void,
): Shell {
  const f = filters.current;
  const signOut = h("button", { text: "Sign out", testid: "signout", attrs: { type: "button" } });
  signOut.addEventListener("click", onSignOut);
  const refresh = h("button", { text: "Refresh", attrs: { type: "button" } });
  const header = h(
    "header",
    { class: "top" },
    h(
      "div",
      {},
      h("h1", { text: "creditgate" }),
      h("p", { class: "account", text: `${account.name} · ${account.id} · ${account.plan} plan` }),
    ),
    h("div", { class: "top-actions" }, refresh, signOut),
  );

  const range = select(
    "Range",
    "filter-range",
    Object.entries(RANGE_LABELS) as [RangeChoice, string][],
    f.range,
    (v) => filters.set("range", v as RangeChoice),
  );
  const team = select("Team", "filter-team", [["", "All teams"]], f.team, (v) =>
    filters.set("team", v),
  );
  const action = select("Action", "filter-action", [["", "All actions"]], f.action, (v) =>
    filters.set("action", v),
  );
  const category = select(
    "Category",
    "filter-category",
    // The configuration's categories arrive with the account's catalog (`setOptions`).
    [["", "All categories"]],
    f.category,
    (v) => filters.set("category", v),
  );
  const teamHint = h("p", { class: "hint" });
  teamHint.hidden = true;
  const rangeLabel = h("p", { class: "range-label", testid: "range-label" });
  const exportCsv = h("button", {
    text: "Export CSV",
    testid: "export-csv",
    attrs: { type: "button" },
  });
  const exportNdjson = h("button", {
    text: "Export NDJSON",
    testid: "export-ndjson",
    attrs: { type: "button" },
  });
  const exportStatus = h("p", { class: "hint", attrs: { role: "status" } });
  const filterBar = h(
    "section",
    { class: "filters", attrs: { "aria-label": "Filters and export" } },
    h("div", { class: "filter-fields" }, range.field, team.field, action.field, category.field),
    teamHint,
    h(
      "div",
      { class: "filter-foot" },
      rangeLabel,
      h("div", { class: "exports" }, exportCsv, exportNdjson),
    ),
    exportStatus,
  );

  const groupBy = select(
    "Group by",
    "group-by",
    Object.entries(GROUP_LABELS) as [GroupBy, string][],
    f.groupBy,
    (v) => filters.set("groupBy", v as GroupBy),
  );
  const showOverview = h("button", {
    text: "Overview",
    attrs: { type: "button", "aria-current": "page" },
  });
  const showManage = h("button", { text: "Manage", attrs: { type: "button" } });
  const overview = h("div", { class: "view", testid: "overview" });
  const manage = h("div", { class: "view", testid: "manage" });
  manage.hidden = true;
  const shell: Shell = {
    overview,
    manage,
    showOverview,
    showManage,
    banner: new Banner(),
    balance: panel("Balance now", true),
    plan: panel("Plan, add-ons and prices", true),
    spend: panel("Spend per day", true),
    burndown: panel("Balance over this period", true),
    topMembers: panel("Top members"),
    topActions: panel("Top actions"),
    value: panel("Value: credits against the same work by hand", true),
    teamBudgets: panel("Team budgets and rules", true),
    denials: panel("Recent denials", true),
    alerts: panel("Recent alerts", true),
    rangeLabel,
    teamSelect: team.control,
    actionSelect: action.control,
    categorySelect: category.control,
    teamHint,
    exportCsv,
    exportNdjson,
    exportStatus,
    refresh,
  };
  shell.spend.tools.append(groupBy.field);
  root.replaceChildren(
    header,
    h("nav", { class: "views", attrs: { "aria-label": "Dashboard" } }, showOverview, showManage),
    shell.banner.root,
    overview,
    manage,
  );
  overview.replaceChildren(
    h(
      "div",
      { class: "grid" },
      shell.balance.root,
      shell.plan.root,
      filterBar,
      shell.spend.root,
      shell.burndown.root,
      shell.topMembers.root,
      shell.topActions.root,
      shell.value.root,
      shell.teamBudgets.root,
      shell.denials.root,
      shell.alerts.root,
    ),
  );
  return shell;
}
