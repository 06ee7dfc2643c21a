/**
 * Teams and their rules (issue 17): create, rename and delete teams, and set a team's rules
 * (allow-lists from the account's catalog with prices, purposes, budgets, the member rate
 * limit) through `/v1/teams`. A finance key sees the same list without a button.
 */
import { empty, h, table } from "../dom";
import { credits } from "../format";
import type { AccountCatalog, Member, TeamDetail, TeamRules } from "../types";
import { priceText } from "../views/plan";
import { rulesCell } from "../views/teams";
import type { ConsoleContext } from "./context";
import {
  checkbox,
  choice,
  count,
  Dialog,
  fieldset,
  form,
  input,
  numberOf,
  rowButton,
} from "./forms";

const NAME_MAX = 120;

function teamForm(ctx: ConsoleContext, opener: HTMLElement, team: TeamDetail | null): void {
  const dialog = new Dialog(ctx.host, team ? `Rename ${team.name}` : "New team");
  const name = input("Team name", {
    name: "name",
    required: true,
    maxLength: NAME_MAX,
    value: team?.name ?? "",
  });
  const { form: el } = form({
    label: team ? "Rename team" : "New team",
    submit: team ? "Rename team" : "Create team",
    fields: [name.field],
    extra: [dialog.cancel()],
    send: async () => {
      const body = { name: name.control.value };
      const saved = team
        ? await ctx.api.write<TeamDetail>("PATCH", `/v1/teams/${team.id}`, body)
        : await ctx.api.write<TeamDetail>("POST", "/v1/teams", body);
      return team ? `Team renamed to ${saved?.name}.` : `Team ${saved?.name} created.`;
    },
    done: (message) => {
      dialog.close();
      ctx.announce("teams", message);
      void ctx.reload("teams");
    },
  });
  dialog.open(opener, el);
}

/** Which of the catalog's categories and actions a rules form offers, and which are checked. */
function allowFields(catalog: AccountCatalog, rules: TeamRules) {
  const limited = rules.allowedActions !== null || rules.allowedCategories !== null;
  const mode = choice(
    "Allowed actions",
    "allowedActions",
    [
      ["all", "Everything the plan includes"],
      ["listed", "Only the categories and actions checked below"],
    ],
    limited ? "listed" : "all",
  );
  const categories = catalog.categories.map((id) =>
    checkbox(id, "allowedCategories", rules.allowedCategories?.includes(id) ?? false),
  );
  const actions = catalog.included.map((a) =>
    checkbox(
      `${a.name} (${a.id}): ${priceText(a.price)} credits`,
      "allowedActions",
      rules.allowedActions?.includes(a.id) ?? false,
    ),
  );
  const lists = h(
    "div",
    { class: "allow-lists" },
    fieldset("Categories", ...categories.map((c) => c.field)),
    fieldset("Actions the plan includes", ...actions.map((c) => c.field)),
  );
  const sync = () => {
    const on = mode.control.value === "listed";
    for (const c of [...categories, ...actions]) c.control.disabled = !on;
  };
  mode.control.addEventListener("change", sync);
  sync();
  const read = (): Pick<TeamRules, "allowedActions" | "allowedCategories"> => {
    if (mode.control.value === "all") return { allowedActions: null, allowedCategories: null };
    return {
      allowedCategories: catalog.categories.filter((_, i) => categories[i]?.control.checked),
      allowedActions: catalog.included
        .filter((_, i) => actions[i]?.control.checked)
        .map((a) => a.id),
    };
  };
  return { fields: [mode.field, lists], read };
}

function rulesForm(ctx: ConsoleContext, opener: HTMLElement, team: TeamDetail): void {
  const dialog = new Dialog(ctx.host, `Rules for ${team.name}`);
  const rules = team.rules;
  const allow = allowFields(ctx.catalog, rules);
  const required = checkbox("Purpose required", "required", rules.purpose.required);
  const purposes = input("Allowed purposes", {
    name: "allowed",
    value: rules.purpose.allowed?.join(", ") ?? "",
    hint: "Comma-separated; empty: any purpose.",
  });
  const teamBudget = count(
    "Team monthly budget",
    "teamBudget",
    rules.teamBudget,
    "Credits the team may use each period; empty: no budget.",
  );
  const memberBudget = count(
    "Default member budget",
    "memberBudget",
    rules.memberBudget,
    "Credits each member may use each period, unless the member has a budget of their own; empty: none.",
  );
  const rate = count(
    "Member rate limit per minute",
    "memberRateLimitPerMinute",
    rules.memberRateLimitPerMinute,
    "Calls a member may make each minute; empty: no limit.",
  );
  const { form: el } = form({
    label: `Rules for ${team.name}`,
    submit: "Save rules",
    fields: [
      ...allow.fields,
      fieldset("Purpose", required.field, purposes.field),
      teamBudget.field,
      memberBudget.field,
      rate.field,
    ],
    extra: [dialog.cancel()],
    send: async () => {
      const list = purposes.control.value
        .split(",")
        .map((p) => p.trim())
        .filter((p) => p !== "");
      const body: TeamRules = {
        ...allow.read(),
        purpose: { required: required.control.checked, allowed: list.length ? list : null },
        teamBudget: numberOf(teamBudget.control),
        memberBudget: numberOf(memberBudget.control),
        memberRateLimitPerMinute: numberOf(rate.control),
      };
      await ctx.api.write<TeamRules>("PUT", `/v1/teams/${team.id}/rules`, body);
      return `Rules of ${team.name} saved.`;
    },
    done: (message) => {
      dialog.close();
      ctx.announce("teams", `${message} The rules now in force are in the team's row.`);
      void ctx.reload("teams");
    },
  });
  dialog.open(opener, el);
}

async function deleteTeam(ctx: ConsoleContext, team: TeamDetail): Promise<void> {
  try {
    await ctx.api.write("DELETE", `/v1/teams/${team.id}`);
    ctx.announce("teams", `Team ${team.name} deleted.`);
    await ctx.reload("teams");
  } catch (error) {
    ctx.refuse("teams", error);
  }
}

function budgetText(team: TeamDetail): string {
  const used = team.spend.captured + team.spend.held;
  const budget = team.rules.teamBudget;
  return budget === null
    ? `${credits(used)} used, no budget`
    : `${credits(used)} of ${credits(budget)}`;
}

export function renderTeams(ctx: ConsoleContext, teams: TeamDetail[], members: Member[]): Node[] {
  const tools: Node[] = [];
  if (ctx.admin) {
    const create = h("button", { text: "New team", attrs: { type: "button" } });
    create.addEventListener("click", () => teamForm(ctx, create, null));
    tools.push(create);
  }
  if (teams.length === 0) {
    return [...tools, empty(ctx.admin ? "No teams yet: create one." : "No teams yet.")];
  }
  const memberCount = (id: string) => members.filter((m) => m.teamId === id && m.active).length;
  const rows = teams.map((team) => {
    const row: (string | Node)[] = [
      team.name,
      String(memberCount(team.id)),
      budgetText(team),
      rulesCell(team.rules),
    ];
    if (ctx.admin) {
      row.push(
        h(
          "div",
          { class: "row-actions" },
          rowButton("Rules", `Rules for ${team.name}`, (b) => rulesForm(ctx, b, team)),
          rowButton("Rename", `Rename ${team.name}`, (b) => teamForm(ctx, b, team)),
          rowButton("Delete", `Delete ${team.name}`, () => void deleteTeam(ctx, team)),
        ),
      );
    }
    return row;
  });
  const headers = ["Team", "Active members", "This period", "Rules"];
  if (ctx.admin) headers.push("Manage");
  return [
    ...tools,
    table("Teams, their budgets and rules", headers, rows, {
      class: "data",
      testid: "console-teams",
    }),
  ];
}
