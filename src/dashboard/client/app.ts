/**
 * The signed-in dashboard: loads what each view needs from the API, reloads the views that
 * depend on a filter when it changes, and sends problems to the banner (a 401 signs out).
 * Responses that arrive after a newer load started, or after the dashboard was torn down, are
 * dropped: nothing is drawn and no chart is made on a page that is gone.
 */
import { Api, ApiError, problemOfError } from "./api";
import { Console } from "./console";
import { burndownOf, denialsFrom, spendOf, topOf } from "./derive";
import { setOptions } from "./dom";
import { downloadExport } from "./export";
import { day } from "./format";
import { teamDetails, valueReads } from "./reads";
import { FilterState, type Filters, type GroupBy, type Range, rangeOf, usageParams } from "./state";
import type {
  Account,
  AccountCatalog,
  Alert,
  Balance,
  Member,
  Page,
  Summary,
  Team,
  TeamDetail,
  UsageEvent,
} from "./types";
import { renderBalance } from "./views/balance";
import { BurndownView } from "./views/burndown";
import { renderAlerts, renderDenials, renderTop } from "./views/lists";
import { renderPlan } from "./views/plan";
import { renderShell, type Shell } from "./views/shell";
import { SpendView } from "./views/spend";
import { renderTeamBudgets } from "./views/teams";
import { renderValue, renderValueMissing } from "./views/value";

const RECENT = 20;
/** The events API's largest page. */
const EVENTS_PAGE = 1000;
const SUMMARY = "/v1/usage/summary";
const EVENTS = "/v1/usage/events";

export class Dashboard {
  private readonly api: Api;
  private readonly filters = new FilterState();
  private readonly shell: Shell;
  private readonly spend: SpendView;
  private readonly burndown: BurndownView;
  private readonly console: Console;
  private teams = new Map<string, string>();
  private members = new Map<string, Member>();
  private balance: Balance | null = null;
  /** The range on screen, computed once per load by `loadRange`; exports use it too. */
  private shown: Range | null = null;
  private destroyed = false;
  /** Bumped by each `loadAll` (balance, burn-down, alerts) and by `destroy`. */
  private loads = 0;
  /** Bumped by each `loadRange` and by `destroy`. */
  private generation = 0;
  private spendGeneration = 0;
  private teamsGeneration = 0;
  /** Bumped by each `loadValue` (range changes only) and by `destroy`. */
  private valueGeneration = 0;

  constructor(
    root: HTMLElement,
    key: string,
    account: Account,
    private readonly signOut: (message?: string) => void,
  ) {
    this.api = new Api(key);
    this.shell = renderShell(root, account, this.filters, () => this.signOut());
    this.spend = new SpendView(this.shell.spend);
    this.burndown = new BurndownView(this.shell.burndown);
    this.filters.onChange((filters, changed) => {
      if (changed === "groupBy") void this.guard(this.loadSpend(filters, this.generation));
      else void this.guard(this.loadRange(changed === "range"));
    });
    const caller = account.caller;
    this.console = new Console(
      this.api,
      caller?.role === "admin",
      caller?.keyId ?? null,
      (error) => {
        void this.guard(Promise.reject(error));
      },
    );
    this.shell.manage.append(this.console.root);
    this.shell.showOverview.addEventListener("click", () => this.view("overview"));
    this.shell.showManage.addEventListener("click", () => this.view("manage"));
    this.shell.refresh.addEventListener("click", () => {
      void this.start();
      if (!this.shell.manage.hidden) void this.console.loadAll();
    });
    this.shell.exportCsv.addEventListener("click", () => void this.guard(this.export("csv")));
    this.shell.exportNdjson.addEventListener("click", () => void this.guard(this.export("ndjson")));
  }

  /** Shows the overview or the console; the console loads the first time it is shown. */
  private view(which: "overview" | "manage"): void {
    const manage = which === "manage";
    this.shell.overview.hidden = manage;
    this.shell.manage.hidden = !manage;
    for (const [button, on] of [
      [this.shell.showOverview, !manage],
      [this.shell.showManage, manage],
    ] as const) {
      if (on) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    if (manage) void this.console.show();
  }

  /** True once torn down: its loads and callbacks then do nothing. */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  destroy(): void {
    this.destroyed = true;
    this.loads += 1;
    this.generation += 1;
    this.spendGeneration += 1;
    this.teamsGeneration += 1;
    this.valueGeneration += 1;
    this.spend.destroy();
    this.burndown.destroy();
  }

  /**
   * Runs a load; a problem goes to the banner (with Retry when `retry` is given), a 401 back
   * to the sign-in. Once the dashboard is torn down, nothing: a late answer of an old
   * dashboard must not touch the page or sign out a newer session.
   */
  private async guard(work: Promise<void>, retry?: () => void): Promise<void> {
    try {
      await work;
    } catch (error) {
      if (this.destroyed) return;
      if (error instanceof ApiError && error.problem.status === 401) {
        this.signOut(`Signed out: ${error.problem.detail} Sign in again with a valid key.`);
        return;
      }
      this.shell.banner.show(problemOfError(error), { retry });
    }
  }

  /** Loads everything; a failure (network, 5xx) shows in the banner with a Retry. */
  start(): Promise<void> {
    return this.guard(this.loadAll(), () => void this.start());
  }

  /** The range on screen, as the last `loadRange` computed it. */
  private get range(): Range {
    if (!this.shown) throw new Error("The dashboard is not loaded yet.");
    return this.shown;
  }

  private periodRange(): Range {
    const b = this.balance;
    if (!b) throw new Error("The balance is not loaded yet.");
    return { from: Date.parse(b.period.start), to: Date.parse(b.period.end) };
  }

  private async loadAll(): Promise<void> {
    this.loads += 1;
    const load = this.loads;
    this.shell.banner.clear();
    const [balance, teams, members, account, catalog] = await Promise.all([
      this.api.get<Balance>("/v1/balance"),
      this.api.all<Team>("/v1/teams"),
      this.api.all<Member>("/v1/members"),
      this.api.get<Account>("/v1/account"),
      this.api.get<AccountCatalog>("/v1/catalog"),
    ]);
    if (load !== this.loads) return;
    renderPlan(this.shell.plan, account, catalog);
    // The configuration's categories, in the order its actions name them.
    const categories = [
      ...new Set([...catalog.included, ...catalog.notIncluded].map((a) => a.category)),
    ];
    setOptions(
      this.shell.categorySelect,
      [["", "All categories"], ...categories.map((c): [string, string] => [c, c])],
      this.filters.current.category,
    );
    this.balance = balance;
    this.teams = new Map(teams.map((t) => [t.id, t.name]));
    this.members = new Map(members.map((m) => [m.id, m]));
    renderBalance(this.shell.balance, balance);
    const current = this.filters.current.team;
    setOptions(
      this.shell.teamSelect,
      [["", "All teams"], ...teams.map((t): [string, string] => [t.id, t.name])],
      current,
    );
    this.shell.teamHint.hidden = teams.length > 0;
    this.shell.teamHint.textContent =
      "No teams yet. An admin creates teams and members through the API (POST /v1/teams); until then usage shows without a team.";
    await Promise.all([
      this.loadBurndown(balance, load),
      this.loadAlerts(load),
      this.loadTeamBudgets(teams),
      this.loadRange(true),
    ]);
  }

  private async loadBurndown(balance: Balance, load: number): Promise<void> {
    const summary = await this.api.get<Summary>(SUMMARY, {
      group_by: "day",
      from: balance.period.start,
      to: balance.period.end,
    });
    if (load !== this.loads) return;
    const byDay = new Map(summary.groups.map((g) => [g.day ?? "", g.credits]));
    this.burndown.render(burndownOf(balance, byDay), balance);
  }

  private async loadAlerts(load: number): Promise<void> {
    const page = await this.api.get<Page<Alert>>("/v1/alerts", { limit: RECENT });
    if (load !== this.loads) return;
    renderAlerts(this.shell.alerts, page.data, (a) => this.scopeName(a));
  }

  /** Each team's rules and this period's spend (`GET /v1/teams/{id}`); no filter applies. */
  private async loadTeamBudgets(teams: Team[]): Promise<void> {
    this.teamsGeneration += 1;
    const gen = this.teamsGeneration;
    this.shell.teamBudgets.body.setAttribute("aria-busy", "true");
    let details: TeamDetail[] | null;
    try {
      details = await teamDetails(this.api, teams, () => gen === this.teamsGeneration);
    } finally {
      if (gen === this.teamsGeneration) this.shell.teamBudgets.body.removeAttribute("aria-busy");
    }
    if (details === null || gen !== this.teamsGeneration) return;
    renderTeamBudgets(this.shell.teamBudgets, details);
  }

  /** Every view that depends on the range and filters. */
  private async loadRange(rangeChanged: boolean): Promise<void> {
    this.generation += 1;
    const gen = this.generation;
    const filters = this.filters.current;
    const range = rangeOf(filters.range, this.periodRange());
    this.shown = range;
    const params = usageParams(range, filters);
    this.shell.rangeLabel.textContent = `${day(range.from)} to ${day(range.to - 1)} (UTC)`;
    this.shell.rangeLabel.dataset.from = params.from ?? "";
    this.shell.rangeLabel.dataset.to = params.to ?? "";
    const work: Promise<void>[] = [
      this.loadSpend(filters, gen),
      this.loadTop("member", params, gen),
      this.loadTop("action", params, gen),
    ];
    if (rangeChanged) work.push(this.loadActionOptions(params, gen), this.loadValue(range));
    await Promise.all(work);
  }

  private async loadActionOptions(params: Record<string, string>, gen: number): Promise<void> {
    const summary = await this.api.get<Summary>(SUMMARY, {
      group_by: "action",
      from: params.from,
      to: params.to,
    });
    if (gen !== this.generation) return;
    const actions = summary.groups.map((g) => g.action ?? "").filter((a) => a !== "");
    setOptions(
      this.shell.actionSelect,
      [["", "All actions"], ...actions.map((a): [string, string] => [a, a])],
      this.filters.current.action,
    );
  }

  /**
   * The Value panel: the range's credits against the same work by hand, for the whole account
   * (the team, action and category filters do not apply). A 409 (no value declared or set) is
   * said in the panel; outcomes per 1,000 credits show once the attribution has any (a 404:
   * none reported).
   */
  private async loadValue(range: Range): Promise<void> {
    this.valueGeneration += 1;
    const gen = this.valueGeneration;
    this.shell.value.body.setAttribute("aria-busy", "true");
    const { report, attribution } = await valueReads(this.api, range);
    if (gen !== this.valueGeneration) return;
    if ("detail" in report) renderValueMissing(this.shell.value, report);
    else renderValue(this.shell.value, report, attribution, range);
  }

  private async loadSpend(filters: Filters, gen: number): Promise<void> {
    this.spendGeneration += 1;
    const spendGen = this.spendGeneration;
    const range = this.range;
    const by = filters.groupBy;
    this.spend.loading();
    const summary = await this.api.get<Summary>(SUMMARY, {
      group_by: `day,${by}`,
      ...usageParams(range, filters),
    });
    if (gen !== this.generation || spendGen !== this.spendGeneration) return;
    const spend = spendOf(summary.groups, by, range, (key) => this.labelOf(by, key));
    this.spend.render(spend, summary.totals, by, range);
    await this.loadDenials(summary, range, filters, gen);
  }

  private async loadTop(
    what: "member" | "action",
    params: Record<string, string>,
    gen: number,
  ): Promise<void> {
    const summary = await this.api.get<Summary>(SUMMARY, { group_by: what, ...params });
    if (gen !== this.generation) return;
    if (what === "member") {
      const rows = topOf(summary.groups, "memberId");
      renderTop(this.shell.topMembers, rows, "member", "top-members", (k) => this.memberName(k));
    } else {
      const rows = topOf(summary.groups, "action");
      renderTop(this.shell.topActions, rows, "action", "top-actions", (k) => k || "–");
    }
  }

  /**
   * The newest denials: the events API lists oldest first, so read from the earliest day that
   * still holds the newest RECENT denials (found from the summary's denials per day), keep the
   * last RECENT, and show them newest first.
   */
  private async loadDenials(
    summary: Summary,
    range: Range,
    filters: Filters,
    gen: number,
  ): Promise<void> {
    const start = denialsFrom(summary.groups, RECENT);
    let events: UsageEvent[] = [];
    if (start !== null) {
      const from = Math.max(range.from, Date.parse(`${start.day}T00:00:00Z`));
      const params = { ...usageParams({ from, to: range.to }, filters), outcome: "denied" };
      // The summary counts `start.count` denials from that day on, which fit in this many
      // pages: a bound, so a cursor that never ends cannot loop forever.
      const maxPages = Math.floor(start.count / EVENTS_PAGE) + 1;
      let cursor: string | undefined;
      for (let i = 0; i < maxPages; i++) {
        const page = await this.api.get<Page<UsageEvent>>(EVENTS, {
          ...params,
          limit: EVENTS_PAGE,
          cursor,
        });
        if (gen !== this.generation) return;
        events = [...events, ...page.data].slice(-RECENT);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
    }
    if (gen !== this.generation) return;
    renderDenials(this.shell.denials, events.reverse(), (id) => this.memberName(id ?? ""));
  }

  private async export(format: "csv" | "ndjson"): Promise<void> {
    const filters = this.filters.current;
    await downloadExport(this.api, format, this.range, filters, this.shell);
  }

  private labelOf(by: GroupBy, key: string): string {
    if (by === "team") return key === "" ? "No team" : (this.teams.get(key) ?? key);
    return key || "–";
  }

  private memberName(id: string): string {
    if (id === "") return "No member";
    return this.members.get(id)?.name ?? id;
  }

  private scopeName(alert: Alert): string {
    if (alert.scope === "account") return "Account";
    if (alert.scope === "team") return `Team ${this.teams.get(alert.scopeId) ?? alert.scopeId}`;
    return `Member ${this.memberName(alert.scopeId)}`;
  }
}
