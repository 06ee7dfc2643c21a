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
      await Promise.all(
        (Object.keys(this.parts) as Section[]).map((section) => this.load(section)),
      );
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

  private async load(section: Section): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    const { body } = this.parts[section];
    body.setAttribute("aria-busy", "true");
    let content: Node[];
    switch (section) {
      case "teams": {
        const [teams, members] = await Promise.all([this.teamDetails(), this.allMembers()]);
        this.teams = teams;
        this.members = members;
        content = renderTeams(ctx, teams, members);
        break;
      }
      case "members": {
        const [members, teams] = await Promise.all([this.allMembers(), this.teamDetails()]);
        this.members = members;
        this.teams = teams;
        content = renderMembers(ctx, members, teams);
        // A member moved or deactivated changes the teams' member counts.
        if (this.parts.teams.body.getAttribute("aria-busy") !== "true") {
          replaceKeepingFocus(this.parts.teams.body, renderTeams(ctx, teams, members));
        }
        break;
      }
      case "keys": {
        const [keys, members] = await Promise.all([
          ctx.admin ? this.api.all<Key>("/v1/keys") : null,
          this.allMembers(),
        ]);
        this.keys = keys;
        this.members = members;
        content = renderKeys(ctx, keys);
        break;
      }
      case "alerts": {
        const [settings, hook, deliveries] = await Promise.all([
          this.api.get<AlertSettings>("/v1/alerts/settings"),
          this.api.get<Webhook>("/v1/webhook"),
          this.api.get<{ data: WebhookDelivery[] }>("/v1/webhook/deliveries", { limit: 20 }),
        ]);
        content = renderAlertSettings(ctx, settings, hook, deliveries.data);
        break;
      }
    }
    replaceKeepingFocus(body, content);
    body.removeAttribute("aria-busy");
    // The member list shows team names and the key list member names: keep them current.
    if (section === "teams" && this.parts.members.body.getAttribute("aria-busy") !== "true") {
      replaceKeepingFocus(this.parts.members.body, renderMembers(ctx, this.members, this.teams));
    }
    if (
      (section === "teams" || section === "members") &&
      this.parts.keys.body.getAttribute("aria-busy") !== "true"
    ) {
      replaceKeepingFocus(this.parts.keys.body, renderKeys(ctx, this.keys));
    }
  }

  private allMembers(): Promise<Member[]> {
    return this.api.all<Member>("/v1/members");
  }

  /** Every team with its rules and this period's spend. */
  private async teamDetails(): Promise<TeamDetail[]> {
    return (await teamDetails(this.api, await this.api.all<Team>("/v1/teams"))) ?? [];
  }
}
