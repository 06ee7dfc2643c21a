/**
 * axe-core in the end-to-end browser: the accessibility check of the dashboard's pages.
 *
 * The dashboard is served under a strict CSP (`script-src 'self'`, no inline script), so
 * `page.addScriptTag({ content })` is refused (and logs a CSP violation the tests count as an
 * error). The engine is injected with `page.evaluate(source)` instead: code run by the
 * DevTools protocol is not subject to the page's CSP, and the page's own policy stays in force
 * for everything else, so the tests still see any CSP breakage of the dashboard itself.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { ImpactValue, Result, RunOptions } from "axe-core";
import type { Page } from "playwright-core";

const require = createRequire(import.meta.url);
let source: string | null = null;

/** axe-core's browser build, read once. */
function axeSource(): string {
  source ??= readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
  return source;
}

/** The impacts that fail a check. */
const FAILING: readonly ImpactValue[] = ["serious", "critical"];

/** What part of the page to check: CSS selectors, as axe's context object takes them. */
export type AxeScope = string | { include?: string[]; exclude?: string[] };

/** One failing rule and the elements that break it, as the failure message shows them. */
export interface AxeViolation {
  id: string;
  impact: ImpactValue | null;
  help: string;
  helpUrl: string;
  nodes: { target: string; html: string; summary: string }[];
}

/** The slice of the browser's globals the page function uses (the project has no DOM lib). */
interface AxeWindow {
  axe?: { run(context: unknown, options: RunOptions): Promise<{ violations: Result[] }> };
  document: unknown;
}

/** Loads axe into the page (again after a navigation; once per document otherwise). */
export async function injectAxe(page: Page): Promise<void> {
  const present = await page.evaluate("typeof window.axe === 'object' && window.axe !== null");
  if (!present) await page.evaluate(axeSource());
}

/**
 * Runs axe on the page (or on `scope`) and returns the violations of impact serious or
 * critical, with their targets and HTML, for an assertion message.
 */
export async function axeViolations(page: Page, scope?: AxeScope): Promise<AxeViolation[]> {
  await injectAxe(page);
  const options: RunOptions = { resultTypes: ["violations"] };
  const violations = await page.evaluate(
    async ({ scope, options }) => {
      const w = globalThis as unknown as AxeWindow;
      if (!w.axe) throw new Error("axe-core is not loaded");
      const results = await w.axe.run(scope ?? w.document, options);
      return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact ?? null,
        help: v.help,
        helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => ({
          // A target is a selector, or a path of selectors into iframes and shadow roots.
          target: n.target.map((t) => (Array.isArray(t) ? t.join(" >>> ") : String(t))).join(" "),
          html: n.html,
          summary: n.failureSummary ?? "",
        })),
      }));
    },
    { scope: scope ?? null, options },
  );
  return violations.filter((v) => v.impact !== null && FAILING.includes(v.impact));
}

/** The violations in words: rule, impact, help, and each element's selector, HTML and fix. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map((v) => {
      const nodes = v.nodes.map((n) => {
        const html = n.html.length > 300 ? `${n.html.slice(0, 300)}…` : n.html;
        const summary = n.summary.replace(/\n\s*/g, " | ");
        return `    at ${n.target}\n       ${html}\n       ${summary}`;
      });
      return `  ${v.id} (${v.impact}): ${v.help} (${v.helpUrl})\n${nodes.join("\n")}`;
    })
    .join("\n");
}

/**
 * The serious and critical violations of the page (or `scope`), described under `where`; ""
 * when there are none. For `expect(await axeReport(page, "the console")).toBe("")`, whose
 * failure message is then the whole report.
 */
export async function axeReport(page: Page, where: string, scope?: AxeScope): Promise<string> {
  const violations = await axeViolations(page, scope);
  if (violations.length === 0) return "";
  return `axe: ${violations.length} serious or critical violation(s) on ${where}:\n${describeViolations(violations)}`;
}
