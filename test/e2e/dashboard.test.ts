/**
 * The dashboard in a real browser (issue 7): a real gateway and demo upstream (`wrangler dev`,
 * DEMO_HISTORY on), the demo account seeded with weeks of history plus a few live calls (some
 * denied), and headless Chromium signed in with the finance key. What the page shows is checked
 * against the same APIs it reads: the balance, the spend per day and group, the range total
 * with and without a team filter, the burn-down by the rule it states, the CSV it exports, each
 * team's budget and spend (before and after a budget is set). Member and bogus keys are refused;
 * a problem shows in the banner; a key revoked meanwhile signs out, but a late 401 of an old
 * session does not sign out a new one, and a reload that fails keeps the key.
 * Screenshots (desktop and phone) go to test-artifacts/dashboard/ (gitignored).
 */
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { expectApi } from "./support/api";
import {
  type Balance,
  balanceAt,
  cellRows,
  columns,
  type Demo,
  dataRows,
  flush,
  keyField,
  late401,
  launchChromium,
  liveUsage,
  numberAt,
  paintedPixels,
  parseCsv,
  problemReply,
  type SeedDemo,
  type Summary,
  signInWith,
  spendRows,
  widerThanScreen,
} from "./support/browser";
import { DevServer, migrateD1, sleep } from "./support/wrangler";

const ctx = inject("e2e");
const OPERATOR_TOKEN = "e2e-operator-token";
const VARS = {
  OPERATOR_TOKEN,
  DEMO_UPSTREAM_TOKEN: "e2e-upstream-token",
  DEMO_HISTORY: "true",
  OUTBOX_FLUSH_DELAY_MS: "500",
};
const WAIT_MS = 15_000;
const ARTIFACTS = path.join(ctx.root, "test-artifacts", "dashboard");

let server: DevServer | null = null;
let browser: Browser | null = null;
let context: BrowserContext | null = null;
let page: Page | null = null;
let demo: Demo | null = null;
let base = "";
/** The page's range, as its range label carries it. */
let range = { from: "", to: "" };
const cspErrors: string[] = [];
const pageErrors: string[] = [];
const requested: string[] = [];

function need<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`${what} is not ready (see beforeAll)`);
  return value;
}

function key(): string {
  return need(demo, "demo").financeKey;
}

async function summary(query: Record<string, string>): Promise<Summary> {
  const q = new URLSearchParams(query).toString();
  return expectApi<Summary>(200, base, "GET", `/v1/usage/summary?${q}`, key());
}

beforeAll(async () => {
  const persistTo = mkdtempSync(path.join(ctx.tmp, "dashboard-"));
  await migrateD1(ctx, persistTo);
  server = await DevServer.start(ctx, {
    label: "dashboard",
    configs: [ctx.gatewayConfig, ctx.upstreamConfig],
    persistTo,
    vars: VARS,
  });
  base = server.base;
  // A plain .mjs script without types: imported by path, typed here.
  const seedPath = path.join(ctx.root, "scripts", "seed-demo.mjs");
  const { seedDemo } = (await import(seedPath)) as { seedDemo: SeedDemo };
  demo = await seedDemo(base, OPERATOR_TOKEN, { history: true });
  await liveUsage(base, demo);
  await flush(base, demo.financeKey);

  browser = await launchChromium();
  context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
  });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("request", (r) => requested.push(r.url()));
  mkdirSync(ARTIFACTS, { recursive: true });
}, 110_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
});

it("signs in with the finance key and shows the balance the API gives", async () => {
  const p = need(page, "page");
  const d = need(demo, "demo");
  await p.goto(`${base}/dashboard`);
  // A text field masked by CSS, so password managers do not offer to save the key.
  expect(await keyField(p)).toEqual({ type: "text", autocomplete: "off", masking: "disc" });
  await signInWith(p, d.financeKey);
  const balance = await expectApi<Balance>(200, base, "GET", "/v1/balance", d.financeKey);
  expect(await numberAt(p, "balance-available")).toBe(balance.available);
  expect(await numberAt(p, "period-used")).toBe(balance.capturedThisPeriod);
  // The included credits of this period, as granted (from the period's grants: used up or not).
  const included = balance.periodGrants
    .filter((g) => g.source === "included" && g.effectiveAt === balance.period.start)
    .reduce((sum, g) => sum + g.amount, 0);
  expect(included).toBeGreaterThan(0);
  expect(await numberAt(p, "period-included")).toBe(included);
  // The plan and what it issues, from the account's catalog; the categories are the
  // configuration's, offered by the filter.
  const catalog = await expectApi<{ plan: { name: string; includedCredits: number } }>(
    200,
    base,
    "GET",
    "/v1/catalog",
    d.financeKey,
  );
  await expect
    .poll(() => p.getByTestId("plan-name").textContent())
    .toContain(`${catalog.plan.name} (`);
  expect(await p.getByTestId("plan-name").textContent()).toContain(
    `${catalog.plan.includedCredits.toLocaleString("en-US")} credits every period`,
  );
  const categories = await p.getByTestId("filter-category").locator("option").allTextContents();
  expect(categories).toEqual(expect.arrayContaining(["All categories", "enrichment", "ai"]));
  // The key is in session storage, never in the address.
  expect(p.url()).toBe(`${base}/dashboard`);
  expect(await p.evaluate("Object.keys(sessionStorage).length")).toBe(1);
});

it("draws the spend chart and burn-down, with per-day data equal to the summary API", async () => {
  const p = need(page, "page");
  const label = p.getByTestId("range-label");
  await p
    .locator('[data-testid="spend-table"][data-group-by="team"]')
    .waitFor({ state: "attached" });
  range = {
    from: (await label.getAttribute("data-from")) ?? "",
    to: (await label.getAttribute("data-to")) ?? "",
  };
  expect(range.from).toMatch(/^\d{4}-\d\d-\d\dT00:00:00\.000Z$/);
  const api = await summary({ group_by: "day,team", ...range });
  expect(api.totals.credits, "the seeded usage has credits in this period").toBeGreaterThan(0);

  await p.locator('[data-testid="chart-spend"] canvas').first().waitFor();
  await p.locator('[data-testid="chart-burndown"] canvas').first().waitFor();
  expect(await paintedPixels(p, "chart-spend")).toBeGreaterThan(500);
  expect(await paintedPixels(p, "chart-burndown")).toBeGreaterThan(500);
  expect(await p.getByTestId("chart-spend").getAttribute("role")).toBe("img");
  expect(await p.getByTestId("chart-spend").getAttribute("aria-label")).toMatch(/credits/);

  const rows = await spendRows(p);
  const fromApi = new Map<string, number>();
  const cells = new Map<string, number>();
  for (const g of api.groups) {
    if (g.credits === 0) continue;
    fromApi.set(g.day ?? "", (fromApi.get(g.day ?? "") ?? 0) + g.credits);
    cells.set(`${g.day}|${g.teamId ?? ""}`, g.credits);
  }
  const shown = new Map<string, number>();
  for (const r of rows) shown.set(r.day, (shown.get(r.day) ?? 0) + r.credits);
  expect(Object.fromEntries(shown)).toEqual(Object.fromEntries(fromApi));
  expect(new Map(rows.map((r) => [`${r.day}|${r.group}`, r.credits]))).toEqual(cells);
  expect(await numberAt(p, "range-total")).toBe(api.totals.credits);

  // The burn-down, by the rule its caption states (balanceAt): the period's start and each
  // past day's end, then the balance now. The demo's 2,000 pack was granted today: it counts
  // as granted after every past point.
  const balance = await expectApi<Balance>(200, base, "GET", "/v1/balance", key());
  const { start: from, end: to } = balance.period;
  const perDay = await summary({ group_by: "day", from, to });
  const [start, now] = [Date.parse(from), Date.now()];
  const burn = (await dataRows(p, "burndown-table")).filter((b) => b.balance !== undefined);
  const past = burn.slice(0, -1).map((b) => ({ at: Date.parse(b.at ?? ""), shown: b.balance }));
  expect(past.length, "weeks of history: a point per past day").toBeGreaterThan(14);
  expect(past[0]?.at).toBe(start);
  expect(Number(past[0]?.shown)).toBe(balanceAt(balance, perDay.groups, start, now));
  const pack = balance.periodGrants.filter((g) => g.source === "pack");
  expect(pack.map((g) => g.amount)).toEqual([2000]);
  expect(Date.parse(pack[0]?.effectiveAt ?? "")).toBeGreaterThan(past.at(-1)?.at ?? now);
  for (const b of past) {
    expect(Number(b.shown), `at ${b.at}`).toBe(balanceAt(balance, perDay.groups, b.at, now));
  }
  expect(Number(burn.at(-1)?.balance)).toBe(balance.available);
  expect(await p.getByTestId("burndown-rule").textContent()).toMatch(/available now \+ held now/);

  // Denials, newest first, as many as the range holds up to 20.
  const denials = p.locator('[data-testid="recent-denials"] tbody tr');
  expect(await denials.count()).toBe(Math.min(20, api.totals.denials));
  await p.getByTestId("recent-alerts").waitFor({ state: "attached" });
  await p.getByTestId("top-members").waitFor({ state: "attached" });
  await p.getByTestId("top-actions").waitFor({ state: "attached" });
  await p.screenshot({ path: path.join(ARTIFACTS, "desktop.png"), fullPage: true });
});

/** `GET /v1/usage/value`, the fields the Value panel shows. */
interface ValueMeasures {
  credits: number;
  creditCost: number;
  manualHours: number;
  manualCost: number;
  ratio: number | null;
  creditsSaved: number;
}
interface ValueReport {
  currency: string;
  groups: (ValueMeasures & { action: string })[];
  totals: ValueMeasures;
}

/** A figure as the page writes it ("$1,237.50", "53.71×", "0.4", "–"), as a number or null. */
function figure(text: string): number | null {
  if (text.trim() === "–") return null;
  const digits = text.replace(/[^\d.-]/g, "");
  if (!/^-?\d+(\.\d+)?$/.test(digits)) throw new Error(`not a figure: ${JSON.stringify(text)}`);
  return Number(digits);
}

/** The Value panel's table, read by role: each row's header and its figures. */
const round2 = (x: number) => Math.round(x * 100) / 100;

interface Attribution {
  groups: { action?: string; credits: number; outcomes: number }[];
  totals: { credits: number; outcomes: number };
}

async function valueRows(p: Page): Promise<Map<string, (number | null)[]>> {
  const region = p.getByRole("region", { name: "Value: credits against the same work by hand" });
  const list = region.getByRole("table", { name: /same work by hand, by action/ });
  await list.waitFor();
  const rows = new Map<string, (number | null)[]>();
  for (const row of await list.getByRole("row").all()) {
    const head = (await row.getByRole("rowheader").allTextContents())[0];
    if (head === undefined) continue;
    rows.set(head, (await row.getByRole("cell").allTextContents()).map(figure));
  }
  return rows;
}

const valueFigures = (m: ValueMeasures) => [
  m.credits,
  m.creditCost,
  m.manualHours,
  m.manualCost,
  m.ratio,
  m.creditsSaved,
];

it("shows the range's credits against the same work by hand, as GET /v1/usage/value", async () => {
  const p = need(page, "page");
  const d = need(demo, "demo");
  const query = `group_by=action&from=${range.from}&to=${range.to}`;
  const value = await expectApi<ValueReport>(200, base, "GET", `/v1/usage/value?${query}`, key());
  expect(value.totals.credits, "the seeded usage has credits in this period").toBeGreaterThan(0);
  expect(value.totals.manualCost, "the demo's actions declare manual minutes").toBeGreaterThan(0);
  // The seed reports outcomes on the history's company enrichments (by request id).
  const attribution = await expectApi<Attribution>(
    200,
    base,
    "GET",
    `/v1/usage/attribution?${query}`,
    key(),
  );
  expect(attribution.totals.outcomes, "the seed reports outcomes").toBeGreaterThan(0);
  const per1000 = (m: { outcomes: number; credits: number } | undefined) =>
    m && m.credits > 0 && m.outcomes > 0 ? round2((m.outcomes / m.credits) * 1000) : null;
  const outcomes = new Map(attribution.groups.map((g) => [g.action, g]));
  const expected = new Map(
    value.groups.map((g) => [g.action, [...valueFigures(g), per1000(outcomes.get(g.action))]]),
  );
  expected.set("All actions", [...valueFigures(value.totals), per1000(attribution.totals)]);
  expect(await valueRows(p)).toEqual(expected);
  expect(await p.getByTestId("value-outcomes").textContent()).toMatch(
    /GET \/v1\/usage\/attribution/,
  );
  const region = p.getByRole("region", { name: /^Value/ });
  expect(await region.getByRole("table").getAttribute("class")).toBe("data");
  expect(await region.getByRole("columnheader").allTextContents()).toContain("Cost by hand");

  // The account's own figures: another currency, shown once the page reloads.
  const eur = { hourlyCost: 60, currency: "EUR", creditPrice: 0.02 };
  await expectApi(200, base, "PUT", "/v1/value/settings", d.adminKey, eur);
  try {
    await p.getByRole("button", { name: "Refresh" }).click();
    await p.getByRole("table", { name: /by action, in EUR$/ }).waitFor();
    const inEur = await expectApi<ValueReport>(200, base, "GET", `/v1/usage/value?${query}`, key());
    expect(inEur.currency).toBe("EUR");
    const rows = await valueRows(p);
    expect(rows.get("All actions")).toEqual([
      ...valueFigures(inEur.totals),
      per1000(attribution.totals),
    ]);
    const cost = p
      .getByRole("row", { name: /^All actions/ })
      .getByRole("cell")
      .nth(1);
    expect(await cost.textContent()).toMatch(/^€/);
  } finally {
    const clear = { hourlyCost: null, currency: null, creditPrice: null };
    await expectApi(200, base, "PUT", "/v1/value/settings", d.adminKey, clear);
  }
});

it("switches the grouping to actions and filters by team", async () => {
  const p = need(page, "page");
  const d = need(demo, "demo");
  await p.getByTestId("group-by").selectOption("action");
  await p
    .locator('[data-testid="spend-table"][data-group-by="action"]')
    .waitFor({ state: "attached" });
  const byAction = await summary({ group_by: "day,action", ...range });
  const rows = await spendRows(p);
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) expect(r.group).toMatch(/^[a-z_]+\.[a-z_]+$/);
  const cells = byAction.groups
    .filter((g) => g.credits > 0)
    .map((g) => `${g.day}|${g.action}|${g.credits}`)
    .sort();
  expect(rows.map((r) => `${r.day}|${r.group}|${r.credits}`).sort()).toEqual(cells);
  expect(await p.getByTestId("spend-table").locator("thead").textContent()).toContain("Action");

  const all = await summary(range);
  const team = await summary({ ...range, team: d.ada.teamId });
  expect(team.totals.credits).toBeGreaterThan(0);
  expect(team.totals.credits, "a team's total differs from the account's").toBeLessThan(
    all.totals.credits,
  );
  await p.getByTestId("filter-team").selectOption(d.ada.teamId);
  await p
    .locator(`[data-testid="range-total"][data-value="${team.totals.credits}"]`)
    .waitFor({ state: "attached" });
  expect(await numberAt(p, "range-total")).toBe(team.totals.credits);
});

it("exports the filtered range as CSV whose captured credits equal the summary", async () => {
  const p = need(page, "page");
  const d = need(demo, "demo");
  const [download] = await Promise.all([
    p.waitForEvent("download"),
    p.getByTestId("export-csv").click(),
  ]);
  expect(download.suggestedFilename()).toMatch(
    /^creditgate-usage-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/,
  );
  const file = await download.path();
  const [header, ...records] = parseCsv(readFileSync(file, "utf8"));
  const { credits, outcome, teamId } = columns(header, ["credits", "outcome", "teamId"]);
  let captured = 0;
  for (const r of records) {
    expect(r[teamId]).toBe(d.ada.teamId);
    if (r[outcome] === "captured") captured += Number(r[credits]);
  }
  const team = await summary({ ...range, team: d.ada.teamId });
  expect(records.length).toBeGreaterThan(0);
  expect(captured).toBe(team.totals.credits);
  // The same range and filter as NDJSON: one line per event.
  const [nd] = await Promise.all([
    p.waitForEvent("download"),
    p.getByTestId("export-ndjson").click(),
  ]);
  expect(nd.suggestedFilename()).toMatch(/^creditgate-usage-.*\.ndjson$/);
  const ndjson = readFileSync(await nd.path(), "utf8")
    .trim()
    .split("\n");
  expect(ndjson.length).toBe(records.length);
});

it("fits a phone screen", async () => {
  const p = need(page, "page");
  await p.setViewportSize({ width: 390, height: 844 });
  await p.getByTestId("filter-team").selectOption("");
  await sleep(500);
  await p.screenshot({ path: path.join(ARTIFACTS, "phone.png"), fullPage: true });
  const overflow = await p.evaluate(
    "document.documentElement.scrollWidth - document.documentElement.clientWidth",
  );
  expect(overflow, `wider than the screen: ${await widerThanScreen(p)}`).toBeLessThanOrEqual(0);
  expect(await paintedPixels(p, "chart-spend")).toBeGreaterThan(500);
  await p.setViewportSize({ width: 1280, height: 800 });
});

it("lists the teams' budgets and rules, and shows a budget set through the API", async () => {
  const p = need(page, "page");
  const d = need(demo, "demo");
  type TeamDetail = { id: string; name: string; spend: { captured: number; held: number } };
  type Teams = { data: { id: string; name: string }[] };
  const teams = await expectApi<Teams>(200, base, "GET", "/v1/teams?limit=200", key());
  expect(teams.data.find((t) => t.name === "Sales")?.id).toBe(d.ada.teamId);
  // The demo's teams have no rules: both listed without a budget, and the note says what to do.
  await p.getByTestId("rules-empty").waitFor();
  const before = await cellRows(p, "team-budgets");
  expect(before.map((r) => r[0]).sort()).toEqual(teams.data.map((t) => t.name).sort());
  for (const r of before) expect(r[1]).toBe("No budget");
  expect(before[0]?.[4]).toContain("Everything the plan includes");
  expect(await p.locator('[data-testid="team-budgets"] progress').count()).toBe(0);

  // Every field is required (TeamRules is strict); null means no limit.
  const noLimits = { allowedActions: null, allowedCategories: null, memberBudget: null };
  const purpose = { required: false, allowed: null };
  const rules = { ...noLimits, purpose, memberRateLimitPerMinute: null, teamBudget: 5000 };
  await expectApi(200, base, "PUT", `/v1/teams/${d.ada.teamId}/rules`, d.adminKey, rules);
  await p.getByRole("button", { name: "Refresh" }).click();
  const row = p.locator(`[data-testid="team-budgets"] tr[data-team-id="${d.ada.teamId}"]`);
  await p.locator(`tr[data-team-id="${d.ada.teamId}"][data-budget="5000"]`).waitFor();
  const detail = await expectApi<TeamDetail>(200, base, "GET", `/v1/teams/${d.ada.teamId}`, key());
  const used = detail.spend.captured + detail.spend.held;
  expect(used, "the demo's Sales team has spent this period").toBeGreaterThan(0);
  const after = (await cellRows(p, "team-budgets")).find((r) => r[0] === "Sales");
  expect(after?.[1]).toBe("5,000");
  expect(Number(after?.[2]?.replaceAll(",", ""))).toBe(used);
  const bar = row.locator("progress");
  expect(await bar.getAttribute("max")).toBe("5000");
  expect(await bar.getAttribute("value")).toBe(String(Math.min(used, 5000)));
  expect(await bar.getAttribute("aria-label")).toMatch(/^Sales: .* of 5,000 budget credits/);
  expect(await p.getByTestId("rules-empty").count()).toBe(0);
  expect(await p.locator("thead").filter({ hasText: "captured + held" }).count()).toBe(1);
});

it("keeps a new session on an old one's late 401, and the key when a reload fails", async () => {
  const p = need(page, "page");
  const d = need(demo, "demo");
  // The old dashboard's alerts answer 401 only once the user signed out and in again.
  const late = await late401(p, "**/v1/alerts?*", 2000);
  const oldAlerts = p.waitForRequest("**/v1/alerts?*");
  await p.getByRole("button", { name: "Refresh" }).click();
  await oldAlerts;
  await p.getByTestId("signout").click();
  await signInWith(p, d.financeKey);
  await late.delivered;
  await sleep(500);
  await p.unroute("**/v1/alerts?*");
  expect(await p.getByTestId("signin-key").count()).toBe(0);
  expect(await p.getByTestId("balance-available").count()).toBe(1);

  // A reload while the gateway answers 503: the key is kept, the banner offers a Retry.
  const down = "The gateway is down (injected by the test).";
  await p.route("**/v1/account", (route) => route.fulfill(problemReply(503, "down", down)));
  await p.reload();
  await p.getByTestId("banner-retry").waitFor();
  expect(await p.getByTestId("error-detail").textContent()).toBe(down);
  expect(await p.evaluate("Object.keys(sessionStorage).length")).toBe(1);
  await p.unroute("**/v1/account");
  await p.getByTestId("banner-retry").click();
  await p.getByTestId("balance-available").waitFor();
  expect(await p.getByTestId("error-banner").isHidden()).toBe(true);
});

it("signs out, and refuses a member key and a bogus key with a message", async () => {
  const p = need(page, "page");
  const d = need(demo, "demo");
  await p.getByTestId("signout").click();
  await p.getByTestId("signin-key").waitFor();
  expect(await p.evaluate("Object.keys(sessionStorage).length")).toBe(0);

  await p.getByTestId("signin-key").fill(d.ada.key);
  await p.getByTestId("signin-submit").click();
  await p.getByTestId("signin-error").waitFor({ state: "visible" });
  expect(await p.getByTestId("signin-error").textContent()).toMatch(/member key/i);
  expect(await p.getByTestId("balance-available").count()).toBe(0);

  await p.getByTestId("signin-key").fill(`cg_${d.accountId}_bogus${"0".repeat(27)}`);
  await p.getByTestId("signin-submit").click();
  await p
    .getByTestId("signin-error")
    .filter({ hasText: /not valid/i })
    .waitFor({ state: "visible" });
  expect(await p.getByTestId("balance-available").count()).toBe(0);
  expect(await p.evaluate("Object.keys(sessionStorage).length")).toBe(0);

  // A problem from the API shows in the banner with its detail.
  const finance = { role: "finance", name: "dashboard e2e" };
  type Key = { id: string; key: string };
  const temp = await expectApi<Key>(201, base, "POST", "/v1/keys", d.adminKey, finance);
  await signInWith(p, temp.key);
  const detail = "The alerts are unavailable (injected by the test).";
  await p.route("**/v1/alerts?*", (route) =>
    route.fulfill(problemReply(503, "ledger_unavailable", detail)),
  );
  await p.getByRole("button", { name: "Refresh" }).click();
  await p.getByTestId("error-banner").filter({ hasText: detail }).waitFor({ state: "visible" });
  await p.unroute("**/v1/alerts?*");

  // A key revoked meanwhile: the next call answers 401 and the page returns to the sign-in.
  await expectApi(200, base, "DELETE", `/v1/keys/${temp.id}`, d.adminKey);
  await p.getByRole("button", { name: "Refresh" }).click();
  await p
    .getByTestId("signin-error")
    .filter({ hasText: /signed out/i })
    .waitFor({ state: "visible" });
  expect(await p.evaluate("Object.keys(sessionStorage).length")).toBe(0);

  // Nothing broke the CSP, nothing threw, and no key ever went into a URL.
  expect(cspErrors).toEqual([]);
  expect(pageErrors).toEqual([]);
  for (const url of requested) {
    for (const key of [d.financeKey, d.ada.key, d.adminKey, temp.key]) {
      expect(url).not.toContain(key);
    }
  }
});
