/**
 * Members (issue 17): add one (name, team, seat), move them to another team, change their seat,
 * set or clear a personal budget, deactivate or reactivate them, through `/v1/members`.
 */
import { empty, h, table } from "../dom";
import { credits } from "../format";
import type { Member, Team } from "../types";
import type { ConsoleContext } from "./context";
import { choice, count, Dialog, form, input, numberOf, rowButton } from "./forms";

const NAME_MAX = 120;

function teamOptions(teams: Team[]): [string, string][] {
  return teams.map((t) => [t.id, t.name]);
}

function seatOptions(ctx: ConsoleContext): [string, string][] {
  return ctx.catalog.seats.map((s) => [s, s === "none" ? "none (no seat)" : s]);
}

function memberForm(
  ctx: ConsoleContext,
  opener: HTMLElement,
  teams: Team[],
  member: Member | null,
): void {
  const dialog = new Dialog(ctx.host, member ? `Edit ${member.name}` : "New member");
  const name = input("Member name", {
    name: "name",
    required: true,
    maxLength: NAME_MAX,
    value: member?.name ?? "",
  });
  const team = choice("Team", "teamId", teamOptions(teams), member?.teamId ?? teams[0]?.id ?? "");
  const seat = choice("Seat", "seat", seatOptions(ctx), member?.seat ?? ctx.catalog.seats[0] ?? "");
  const budget = member
    ? count(
        "Personal budget",
        "budget",
        member.budget,
        "Credits this member may use each period; empty: the team's default member budget.",
      )
    : null;
  const { form: el } = form({
    label: member ? `Edit ${member.name}` : "New member",
    submit: member ? "Save member" : "Create member",
    fields: [name.field, team.field, seat.field, budget?.field ?? null],
    extra: [dialog.cancel()],
    send: async () => {
      const body: Record<string, unknown> = {
        name: name.control.value,
        teamId: team.control.value,
        seat: seat.control.value,
      };
      if (budget) body.budget = numberOf(budget.control);
      const saved = member
        ? await ctx.api.write<Member>("PATCH", `/v1/members/${member.id}`, body)
        : await ctx.api.write<Member>("POST", "/v1/members", body);
      return member ? `${saved?.name} saved.` : `Member ${saved?.name} created.`;
    },
    done: (message) => {
      dialog.close();
      ctx.announce("members", message);
      void ctx.reload("members");
    },
  });
  dialog.open(opener, el);
}

async function setActive(ctx: ConsoleContext, member: Member, active: boolean): Promise<void> {
  try {
    await ctx.api.write<Member>("PATCH", `/v1/members/${member.id}`, { active });
    ctx.announce("members", `${member.name} ${active ? "reactivated" : "deactivated"}.`);
    await ctx.reload("members");
  } catch (error) {
    ctx.refuse("members", error);
  }
}

export function renderMembers(ctx: ConsoleContext, members: Member[], teams: Team[]): Node[] {
  const tools: Node[] = [];
  if (ctx.admin) {
    const create = h("button", { text: "New member", attrs: { type: "button" } });
    create.addEventListener("click", () => memberForm(ctx, create, teams, null));
    if (teams.length === 0) {
      create.disabled = true;
      tools.push(
        create,
        h("p", { class: "hint", text: "Create a team first: every member is in one." }),
      );
    } else tools.push(create);
  }
  if (members.length === 0) return [...tools, empty("No members yet.")];
  const teamName = new Map(teams.map((t) => [t.id, t.name]));
  const rows = members.map((m) => {
    const row: (string | Node)[] = [
      m.name,
      teamName.get(m.teamId) ?? m.teamId,
      m.seat,
      m.budget === null ? "Team default" : `${credits(m.budget)} credits`,
      m.active ? "Active" : "Deactivated",
    ];
    if (ctx.admin) {
      row.push(
        h(
          "div",
          { class: "row-actions" },
          rowButton("Edit", `Edit ${m.name}`, (b) => memberForm(ctx, b, teams, m)),
          m.active
            ? rowButton("Deactivate", `Deactivate ${m.name}`, () => void setActive(ctx, m, false))
            : rowButton("Reactivate", `Reactivate ${m.name}`, () => void setActive(ctx, m, true)),
        ),
      );
    }
    return row;
  });
  const headers = ["Member", "Team", "Seat", "Personal budget", "Status"];
  if (ctx.admin) headers.push("Manage");
  return [...tools, table("Members", headers, rows, { class: "data", testid: "console-members" })];
}
