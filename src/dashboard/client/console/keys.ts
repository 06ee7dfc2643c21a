/**
 * API keys (issue 17): create one (its secret shown once, with a copy button), list them, and
 * revoke one after a confirmation, through `/v1/keys`. Only admins may list keys: a finance key
 * is told so instead.
 */
import { empty, h, table, uid } from "../dom";
import { day } from "../format";
import type { CreatedKey, Key, Role } from "../types";
import type { ConsoleContext } from "./context";
import { choice, Dialog, form, input } from "./forms";

const NAME_MAX = 120;
const ROLES: [Role, string][] = [
  ["member", "member: calls features as one member"],
  ["finance", "finance: reads usage and balances"],
  ["admin", "admin: manages the account"],
];

/** A secret in a read-only field with a Copy button and the warning that it shows only once. */
export function secretField(label: string, secret: string): HTMLElement {
  const field = input(label, { name: "secret", readOnly: true, value: secret });
  field.control.classList.add("secret");
  const copied = h("p", { class: "hint", attrs: { role: "status" } });
  const copy = h("button", { text: "Copy", attrs: { type: "button" } });
  copy.addEventListener("click", () => {
    field.control.select();
    navigator.clipboard
      ?.writeText(secret)
      .then(() => {
        copied.textContent = "Copied.";
      })
      .catch(() => {
        copied.textContent = "Copying is blocked here: select the text and copy it.";
      });
  });
  return h(
    "div",
    { class: "secret-box" },
    h("p", {
      class: "warning",
      text: "Copy it now: it will not be shown again. Only its hash is stored.",
    }),
    h("div", { class: "secret-row" }, field.field, copy),
    copied,
  );
}

function keyForm(ctx: ConsoleContext, opener: HTMLElement): void {
  const dialog = new Dialog(ctx.host, "New key");
  const role = choice("Role", "role", ROLES, "member");
  const active = ctx.members().filter((m) => m.active);
  const member = choice(
    "Member",
    "memberId",
    active.length ? active.map((m) => [m.id, m.name]) : [["", "No active member"]],
    active[0]?.id ?? "",
  );
  const name = input("Key name", { name: "name", maxLength: NAME_MAX, hint: "Optional." });
  const sync = () => {
    member.control.disabled = role.control.value !== "member";
  };
  role.control.addEventListener("change", sync);
  sync();
  let created: CreatedKey | null = null;
  const { form: el } = form({
    label: "New key",
    submit: "Create key",
    fields: [role.field, member.field, name.field],
    extra: [dialog.cancel()],
    send: async () => {
      const body: Record<string, unknown> = { role: role.control.value };
      if (role.control.value === "member") body.memberId = member.control.value;
      if (name.control.value.trim() !== "") body.name = name.control.value;
      created = await ctx.api.write<CreatedKey>("POST", "/v1/keys", body);
      return "Key created.";
    },
    done: () => {
      if (!created) return;
      const done = dialog.cancel("Done");
      dialog.body.replaceChildren(
        h("p", {
          attrs: { role: "status" },
          text: `Key ${created.name ?? created.id} created (${created.role}).`,
        }),
        secretField("New key", created.key),
        h("div", { class: "form-actions" }, done),
      );
      dialog.root.querySelector<HTMLInputElement>("input.secret")?.focus();
      ctx.announce("keys", `Key ${created.name ?? created.id} created.`);
      void ctx.reload("keys");
    },
  });
  dialog.open(opener, el);
}

function revoke(ctx: ConsoleContext, opener: HTMLElement, key: Key): void {
  const label = key.name ?? key.id;
  const dialog = new Dialog(ctx.host, `Revoke ${label}?`);
  const { form: el } = form({
    label: `Revoke ${label}`,
    submit: "Revoke key",
    fields: [
      h("p", {
        text: "Calls with this key are refused from now on. This cannot be undone: make a new key to replace it.",
      }),
    ],
    extra: [dialog.cancel()],
    send: async () => {
      await ctx.api.write("DELETE", `/v1/keys/${key.id}`);
      return `Key ${label} revoked.`;
    },
    done: (message) => {
      dialog.close();
      ctx.announce("keys", message);
      void ctx.reload("keys");
    },
  });
  dialog.open(opener, el);
}

export function renderKeys(ctx: ConsoleContext, keys: Key[] | null): Node[] {
  if (keys === null) {
    return [empty("Only an admin key can list the account's keys.")];
  }
  const create = h("button", { text: "New key", attrs: { type: "button" } });
  create.addEventListener("click", () => keyForm(ctx, create));
  const live = keys.filter((k) => k.revokedAt === null);
  if (live.length === 0) return [create, empty("No keys yet.")];
  const memberName = new Map(ctx.members().map((m) => [m.id, m.name]));
  const rows = live.map((k) => {
    // The button's name is "Revoke"; its description names the key it revokes.
    const name = h("span", { id: uid("key"), text: k.name ?? "(no name)" });
    const button = h("button", {
      class: "small",
      text: "Revoke",
      attrs: { type: "button", "aria-describedby": name.id },
    });
    button.addEventListener("click", () => revoke(ctx, button, k));
    const own = k.id === ctx.keyId;
    return [
      name,
      k.role,
      k.memberId === null ? "–" : (memberName.get(k.memberId) ?? k.memberId),
      day(k.createdAt),
      `…${k.id.slice(-6)}`,
      own ? "Signed in with it" : button,
    ];
  });
  return [
    create,
    table("API keys", ["Name", "Role", "Member", "Created", "Key id", "Revoke"], rows, {
      class: "data",
      testid: "console-keys",
    }),
  ];
}
