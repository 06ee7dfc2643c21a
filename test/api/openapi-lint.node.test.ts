/**
 * The API document passes Redocly's lint: the app is built in plain Node (project `node` in
 * vitest.config.ts), `/openapi.json` is written to a temp file and the Redocly CLI the project
 * pins lints it with the repo's redocly.yaml (`recommended`, two rules raised to errors),
 * exactly as `npx redocly lint` does by hand. Any error fails, listed one per line.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { afterAll, describe, expect, it } from "vitest";
import { childEnv } from "../../scripts/child-env";
import { createApp } from "../../src/app";
import { bundledCatalog, type Catalog } from "../../src/catalog";
import { testCatalog } from "../support/test-catalog";

// Vitest runs from the repository root, where its config is.
const CLI = path.resolve("node_modules/@redocly/cli/bin/cli.js");
const CONFIG = path.resolve("redocly.yaml");
/** Redocly's lint takes about a second; far more means it is waiting on something. */
const LINT_TIMEOUT_MS = 30_000;

interface LintProblem {
  ruleId: string;
  severity: "error" | "warn";
  message: string;
  location?: { pointer?: string }[];
}
interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: LintProblem[];
}

const work = mkdtempSync(path.join(tmpdir(), "creditgate-openapi-lint-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The document as the worker serves it, built from `catalog`. */
async function documentOf(catalog: Catalog): Promise<string> {
  const app = createApp({ catalog });
  // The docs routes read no binding: the settings middleware falls back to its defaults.
  const res = await app.request("/openapi.json", {}, {} as Env);
  expect(res.status).toBe(200);
  return res.text();
}

/** Runs `redocly lint --format=json` on `file`: its exit code, stdout and stderr. */
function redocly(file: string, name: string) {
  const outPath = path.join(work, `${name}.out.json`);
  const errPath = path.join(work, `${name}.err.txt`);
  const out = openSync(outPath, "w");
  const err = openSync(errPath, "w");
  const child = spawn(
    process.execPath,
    [CLI, "lint", file, "--format=json", `--config=${CONFIG}`],
    {
      cwd: work,
      // No telemetry, no update check against the npm registry: the lint makes no network call.
      env: childEnv({
        REDOCLY_TELEMETRY: "off",
        REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
        NO_COLOR: "1",
      }),
      stdio: ["ignore", out, err],
    },
  );
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), LINT_TIMEOUT_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      closeSync(out);
      closeSync(err);
      resolve({
        code,
        stdout: readFileSync(outPath, "utf8"),
        stderr: readFileSync(errPath, "utf8"),
      });
    });
  });
}

/** A problem in one line: severity, rule, where in the document, and what. */
function line(p: LintProblem): string {
  const at = (p.location ?? []).map((l) => l.pointer ?? "?").join(", ");
  return `${p.severity} ${p.ruleId} at ${at}: ${p.message}`;
}

async function lint(catalog: Catalog, name: string) {
  const file = path.join(work, `${name}.openapi.json`);
  writeFileSync(file, await documentOf(catalog));
  const run = await redocly(file, name);
  let report: LintReport;
  try {
    report = JSON.parse(run.stdout) as LintReport;
  } catch {
    const how = run.code === null ? `was killed after ${LINT_TIMEOUT_MS} ms` : `exited ${run.code}`;
    throw new Error(`redocly lint ${how} with no JSON report:\n${run.stdout}\n${run.stderr}`);
  }
  return { code: run.code, report };
}

describe("the API document under Redocly's lint (redocly.yaml: recommended)", () => {
  for (const [name, catalog] of [
    ["demo", bundledCatalog],
    ["test", testCatalog],
  ] as const) {
    it(`has no errors, built with the ${name} catalog`, { timeout: 60_000 }, async () => {
      const { code, report } = await lint(catalog, name);
      const warnings = report.problems.filter((p) => p.severity !== "error").map(line);
      // Lines rather than objects: a failure reads as Redocly's own list of errors.
      expect(
        report.problems.filter((p) => p.severity === "error").map(line),
        [`redocly lint: ${report.totals.errors} error(s), ${warnings.length} warning(s)`]
          .concat(warnings)
          .join("\n"),
      ).toEqual([]);
      expect(report.totals.errors).toBe(0);
      expect(code, "redocly lint's exit code").toBe(0);
    });
  }
});
