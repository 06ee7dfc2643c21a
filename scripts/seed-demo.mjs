/**
 * Seeds the demo account over the gateway's own HTTP API, the way a client would:
 * account `demo` (created once, with a 2,000-credit pack), teams Sales and Marketing, members
 * Ada Lovelace and Grace Hopper, and fresh keys (secrets are shown only once, so every run
 * makes new ones). Safe to run again against existing local state.
 *
 * With `{ history: true }` (npm start), a new account also gets about three weeks of usage:
 * its billing period is made to start three weeks ago, and the gateway (run with
 * DEMO_HISTORY=true) replays a sales rep's and a marketer's calls over them.
 *
 * Standalone: BASE_URL=http://127.0.0.1:8787 OPERATOR_TOKEN=... [HISTORY=1] node scripts/seed-demo.mjs
 */
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";

const DAY_MS = 86_400_000;
const HISTORY_DAYS = 21;
/** The billing day of the month three weeks ago (at most 28): the period holds the history. */
const historyAnchorDay = () =>
  Math.min(28, new Date(Date.now() - (HISTORY_DAYS + 1) * DAY_MS).getUTCDate());
const ACCOUNT = { id: "demo", name: "Demo Co", plan: "professional" };
const PACK_CREDITS = 2000;
const TEAMS = ["Sales", "Marketing"];
const MEMBERS = [
  { name: "Ada Lovelace", team: "Sales", seat: "sales" },
  { name: "Grace Hopper", team: "Marketing", seat: "core" },
];

/** One JSON call; any status outside `expected` throws with the problem the gateway gave. */
export async function call(baseUrl, token, method, path, body, expected = [200, 201]) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (!expected.includes(res.status)) {
    throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  }
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Every item of a `{ data, nextCursor }` list. */
async function listAll(baseUrl, token, path) {
  const items = [];
  let cursor = null;
  do {
    const query = `?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const { body } = await call(baseUrl, token, "GET", `${path}${query}`);
    items.push(...body.data);
    cursor = body.nextCursor;
  } while (cursor);
  return items;
}

/**
 * What a CRM would report back for the history: a meeting booked two days after every fifth
 * company enrichment, and a deal won after every fifteenth, each tied to its call by request id
 * (so the Value panel has outcomes per 1,000 credits to show). Returns how many were reported.
 */
async function reportOutcomes(baseUrl, adminKey, financeKey) {
  const events = await call(
    baseUrl,
    financeKey,
    "GET",
    "/v1/usage/events?action=enrichment.company&outcome=captured&limit=200",
  );
  let reported = 0;
  for (const [i, event] of events.body.data.entries()) {
    if (i % 5 !== 0) continue;
    const at = Math.min(Date.parse(event.occurredAt) + 2 * DAY_MS, Date.now());
    const deal = i % 15 === 0;
    await call(baseUrl, adminKey, "POST", "/v1/outcomes", {
      id: `demo-${event.id}`,
      kind: deal ? "deal_won" : "meeting_booked",
      requestId: event.requestId,
      ...(deal ? { value: 12_000 } : {}),
      occurredAt: new Date(at).toISOString(),
    });
    reported += 1;
  }
  return reported;
}

export async function seedDemo(baseUrl, operatorToken, options = {}) {
  const op = (method, path, body, expected) =>
    call(baseUrl, operatorToken, method, path, body, expected);

  const billingAnchorDay = options.history ? historyAnchorDay() : 1;
  const created = await op(
    "POST",
    "/admin/v1/accounts",
    { ...ACCOUNT, billingAnchorDay },
    [201, 409],
  );
  const isNew = created.status === 201;
  if (isNew) {
    await op("POST", `/admin/v1/accounts/${ACCOUNT.id}/grants`, {
      amount: PACK_CREDITS,
      source: "pack",
      note: "Demo credit pack",
    });
  }

  const admin = await op("POST", `/admin/v1/accounts/${ACCOUNT.id}/keys`, {
    role: "admin",
    name: "Demo admin",
  });
  const adminKey = admin.body.key;
  const as = (method, path, body) => call(baseUrl, adminKey, method, path, body);
  const finance = await as("POST", "/v1/keys", { role: "finance", name: "Demo finance" });

  const teams = await listAll(baseUrl, adminKey, "/v1/teams");
  const teamIds = {};
  for (const name of TEAMS) {
    const team =
      teams.find((t) => t.name === name) ?? (await as("POST", "/v1/teams", { name })).body;
    teamIds[name] = team.id;
  }

  const existing = await listAll(baseUrl, adminKey, "/v1/members");
  const members = [];
  for (const { name, team, seat } of MEMBERS) {
    const member =
      existing.find((m) => m.name === name) ??
      (await as("POST", "/v1/members", { name, teamId: teamIds[team], seat })).body;
    const key = await as("POST", "/v1/keys", { role: "member", memberId: member.id, name });
    members.push({ ...member, team, key: key.body.key });
  }

  // Weeks of usage, only into a new account: replaying over an old one would double its history.
  let history = null;
  if (options.history && isNew) {
    const replayed = await op("POST", `/admin/v1/accounts/${ACCOUNT.id}/demo-history`, {
      memberKeys: members.map((m) => m.key),
      days: HISTORY_DAYS,
    });
    history = replayed.body;
    // Usage reaches D1 with the ledger's next flush; reconcile with flush=true makes it now.
    await call(baseUrl, finance.body.key, "GET", "/v1/usage/reconcile?flush=true");
    history.outcomes = await reportOutcomes(baseUrl, adminKey, finance.body.key);
  }

  return {
    baseUrl,
    accountId: ACCOUNT.id,
    isNew,
    history,
    adminKey,
    financeKey: finance.body.key,
    ada: members[0],
    grace: members[1],
  };
}

/** The text that tells a person what to do next: keys, and curl lines that work as printed. */
export function banner(demo) {
  const url = demo.baseUrl.replace(/\/$/, "");
  const retryKey = `demo-retry-${randomBytes(4).toString("hex")}`;
  const auth = (key) => `-H 'Authorization: Bearer ${key}'`;
  const json = "-H 'Content-Type: application/json'";
  const companies = `-d '{"records":[{"domain":"acme.com"},{"domain":"globex.com"}]}'`;
  // Each record is charged once per 30 days (dedupe): the dry run and the retry get companies of
  // their own, so that they quote and charge something after the first call.
  const quoted = `-d '{"records":[{"domain":"umbrella.com"}]}'`;
  const retried = `-d '{"records":[{"domain":"hooli.com"}]}'`;
  const enrich = `curl -i -X POST ${url}/v1/enrichment/companies ${auth(demo.ada.key)} ${json}`;
  const rule = "=".repeat(78);
  return [
    "",
    rule,
    ` creditgate is running at ${url}`,
    ` Demo account "${demo.accountId}" (Demo Co, professional) ${
      demo.isNew ? "created with a 2,000-credit pack" : "already existed: reused"
    }`,
    ...(demo.history
      ? [
          ` with ${demo.history.calls} calls of history since ${demo.history.from.slice(0, 10)} (${demo.history.denied} denied), ${demo.history.outcomes} outcomes reported`,
        ]
      : []),
    rule,
    "",
    " Keys (new ones every start; shown only here):",
    `   admin    ${demo.adminKey}`,
    `   finance  ${demo.financeKey}`,
    `   member   ${demo.ada.key}  ${demo.ada.name} (${demo.ada.team}, seat ${demo.ada.seat})`,
    `   member   ${demo.grace.key}  ${demo.grace.name} (${demo.grace.team}, seat ${demo.grace.seat})`,
    "",
    " Try it (-i shows the X-Credits-* headers):",
    "",
    " # Company enrichment as Ada: 10 credits per record, each record once per 30 days",
    `   ${enrich} ${companies}`,
    "",
    " # Buyer intent as Ada (needs the sales seat): 10 credits per company",
    `   curl -i '${url}/v1/prospecting/intent?limit=5' ${auth(demo.ada.key)}`,
    "",
    " # AI generation as Grace: metered, 1 credit per 100 tokens the model reports",
    `   curl -i -X POST ${url}/v1/ai/generate ${auth(demo.grace.key)} ${json} -d '{"prompt":"Write a two-line follow-up to Acme about our demo"}'`,
    "",
    " # Dry run: what would it cost? (reserves nothing, calls nothing)",
    `   ${enrich} -H 'X-Credit-Dry-Run: true' ${quoted}`,
    "",
    " # Idempotent retry: run it twice, the second is replayed and not charged again",
    `   ${enrich} -H 'Idempotency-Key: ${retryKey}' ${retried}`,
    "",
    " # Balance and forecast as finance",
    `   curl -s ${url}/v1/balance ${auth(demo.financeKey)}`,
    "",
    " # Usage as finance: every event as CSV, totals by day and team, the books against D1",
    `   curl -s '${url}/v1/usage/events?format=csv' ${auth(demo.financeKey)}`,
    `   curl -s '${url}/v1/usage/summary?group_by=day,team' ${auth(demo.financeKey)}`,
    `   curl -s '${url}/v1/usage/reconcile?flush=true' ${auth(demo.financeKey)}`,
    "",
    ` # The dashboard: open ${url}/dashboard and paste the admin or finance key`,
    "",
    ` # The API document: ${url}/docs (OpenAPI 3.1 at ${url}/openapi.json)`,
    "",
    rule,
    "",
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const baseUrl = process.env.BASE_URL || "http://127.0.0.1:8787";
  const token = process.env.OPERATOR_TOKEN;
  if (!token) {
    console.error("Set OPERATOR_TOKEN (see .dev.vars) and optionally BASE_URL.");
    process.exit(1);
  }
  try {
    console.log(banner(await seedDemo(baseUrl, token, { history: process.env.HISTORY === "1" })));
  } catch (error) {
    console.error(`Seeding the demo failed: ${error.message}`);
    process.exit(1);
  }
}
