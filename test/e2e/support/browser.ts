/**
 * A headless Chromium for the end-to-end tests (the machine's own Chromium or Chrome, found by
 * scripts/browser.ts and driven by playwright-core; nothing is downloaded), small readers for
 * what the dashboard shows, and the demo account's live usage that the dashboard test adds
 * before it opens the page.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { findBrowser, missingBrowserMessage } from "../../../scripts/browser";
import { expectApi } from "./api";
import { sleep } from "./wrangler";

/** Launches the machine's browser; with none, fails with the line that says how to get one. */
export function launchChromium(): Promise<Browser> {
  const executablePath = findBrowser();
  if (!executablePath) throw new Error(missingBrowserMessage());
  return chromium.launch({
    executablePath,
    // No background traffic: this machine's network is closed, and a test needs none of it.
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    timeout: 30_000,
  });
}

/** The integer shown in a `data-testid` element ("12,345" -> 12345). */
export async function numberAt(page: Page, testid: string): Promise<number> {
  const text = (await page.getByTestId(testid).textContent()) ?? "";
  const digits = text.replace(/[,\s]/g, "");
  if (!/^-?\d+$/.test(digits)) throw new Error(`${testid} shows ${JSON.stringify(text)}`);
  return Number(digits);
}

/** The slice of the browser's DOM the page functions below use (the project has no DOM lib). */
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: "2d"): {
    getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
  } | null;
}
interface PageDocument {
  querySelectorAll(selector: string): Iterable<PageCanvas>;
}

/** How many pixels of the canvases under a `data-testid` element are painted (alpha > 0). */
export function paintedPixels(page: Page, testid: string): Promise<number> {
  return page.evaluate((id) => {
    const doc = (globalThis as unknown as { document: PageDocument }).document;
    let painted = 0;
    for (const canvas of doc.querySelectorAll(`[data-testid="${id}"] canvas`)) {
      if (canvas.width === 0 || canvas.height === 0) continue;
      const ctx = canvas.getContext("2d");
      if (!ctx) continue;
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) painted += 1;
    }
    return painted;
  }, testid);
}

/** The `data-*` attributes of each body row of the table with this `data-testid`. */
export function dataRows(
  page: Page,
  testid: string,
): Promise<Record<string, string | undefined>[]> {
  return page
    .locator(`[data-testid="${testid}"] tbody tr`)
    .evaluateAll((trs: { dataset: Record<string, string | undefined> }[]) =>
      trs.map((tr) => ({ ...tr.dataset })),
    );
}

/** The text of each cell (row header first) of each body row of the table with this `data-testid`. */
export function cellRows(page: Page, testid: string): Promise<string[][]> {
  return page
    .locator(`[data-testid="${testid}"] tbody tr`)
    .evaluateAll((trs: { cells: ArrayLike<{ textContent: string | null }> }[]) =>
      trs.map((tr) => Array.from(tr.cells, (c) => (c.textContent ?? "").trim())),
    );
}

/** The dashboard's spend chart data table, one row per (day, group). */
export async function spendRows(
  page: Page,
): Promise<{ day: string; group: string; credits: number }[]> {
  const rows = await dataRows(page, "spend-table");
  return rows.map((r) => ({ day: r.day ?? "", group: r.group ?? "", credits: Number(r.credits) }));
}

/** The elements that stick out of the viewport on the right, for a failure message. */
export function widerThanScreen(page: Page): Promise<string> {
  return page.evaluate(`[...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
    .filter((el) => !el.closest(".visually-hidden"))
    .slice(0, 8)
    .map((el) => el.tagName.toLowerCase() + "." + el.className + " " + Math.round(el.getBoundingClientRect().right))
    .join("; ")`);
}

/** RFC 4180 records (quoted fields, doubled quotes, CRLF or LF line ends). */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      record.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i += 1;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** A grant as `GET /v1/balance` lists it (the fields the tests read). */
export type GrantView = Record<"amount" | "remaining" | "held" | "captured" | "expired", number> & {
  source: string;
  effectiveAt: string;
  expiresAt: string | null;
};
export interface Balance {
  available: number;
  held: number;
  capturedThisPeriod: number;
  period: { start: string; end: string };
  grants: GrantView[];
  periodGrants: GrantView[];
}
export type Group = { day?: string; teamId?: string | null; action?: string; credits: number };
export interface Summary {
  groups: Group[];
  totals: { credits: number; calls: number; denials: number };
}

/**
 * The burn-down's rule, computed here from the API answers: the balance at time t (the period's
 * start or the end of a day before now) = available now + held now (not on the overage grant)
 * + captured after t − granted
 * after t + expired after t − overage captured after t. `perDay` is the period's summary by day
 * (no filters); granted and expired count the non-overage period grants (granted: effectiveAt >
 * t; expired: expiresAt in (t, now]); the overage grant's captured credits are taken from the
 * latest days' captures, today backwards, and are not balance spend.
 */
export function balanceAt(balance: Balance, perDay: Group[], t: number, now: number): number {
  const days = perDay
    .map((g) => ({ start: Date.parse(`${g.day}T00:00:00Z`), credits: g.credits }))
    .sort((a, b) => b.start - a.start);
  const overage = balance.periodGrants.filter((g) => g.source === "overage");
  let overageLeft = overage.reduce((sum, g) => sum + g.captured, 0);
  // Credits held on the overage grant are not part of `available` either way.
  let value = balance.available + balance.held - overage.reduce((sum, g) => sum + g.held, 0);
  for (const d of days) {
    const taken = Math.min(overageLeft, d.credits);
    overageLeft -= taken;
    if (d.start >= t) value += d.credits - taken;
  }
  for (const g of balance.periodGrants) {
    if (g.source === "overage") continue;
    if (Date.parse(g.effectiveAt) > t) value -= g.amount;
    const expires = g.expiresAt === null ? null : Date.parse(g.expiresAt);
    if (expires !== null && expires > t && expires <= now) value += g.expired;
  }
  return value;
}

/** Signs in on the sign-in page with `key` and waits for the balance. */
export async function signInWith(page: Page, key: string): Promise<void> {
  await page.getByTestId("signin-key").fill(key);
  await page.getByTestId("signin-submit").click();
  await page.getByTestId("balance-available").waitFor();
}

/** How the sign-in's key field is set up (type, autocomplete, CSS masking). */
export async function keyField(page: Page): Promise<Record<string, unknown>> {
  const input = page.getByTestId("signin-key");
  const style = `getComputedStyle(document.querySelector('[data-testid="signin-key"]'))`;
  return {
    type: await input.getAttribute("type"),
    autocomplete: await input.getAttribute("autocomplete"),
    masking: await page.evaluate(`${style}.webkitTextSecurity`),
  };
}

/** The index of each named column of a CSV header. */
export function columns<N extends string>(
  header: string[] | undefined,
  names: N[],
): Record<N, number> {
  const found: Partial<Record<N, number>> = {};
  for (const name of names) {
    const i = header?.indexOf(name) ?? -1;
    if (i < 0) throw new Error(`no ${name} column in ${header?.join(",")}`);
    found[name] = i;
  }
  return found as Record<N, number>;
}

/**
 * Answers the first request matching `pattern` with a 401 problem after `ms` and lets later ones
 * through. `delivered` settles once that late answer is given (a bare promise would be flattened).
 */
export async function late401(
  page: Page,
  pattern: string,
  ms: number,
): Promise<{ delivered: Promise<void> }> {
  let delivered: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    delivered = resolve;
  });
  let calls = 0;
  await page.route(pattern, async (route) => {
    calls += 1;
    if (calls > 1) return route.continue();
    await sleep(ms);
    await route.fulfill(problemReply(401, "unauthorized", "Late 401 (injected by the test)."));
    delivered();
  });
  return { delivered: done };
}

/** A problem+json answer for `route.fulfill`, injected by a test. */
export function problemReply(status: number, code: string, detail: string) {
  const body = { type: "about:blank", title: code, status, code, detail, requestId: "req-e2e" };
  return { status, contentType: "application/problem+json", body: JSON.stringify(body) };
}

type Member = { id: string; key: string; teamId: string };
/** What scripts/seed-demo.mjs returns (teams Sales and Marketing; Ada in Sales, Grace in Marketing). */
export interface Demo {
  accountId: string;
  adminKey: string;
  financeKey: string;
  ada: Member;
  grace: Member;
}
export type SeedDemo = (
  base: string,
  token: string,
  options?: { history?: boolean },
) => Promise<Demo>;

/** A few live calls today, some denied (Grace has no sales seat for buyer intent). */
export async function liveUsage(base: string, d: Demo): Promise<void> {
  for (let i = 1; i <= 4; i++) {
    const records = Array.from({ length: i }, (_, n) => ({ domain: `live-${i}-${n}.example` }));
    await expectApi(200, base, "POST", "/v1/enrichment/companies", d.ada.key, { records });
  }
  for (let i = 0; i < 2; i++) {
    await expectApi(200, base, "POST", "/v1/ai/generate", d.grace.key, { prompt: `Note ${i}` });
  }
  for (let i = 0; i < 3; i++) {
    await expectApi(403, base, "GET", "/v1/prospecting/intent?limit=2", d.grace.key);
  }
}

/** Flushes the ledger's outbox into D1 until the period reconciles, so D1 has every event. */
export async function flush(base: string, key: string): Promise<void> {
  type Reconciled = { verdict: string; flushed: { error: string | null } };
  let last = "";
  for (let i = 0; i < 20; i++) {
    const r = await expectApi<Reconciled>(200, base, "GET", "/v1/usage/reconcile?flush=true", key);
    last = JSON.stringify(r);
    if (r.verdict === "balanced" && r.flushed.error === null) return;
    await sleep(250);
  }
  throw new Error(`the usage never reconciled: ${last}`);
}
