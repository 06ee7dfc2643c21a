/**
 * A headless Chromium for the end-to-end tests (Debian's /usr/bin/chromium driven by
 * playwright-core; nothing is downloaded), small readers for what the dashboard shows, and the
 * demo account's live usage that the dashboard test adds before it opens the page.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { expectApi } from "./api";
import { sleep } from "./wrangler";

export const CHROMIUM = "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--headless", "--disable-gpu"],
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
