/**
 * The dashboard's admin console in a real browser (issue 17): a real gateway and demo upstream
 * (`wrangler dev`), an account of this test's own (so the demo account the other tests check
 * is left alone), and headless Chromium driven the way assistive technology drives a page: by
 * role and accessible name only.
 *
 * Signed in as admin, the console creates a team (submitted with Enter), a member in it and a
 * member key (its secret shown once in a read-only field), sets the team's monthly budget in
 * its rules form, shows the API's detail when a team with members cannot be deleted, and
 * revokes the key after a confirmation. What was entered is checked through the API, and the
 * key is used: it calls, the team budget refuses the call that would pass it, and once revoked
 * it is refused. Signed in as finance, the console shows the data without any control that
 * changes it. axe-core finds no serious or critical violation on the sign-in, the overview
 * (empty and with usage), the console, and with each of its forms open. Screenshots (desktop
 * and phone) go to test-artifacts/dashboard/ (gitignored).
 */
import { mkdirSync, mkdtempSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Locator, Page, Response } from "playwright-core";
import { afterAll, beforeAll, beforeEach, expect, inject, it } from "vitest";
import { api, expectApi } from "./support/api";
import { axeReport } from "./support/axe";
import { launchChromium, signInWith, widerThanScreen } from "./support/browser";
import { DevServer, migrateD1, sleep } from "./support/wrangler";

const ctx = inject("e2e");
const OPERATOR_TOKEN = "e2e-operator-token";
const VARS = {
  OPERATOR_TOKEN,
  DEMO_UPSTREAM_TOKEN: "e2e-upstream-token",
  OUTBOX_FLUSH_DELAY_MS: "500",
};
const WAIT_MS = 15_000;
const ARTIFACTS = path.join(ctx.root, "test-artifacts", "dashboard");
/** This test's account, beside the demo account of the other tests. */
const ACCOUNT = { id: "console-e2e", name: "Console Co", plan: "professional" };
const PACK_CREDITS = 1000;
const TEAM = "Field Sales";
const MEMBER = "Dana Field";
/** Any seat may call enrichment.company (the action names no seat); this one is not `core`. */
const SEAT = "sales";
const KEY_NAME = "Dana's laptop";
/** enrichment.company: 10 credits per record. */
const PRICE = 10;
const BUDGET = 25;

let server: DevServer | null = null;
let browser: Browser | null = null;
let context: BrowserContext | null = null;
let page: Page | null = null;
let base = "";
let adminKey = "";
let financeKey = "";
/** What the console created, found through the API. */
let teamId = "";
let memberId = "";
/** The member key's secret, as the console showed it. */
let memberKey = "";
const cspErrors: string[] = [];
const pageErrors: string[] = [];
const requested: string[] = [];
/** The page's requests still waiting for an answer. */
const inflight = new Set<unknown>();
/** Fresh company domains: enrichment.company charges each domain once per 30 days. */
let domains = 0;

function need<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`${what} is not ready (see beforeAll)`);
  return value;
}

function p(): Page {
  return need(page, "page");
}

beforeAll(async () => {
  const persistTo = mkdtempSync(path.join(ctx.tmp, "console-"));
  await migrateD1(ctx, persistTo);
  // Many page steps and axe runs: give the server more than the default 240 s to live.
  server = await DevServer.start(
    { ...ctx, lifetimeMs: 600_000 },
    {
      label: "console",
      configs: [ctx.gatewayConfig, ctx.upstreamConfig],
      persistTo,
      vars: VARS,
    },
  );
  base = server.base;
  const op = <T>(method: string, route: string, body?: unknown) =>
    expectApi<T>(201, base, method, route, OPERATOR_TOKEN, body);
  await op("POST", "/admin/v1/accounts", ACCOUNT);
  await op("POST", `/admin/v1/accounts/${ACCOUNT.id}/grants`, {
    amount: PACK_CREDITS,
    source: "pack",
    note: "console e2e",
  });
  type Created = { key: string };
  const keys = `/admin/v1/accounts/${ACCOUNT.id}/keys`;
  adminKey = (await op<Created>("POST", keys, { role: "admin", name: "Console admin" })).key;
  financeKey = (await op<Created>("POST", keys, { role: "finance", name: "Console finance" })).key;

  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspErrors.push(m.text());
  });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("request", (r) => {
    requested.push(r.url());
    inflight.add(r);
  });
  page.on("requestfinished", (r) => inflight.delete(r));
  page.on("requestfailed", (r) => inflight.delete(r));
  mkdirSync(ARTIFACTS, { recursive: true });
}, 110_000);

// A step that failed with a dialog open would fail every later one: close it first.
beforeEach(async () => {
  const open = page?.getByRole("dialog").filter({ visible: true });
  for (let i = 0; open && i < 3 && (await open.count()) > 0; i++)
    await page?.keyboard.press("Escape");
});

afterAll(async () => {
  await context?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server?.stop();
});

/** Waits until every panel of the overview has drawn and the page's requests are done. */
async function overviewLoaded(page: Page): Promise<void> {
  await page.getByTestId("balance-available").waitFor();
  for (const id of [
    "range-total",
    "burndown-table",
    "recent-alerts",
    "recent-denials",
    "team-budgets",
  ]) {
    await page.getByTestId(id).first().waitFor({ state: "attached" });
  }
  // The Value panel: its table once there is usage, its note on outcomes in every case.
  await page.getByTestId("value-outcomes").or(page.getByTestId("value-table")).first().waitFor();
  await settled(page);
}

/** Waits until no panel on screen is loading (`aria-busy`) and the page's requests are done. */
async function settled(page: Page): Promise<void> {
  // A hidden view (the console, before it is opened) may stay busy: only shown ones count.
  const busy = () =>
    page
      .locator('[aria-busy="true"]')
      .evaluateAll((els: { checkVisibility(): boolean; outerHTML: string }[]) =>
        els.filter((el) => el.checkVisibility()).map((el) => el.outerHTML.slice(0, 200)),
      );
  await expect.poll(busy, { timeout: WAIT_MS, message: "a panel stays busy" }).toEqual([]);
  // No request in flight for a while (a load may chain requests).
  let quiet = 0;
  for (let waited = 0; quiet < 300; waited += 50) {
    if (waited > WAIT_MS) throw new Error(`requests still in flight after ${WAIT_MS} ms`);
    await sleep(50);
    quiet = inflight.size === 0 ? quiet + 50 : 0;
  }
  expect(await busy(), "a panel is busy").toEqual([]);
}

/** The dashboard's navigation, and its control for a view (a button or a link). */
function navTo(page: Page, name: string): Locator {
  const nav = page.getByRole("navigation", { name: "Dashboard" });
  return nav
    .getByRole("button", { name, exact: true })
    .or(nav.getByRole("link", { name, exact: true }));
}

/** A button by its exact accessible name. */
function button(page: Page | Locator, name: string | RegExp): Locator {
  return typeof name === "string"
    ? page.getByRole("button", { name, exact: true })
    : page.getByRole("button", { name });
}

/** The form (a real `<form>`) that holds the button `submit`, as shown. */
function formWith(page: Page, submit: string): Locator {
  return page
    .locator("form")
    .filter({ has: button(page, submit) })
    .filter({ visible: true });
}

/** Opens a form with the button `opener` and returns it once shown. */
async function openForm(page: Page, opener: string | RegExp, submit: string): Promise<Locator> {
  await button(page, opener).click();
  const form = formWith(page, submit);
  await form.waitFor();
  return form;
}

/**
 * Closes a dialog that is still open (with its Done button, else Escape), so the page behind
 * it can be used again; waits until no dialog shows.
 */
async function closeDialogs(page: Page): Promise<void> {
  const open = page.getByRole("dialog").filter({ visible: true });
  for (let i = 0; i < 3 && (await open.count()) > 0; i++) {
    const done = button(open, "Done");
    if ((await done.count()) > 0) await done.click();
    else await page.keyboard.press("Escape");
    await sleep(100);
  }
  expect(await open.count(), "a dialog stays open").toBe(0);
}

/** Whether an element has the focus (the element of `locator.evaluate`). */
function hasFocus(el: unknown): boolean {
  const node = el as { ownerDocument: { activeElement: unknown } };
  return node.ownerDocument.activeElement === el;
}

/** The accessible name (or text) and tag of the focused element, e.g. "button New team". */
function focused(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return "body";
    const name = el.getAttribute("aria-label") || el.textContent.trim();
    return el.tagName.toLowerCase() + " " + name;
  })()`);
}

/** Selects the option whose text matches `text` (option labels may carry more than the name). */
async function choose(select: Locator, text: string | RegExp): Promise<void> {
  await expect
    .poll(() => select.locator("option").allTextContents())
    .toContainEqual(
      typeof text === "string" ? expect.stringContaining(text) : expect.stringMatching(text),
    );
  const options = await select
    .locator("option")
    .evaluateAll((os: { value: string; textContent: string | null }[]) =>
      os.map((o) => ({ value: o.value, text: o.textContent ?? "" })),
    );
  const found = options.find((o) =>
    typeof text === "string" ? o.text.includes(text) : text.test(o.text),
  );
  if (!found) throw new Error(`no option ${text} in ${JSON.stringify(options)}`);
  await select.selectOption({ value: found.value });
}

/** The console's row (table row) of a team, by the rules button each team row has. */
function teamRow(page: Page, team: string): Locator {
  return page
    .getByRole("row")
    .filter({ has: button(page, `Rules for ${team}`) })
    .filter({ visible: true });
}

/** Waits for the answer to the page's next `method` request whose path matches `pathPattern`. */
function answer(page: Page, method: string, pathPattern: RegExp): Promise<Response> {
  const response = page.waitForResponse(
    (r) => r.request().method() === method && pathPattern.test(new URL(r.url()).pathname),
  );
  // Not awaited when a step fails before its request: no unhandled rejection then.
  response.catch(() => {});
  return response;
}

/** One call of enrichment.company with a domain never sent before, so it is charged. */
function enrich(key: string) {
  if (key === "") throw new Error("no member key: the console's New key step did not give one");
  domains += 1;
  const records = [{ domain: `console-${domains}-${Date.now()}.example` }];
  return api<{ code?: string; rule?: string; detail?: string }>(
    base,
    "POST",
    "/v1/enrichment/companies",
    key,
    { records },
  );
}

async function expectAccessible(where: string): Promise<void> {
  expect(await axeReport(p(), where)).toBe("");
}

it("signs in as admin; the sign-in and the overview pass axe", async () => {
  const page = p();
  await page.goto(`${base}/dashboard`);
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await expectAccessible("the sign-in");
  await signInWith(page, adminKey);
  await overviewLoaded(page);
  await expectAccessible("the overview (no usage yet)");
});

it("opens the console from the navigation; the empty console passes axe", async () => {
  const page = p();
  await navTo(page, "Manage").click();
  await button(page, "New team").waitFor();
  await settled(page);
  expect(await navTo(page, "Manage").getAttribute("aria-current")).toBe("page");
  expect(await page.getByTestId("balance-available").isVisible(), "the overview hides").toBe(false);
  await expectAccessible("the console (no teams yet)");
});

it("creates a team with the keyboard: the name, then Enter", async () => {
  const page = p();
  // Escape closes the form and gives focus back to the button that opened it.
  await openForm(page, "New team", "Create team");
  await page.keyboard.press("Escape");
  await expect.poll(() => page.getByRole("dialog").filter({ visible: true }).count()).toBe(0);
  expect(await focused(page)).toBe("button New team");

  const form = await openForm(page, "New team", "Create team");
  await expectAccessible("the console with the New team form open");
  const name = form.getByRole("textbox", { name: "Team name", exact: true });
  expect(await name.evaluate(hasFocus), "the form's first field has focus").toBe(true);
  // A blank name: the API refuses it, and its detail and request id show next to the form.
  const refused = answer(page, "POST", /^\/v1\/teams$/);
  await name.fill("   ");
  await name.press("Enter");
  const problem = (await (await refused).json()) as {
    status: number;
    detail: string;
    requestId: string;
  };
  expect(problem.status).toBe(400);
  const alert = form.getByRole("alert");
  await expect.poll(() => alert.textContent()).toContain(problem.detail);
  expect(await alert.textContent()).toContain(problem.requestId);
  await expectAccessible("the New team form showing the API's refusal");

  const created = answer(page, "POST", /^\/v1\/teams$/);
  await name.fill(TEAM);
  await name.press("Enter");
  expect((await created).status()).toBe(201);
  await closeDialogs(page);
  await teamRow(page, TEAM).waitFor();
  await page.getByRole("status").filter({ hasText: TEAM }).filter({ visible: true }).waitFor();
  await settled(page);
  expect(await focused(page), "focus goes back to the opener").toBe("button New team");
  type Teams = { data: { id: string; name: string }[] };
  const teams = await expectApi<Teams>(200, base, "GET", "/v1/teams?limit=200", adminKey);
  expect(teams.data.map((t) => t.name)).toEqual([TEAM]);
  teamId = teams.data[0]?.id ?? "";
});

it("creates a member in the team, with a seat", async () => {
  const page = p();
  const form = await openForm(page, "New member", "Create member");
  await expectAccessible("the console with the New member form open");
  await form.getByRole("textbox", { name: "Member name", exact: true }).fill(MEMBER);
  await choose(form.getByRole("combobox", { name: "Team", exact: true }), TEAM);
  await form.getByRole("combobox", { name: "Seat", exact: true }).selectOption(SEAT);
  const created = answer(page, "POST", /^\/v1\/members$/);
  await button(form, "Create member").click();
  expect((await created).status()).toBe(201);
  await closeDialogs(page);
  await page
    .getByRole("rowheader", { name: MEMBER, exact: true })
    .filter({ visible: true })
    .waitFor();
  await page.getByRole("status").filter({ hasText: MEMBER }).filter({ visible: true }).waitFor();
  await settled(page);
  expect(await focused(page), "focus goes back to the opener").toBe("button New member");
});

it("creates a member key and shows its secret once, with a copy button", async () => {
  const page = p();
  const form = await openForm(page, "New key", "Create key");
  await expectAccessible("the console with the New key form open");
  await form.getByRole("combobox", { name: "Role", exact: true }).selectOption("member");
  await choose(form.getByRole("combobox", { name: "Member", exact: true }), MEMBER);
  await form.getByRole("textbox", { name: "Key name", exact: true }).fill(KEY_NAME);
  const created = answer(page, "POST", /^\/v1\/keys$/);
  await button(form, "Create key").click();
  const response = await created;
  expect(response.status()).toBe(201);
  const secret = page.getByRole("textbox", { name: "New key", exact: true });
  await secret.waitFor();
  memberKey = await secret.inputValue();
  expect(memberKey).toMatch(new RegExp(`^cg_${ACCOUNT.id}_[a-z0-9]{32}$`));
  expect(memberKey).toBe(((await response.json()) as { key: string }).key);
  expect(await secret.getAttribute("readonly")).not.toBeNull();
  // The copy button puts the secret on the clipboard.
  await need(context, "context").grantPermissions(["clipboard-read", "clipboard-write"], {
    origin: base,
  });
  await button(page.getByRole("dialog"), /^Copy/).click();
  await expect.poll(() => page.evaluate("navigator.clipboard.readText()")).toBe(memberKey);
  await expect
    .poll(() =>
      page
        .getByText(/not be shown again/i)
        .filter({ visible: true })
        .count(),
    )
    .toBeGreaterThan(0);
  await expectAccessible("the console showing the new key's secret");
  await closeDialogs(page);
  await settled(page);
  expect(await focused(page), "focus goes back to the opener").toBe("button New key");
  await page.getByRole("row").filter({ hasText: KEY_NAME }).filter({ visible: true }).waitFor();
});

it("sets the team's monthly budget in its rules form, and shows the rules in force", async () => {
  const page = p();
  const form = await openForm(page, `Rules for ${TEAM}`, "Save rules");
  await expectAccessible(`the console with the rules form of ${TEAM} open`);
  const budget = form.getByRole("spinbutton", { name: "Team monthly budget", exact: true });
  expect(await budget.inputValue(), "no budget yet: the field is empty").toBe("");
  expect(
    await form.getByRole("spinbutton", { name: "Default member budget", exact: true }).inputValue(),
  ).toBe("");
  expect(
    await form
      .getByRole("spinbutton", { name: "Member rate limit per minute", exact: true })
      .inputValue(),
  ).toBe("");
  await budget.fill(String(BUDGET));
  const saved = answer(page, "PUT", /^\/v1\/teams\/[^/]+\/rules$/);
  await button(form, "Save rules").click();
  expect((await saved).status()).toBe(200);
  await closeDialogs(page);
  await settled(page);
  expect(await focused(page), "focus goes back to the opener").toBe(`button Rules for ${TEAM}`);
  // The rules in force, in the team's row: "<used> of <budget>" (nothing used yet).
  await expect
    .poll(() => teamRow(page, TEAM).getByRole("cell").allTextContents())
    .toContain(`0 of ${BUDGET}`);
});

it("shows the API's detail and request id when a team with members cannot be deleted", async () => {
  const page = p();
  const refused = answer(page, "DELETE", /^\/v1\/teams\/[^/]+$/);
  await button(teamRow(page, TEAM), `Delete ${TEAM}`).click();
  // A confirmation first, if the console asks for one.
  const confirm = button(page, "Delete team").filter({ visible: true });
  const confirmed = confirm
    .waitFor({ timeout: 3000 })
    .then(() => confirm.click())
    .catch(() => {});
  const response = await refused;
  await confirmed;
  expect(response.status()).toBe(409);
  const problem = (await response.json()) as { detail: string; requestId: string };
  expect(problem.detail).toMatch(/still has 1 member/);
  // Next to the teams list: an alert in the part of the page that holds the team's row.
  const teams = page.locator("section").filter({ has: teamRow(page, TEAM) });
  const alert = teams.getByRole("alert").filter({ hasText: problem.detail });
  await alert.waitFor();
  expect(await alert.textContent()).toContain(problem.requestId);
  await closeDialogs(page);
  await teamRow(page, TEAM).waitFor();
});

it("stored what was entered: the team, the member, the key and the budget", async () => {
  type Team = { id: string; name: string };
  type TeamDetail = Team & { rules: Record<string, unknown> };
  type Member = { id: string; name: string; teamId: string; seat: string; active: boolean };
  type Key = { id: string; role: string; memberId: string | null; name: string | null };
  const teams = await expectApi<{ data: Team[] }>(200, base, "GET", "/v1/teams", adminKey);
  expect(teams.data).toEqual([expect.objectContaining({ id: teamId, name: TEAM })]);
  const detail = await expectApi<TeamDetail>(200, base, "GET", `/v1/teams/${teamId}`, adminKey);
  expect(detail.rules).toEqual({
    allowedActions: null,
    allowedCategories: null,
    purpose: { required: false, allowed: null },
    memberRateLimitPerMinute: null,
    teamBudget: BUDGET,
    memberBudget: null,
  });
  const members = await expectApi<{ data: Member[] }>(200, base, "GET", "/v1/members", adminKey);
  expect(members.data).toEqual([
    expect.objectContaining({ name: MEMBER, teamId, seat: SEAT, active: true }),
  ]);
  memberId = members.data[0]?.id ?? "";
  const keys = await expectApi<{ data: Key[] }>(200, base, "GET", "/v1/keys?limit=200", adminKey);
  const member = keys.data.filter((k) => k.role === "member");
  expect(member).toEqual([expect.objectContaining({ memberId, name: KEY_NAME, revokedAt: null })]);
});

it("the new key calls, and the team budget refuses the call that would pass it", async () => {
  for (let i = 1; i <= Math.floor(BUDGET / PRICE); i++) {
    const ok = await enrich(memberKey);
    expect(ok.status, `call ${i}: ${ok.text}`).toBe(200);
    expect(ok.headers.get("x-credits-charged")).toBe(String(PRICE));
  }
  const refused = await enrich(memberKey);
  expect(refused.status, refused.text).toBe(402);
  expect(refused.body).toMatchObject({ code: "budget_exhausted", rule: "team_budget" });
});

it("opens the alert settings and webhook forms; both pass axe", async () => {
  const page = p();
  for (const submit of ["Save alert settings", "Save webhook"]) {
    const form = formWith(page, submit);
    await form.waitFor();
    await form.scrollIntoViewIfNeeded();
    await expectAccessible(`the console with the form of "${submit}"`);
  }
});

it("fits a desktop and a phone screen", async () => {
  const page = p();
  await settled(page);
  await page.screenshot({ path: path.join(ARTIFACTS, "console-desktop.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await sleep(500);
  await page.screenshot({ path: path.join(ARTIFACTS, "console-phone.png"), fullPage: true });
  const overflow = await page.evaluate(
    "document.documentElement.scrollWidth - document.documentElement.clientWidth",
  );
  expect(overflow, `wider than the screen: ${await widerThanScreen(page)}`).toBeLessThanOrEqual(0);
  await expectAccessible("the console on a phone screen");
  await page.setViewportSize({ width: 1280, height: 800 });
});

it("revokes the key after a confirmation; the key is then refused", async () => {
  const page = p();
  const row = page.getByRole("row").filter({ hasText: KEY_NAME }).filter({ visible: true });
  expect(await row.count(), "the key made in the console is listed (see the New key step)").toBe(1);
  await button(row, /^Revoke\b/).click();
  const confirm = button(page, "Revoke key");
  await confirm.waitFor();
  await expectAccessible("the console asking to confirm a revocation");
  const revoked = answer(page, "DELETE", /^\/v1\/keys\/[^/]+$/);
  await confirm.click();
  expect((await revoked).status()).toBe(200);
  await closeDialogs(page);
  await settled(page);
  expect(await row.count(), "the revoked key leaves the list").toBe(0);
  await page.getByRole("status").filter({ hasText: KEY_NAME }).filter({ visible: true }).waitFor();
  const refused = await enrich(memberKey);
  expect(refused.status, refused.text).toBe(401);
  expect(refused.body).toMatchObject({ code: "invalid_key" });
  type Key = { memberId: string | null; revokedAt: string | null };
  const keys = await expectApi<{ data: Key[] }>(200, base, "GET", "/v1/keys?limit=200", adminKey);
  expect(keys.data.find((k) => k.memberId === memberId)?.revokedAt).toEqual(expect.any(String));
  // The admin's own session goes on.
  await navTo(page, "Overview").click();
  await overviewLoaded(page);
});

it("shows finance the console without any control that changes something", async () => {
  const page = p();
  await button(page, "Sign out").click();
  await signInWith(page, financeKey);
  await overviewLoaded(page);
  await expectAccessible("the overview, with usage, as finance");
  await navTo(page, "Manage").click();
  await page
    .getByRole("rowheader", { name: TEAM, exact: true })
    .filter({ visible: true })
    .waitFor();
  await page
    .getByRole("rowheader", { name: MEMBER, exact: true })
    .filter({ visible: true })
    .waitFor();
  await settled(page);
  for (const name of [
    "New team",
    "New member",
    "New key",
    "Save rules",
    "Save alert settings",
    "Save webhook",
    `Delete ${TEAM}`,
  ]) {
    expect(await button(page, name).count(), `finance sees a "${name}" button`).toBe(0);
  }
  expect(await button(page, /^Revoke\b/).count(), "finance sees a Revoke button").toBe(0);
  await expectAccessible("the console as finance");
});

it("broke no CSP rule, threw nothing, and put no key in a URL", () => {
  expect(cspErrors).toEqual([]);
  expect(pageErrors).toEqual([]);
  const keys = [adminKey, financeKey, memberKey].filter((k) => k !== "");
  expect(keys.length, "a key is missing (see the New key step)").toBe(3);
  for (const url of requested) {
    for (const key of keys) expect(url).not.toContain(key);
  }
});
