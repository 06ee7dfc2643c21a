/**
 * The admin console (issue 17): the account's teams and their rules, members, keys and alerts,
 * managed through the same account API as any client (`/v1/teams`, `/v1/members`, `/v1/keys`,
 * `/v1/alerts/settings`, `/v1/webhook`, `/v1/catalog`), so nothing the page does bypasses the
 * API's validation or roles. An admin key gets the forms; a finance key the same figures, read
 * only, with no button that would fail.
 */
import type { Api } from "../api";
import { problemOfError } from "../api";
import { h, uid } from "../dom";
import { teamDetails } from "../reads";
import type {
  AccountCatalog,
  AlertSettings,
  Key,
  Member,
  Team,
  TeamDetail,
  Webhook,
  WebhookDelivery,
} from "../types";
import { renderAlertSettings } from "./alerts";
import type { ConsoleContext, Section } from "./context";
import { accessibleName, Outcome } from "./forms";
import { renderKeys } from "./keys";
import { renderMembers } from "./members";
import { renderTeams } from "./teams";

interface Part {
  root: HTMLElement;
  outcome: Outcome;
  body: HTMLElement;
}

function part(title: string, intro: string): Part {
  const id = uid("h");
  const outcome = new Outcome();
  const body = h("div", { class: "panel-body", attrs: { "aria-busy": "true" } });
  const root = h(
    "section",
    { class: "panel wide console-part", attrs: { "aria-labelledby": id } },
    h("div", { class: "panel-head" }, h("h2", { id, text: title })),
    h("p", { class: "hint", text: intro }),
    outcome.root,
    body,
  );
  return { root, outcome, body };
}

/**
 * Draws a section again. When focus was on one of its buttons (the one that opened a dialog
 * that just closed), the button of the same name in the new content gets it, so the keyboard
 * user stays where they were.
 */
function replaceKeepingFocus(body: HTMLElement, content: Node[]): void {
  const active = document.activeElement;
  const name =
    active instanceof HTMLElement && body.contains(active) ? accessibleName(active) : null;
  body.replaceChildren(...content);
  if (name === null) return;
  const same = [...body.querySelectorAll<HTMLElement>("button")].find(
    (b) => accessibleName(b) === name,
  );
  same?.focus();
}

export class Console {
  readonly root: HTMLElement;
  private readonly parts: Record<Section, Part>;
  private ctx: ConsoleContext | null = null;
  private teams: TeamDetail[] = [];
  private members: Member[] = [];
  /** The keys as last loaded; null for a finance key, which may not list them. */
  private keys: Key[] | null = null;
  private loaded = false;

  constructor(
    private readonly api: Api,
    private readonly admin: boolean,
    private readonly keyId: string | null,
    /** A load failure that is not a form's (network, 401): the dashboard's banner or sign-out. */
    private readonly fail: (error: unknown) => void,
  ) {
    const who = admin
      ? "You are signed in with an admin key: changes apply at once, to every call that follows."
      : "You are signed in with a finance key: you can see the account's settings but not change them.";
    this.parts = {
      teams: part("Teams and rules", "Who may spend on what, and how much each period."),
      members: part("Members", "The people who call features, each in one team with a seat."),
      keys: part("API keys", "Member keys call features; admin and finance keys manage and read."),
      alerts: part("Alerts and webhook", "When the account hears about its spend, and where."),
    };
    this.root = h(
      "div",
      { class: "grid console", testid: "console" },
      h("p", { class: "console-who wide", text: who }),
      ...Object.values(this.parts).map((p) => p.root),
    );
  }

  /** Loads everything the first time the console is shown; later, only on Refresh. */
  async show(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    await this.loadAll();
  }

  async loadAll(): Promise<void> {
    try {
      const catalog = await this.api.get<AccountCatalog>("/v1/catalog");
      this.ctx = this.context(catalog);
      for (const part of Object.values(this.parts)) part.body.setAttribute("aria-busy", "true");
      await Promise.all([this.readPeople(), this.readKeys(), this.loadAlerts(this.ctx)]);
      this.drawPeople(this.ctx);
    } catch (error) {
      this.loaded = false;
      this.fail(error);
    }
  }

  private context(catalog: AccountCatalog): ConsoleContext {
    return {
      api: this.api,
      admin: this.admin,
      host: this.root,
      catalog,
      keyId: this.keyId,
      members: () => this.members,
      reload: async (section) => {
        try {
          await this.load(section);
        } catch (error) {
          this.fail(error);
        }
      },
      announce: (section, text) => this.parts[section].outcome.success(text),
      refuse: (section, error) => {
        const outcome = this.parts[section].outcome;
        outcome.problem(problemOfError(error));
        outcome.root.querySelector<HTMLElement>("[role=alert]")?.focus();
      },
    };
  }

  /**
   * Loads a section again after a change and draws it. Teams, members and keys show each
   * other's names and counts, so a change to one draws the three from what was read.
   */
  private async load(section: Section): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    this.parts[section].body.setAttribute("aria-busy", "true");
    if (section === "alerts") return this.loadAlerts(ctx);
    if (section === "keys") await this.readKeys();
    else await this.readPeople();
    this.drawPeople(ctx);
  }

  /** Teams (with rules and spend) and members, read together. */
  private async readPeople(): Promise<void> {
    const [teams, members] = await Promise.all([this.teamDetails(), this.allMembers()]);
    this.teams = teams;
    this.members = members;
  }

  private async readKeys(): Promise<void> {
    this.keys = this.admin ? await this.api.all<Key>("/v1/keys") : null;
  }

  private drawPeople(ctx: ConsoleContext): void {
    this.draw("teams", renderTeams(ctx, this.teams, this.members));
    this.draw("members", renderMembers(ctx, this.members, this.teams));
    this.draw("keys", renderKeys(ctx, this.keys));
  }

  private async loadAlerts(ctx: ConsoleContext): Promise<void> {
    const [settings, hook, deliveries] = await Promise.all([
      this.api.get<AlertSettings>("/v1/alerts/settings"),
      this.api.get<Webhook>("/v1/webhook"),
      this.api.get<{ data: WebhookDelivery[] }>("/v1/webhook/deliveries", { limit: 20 }),
    ]);
    this.draw("alerts", renderAlertSettings(ctx, settings, hook, deliveries.data));
  }

  private draw(section: Section, content: Node[]): void {
    const { body } = this.parts[section];
    replaceKeepingFocus(body, content);
    body.removeAttribute("aria-busy");
  }

  private allMembers(): Promise<Member[]> {
    return this.api.all<Member>("/v1/members");
  }

  /** Every team with its rules and this period's spend. */
  private async teamDetails(): Promise<TeamDetail[]> {
    return (await teamDetails(this.api, await this.api.all<Team>("/v1/teams"))) ?? [];
  }
}
