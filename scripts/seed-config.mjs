/**
 * Seeds a starting account for a configuration other than the demo's, over the gateway's own
 * HTTP API: account `demo` on the configuration's first plan, a team, one member per seat kind
 * (a member `none` when it declares none), a key for each, and an admin and a finance key. It
 * knows nothing of the actions but what the file says; the banner shows a curl line for the
 * first one. Secrets are shown only once, so every run makes new keys.
 *
 * Standalone: BASE_URL=http://127.0.0.1:8787 OPERATOR_TOKEN=... CONFIG=path node scripts/seed-config.mjs
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { call } from "./seed-demo.mjs";

/** The account, its people and fresh keys. `config` is the parsed configuration file. */
export async function seedConfig(baseUrl, operatorToken, config) {
  const op = (method, path, body, expected) =>
    call(baseUrl, operatorToken, method, path, body, expected);
  const plan = config.plans[0];
  const account = { id: "demo", name: "Demo", plan: plan.id };
  await op("POST", "/admin/v1/accounts", account, [201, 409]);
  const admin = await op("POST", `/admin/v1/accounts/${account.id}/keys`, {
    role: "admin",
    name: "npm start",
  });
  const as = (method, path, body, expected) =>
    call(baseUrl, admin.body.key, method, path, body, expected);
  const finance = await as("POST", "/v1/keys", { role: "finance", name: "npm start" });
  const teams = await as("GET", "/v1/teams?limit=200");
  const team =
    teams.body.data.find((t) => t.name === "Team") ??
    (await as("POST", "/v1/teams", { name: "Team" })).body;
  const members = await as("GET", "/v1/members?limit=200");
  const seats = config.seats.length > 0 ? config.seats : ["none"];
  const people = [];
  for (const seat of seats) {
    const name = `Member (${seat})`;
    const member =
      members.body.data.find((m) => m.name === name && m.active) ??
      (await as("POST", "/v1/members", { name, teamId: team.id, seat })).body;
    const key = await as("POST", "/v1/keys", { role: "member", memberId: member.id });
    people.push({ seat, key: key.body.key });
  }
  return { account, plan, admin: admin.body.key, finance: finance.body.key, people };
}

/** A request that the first action would accept: its units counted as one. */
function firstCall(baseUrl, config, key) {
  const action = config.actions[0];
  if (!action) return null;
  const path = action.path.replace(/:([A-Za-z0-9]+)/g, "example");
  const unit = "unit" in action.price ? action.price.unit : null;
  const query = unit?.from === "query" ? `?${unit.param}=1` : "";
  const body = unit?.from === "body" ? JSON.stringify({ [unit.field]: [{}] }) : "{}";
  const hasBody = ["POST", "PUT", "PATCH"].includes(action.method);
  return [
    `curl -i -X ${action.method} '${baseUrl}${path}${query}'`,
    `-H 'Authorization: Bearer ${key}'`,
    hasBody ? `-H 'Content-Type: application/json' -d '${body}'` : "",
  ]
    .filter(Boolean)
    .join(" ");
}

export function configBanner(baseUrl, config, seeded) {
  const action = config.actions[0];
  const needs = action?.seat;
  const caller = seeded.people.find((p) => p.seat === needs) ?? seeded.people[0];
  const lines = [
    "",
    "=".repeat(78),
    ` creditgate on ${baseUrl}, configuration: ${config.source}`,
    ` account demo on plan ${seeded.plan.id} (${seeded.plan.includedCredits} credits a period)`,
    "",
    ` ADMIN=${seeded.admin}`,
    ` FINANCE=${seeded.finance}`,
    ...seeded.people.map((p) => ` MEMBER_${p.seat.toUpperCase()}=${p.key}`),
    "",
  ];
  if (action && caller) {
    lines.push(` # ${action.name} (${action.id}), as the ${caller.seat} member:`);
    lines.push(`   ${firstCall(baseUrl, config, caller.key)}`);
    lines.push("");
  }
  lines.push(` # What the account's plan includes, and each action's price:`);
  lines.push(`   curl -s ${baseUrl}/v1/catalog -H 'Authorization: Bearer ${seeded.finance}'`);
  lines.push("", "=".repeat(78), "");
  return lines.join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const baseUrl = process.env.BASE_URL ?? "http://127.0.0.1:8787";
  const config = JSON.parse(readFileSync(process.env.CONFIG ?? "creditgate.config.json", "utf8"));
  config.source = process.env.CONFIG ?? "creditgate.config.json";
  const seeded = await seedConfig(baseUrl, process.env.OPERATOR_TOKEN ?? "", config);
  console.log(configBanner(baseUrl, config, seeded));
}
