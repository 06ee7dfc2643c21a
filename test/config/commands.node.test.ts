/**
 * The commands around the configuration file, run as a user runs them: `npm run config:check`
 * and the build that wrangler runs before `dev` and `deploy`. A bad file stops both with every
 * issue named by file, field path and reason; a missing upstream secret is named at once.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { childEnv } from "../../scripts/child-env";

const ROOT = path.resolve(import.meta.dirname, "../..");
const demo = JSON.parse(readFileSync(path.join(ROOT, "creditgate.config.json"), "utf8"));
const dir = mkdtempSync(path.join(tmpdir(), "creditgate-config-"));

function write(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

function run(script: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "scripts", script), ...args],
    { cwd: ROOT, env: childEnv(env), encoding: "utf8", timeout: 60_000 },
  );
  return { code: result.status, out: result.stdout, err: result.stderr };
}

describe("npm run config:check", () => {
  it("prints the plans and the actions of a valid file", () => {
    const { code, out } = run("config-check.ts", []);
    expect(code).toBe(0);
    expect(out).toMatch(/^creditgate\.config\.json: valid/);
    expect(out).toMatch(/starter\s+Starter\s+500\s+enrichment \(2 actions\)/);
    expect(out).toMatch(/ai\.generate\s+POST \/v1\/ai\/generate\s+1 per 100 units .* metered/);
    expect(out).toMatch(/add-ons: capacity_pack \(1000 credits a period each\)/);
    const alt = run("config-check.ts", ["test/alt/alt.config.json"]).out;
    expect(alt).toMatch(
      /nlp\.summarize .* 3 per 1000 units .* 4 per 1000 units .* from 2099-01-01/,
    );
  });

  it("lists every issue of a bad file with its path and reason, and exits 1", () => {
    const bad = {
      ...demo,
      plans: [{ ...demo.plans[0], includes: ["enrichment", "ai.nope"] }],
      actions: [{ ...demo.actions[0], seat: "astronaut" }, ...demo.actions.slice(1)],
    };
    const { code, err } = run("config-check.ts", [write("bad.json", bad)]);
    expect(code).toBe(1);
    expect(err).toMatch(/^invalid configuration \S+bad\.json \(2 issue\(s\)\):/);
    expect(err).toMatch(/- plans\[0\]\.includes\[1\]: plan "starter" includes "ai\.nope"/);
    expect(err).toMatch(/- actions\[0\]\.seat: action "enrichment\.company": seat "astronaut"/);
  });

  it("says a file is not JSON, or not there", () => {
    expect(run("config-check.ts", [write("broken.json", "{ seats: ")]).err).toMatch(
      /broken\.json \(1 issue\(s\)\):\n- \(file\): not valid JSON/,
    );
    expect(run("config-check.ts", [path.join(dir, "missing.json")]).err).toMatch(
      /- \(file\): not found/,
    );
  });

  it("names a secret an upstream credential needs that is not set", () => {
    const vars = write("dev.vars", "OPERATOR_TOKEN=x\n");
    const missing = run("config-check.ts", ["--quiet", "--secrets-from", vars]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/DEMO_UPSTREAM_TOKEN \(the credential of upstream "demo"\)/);
    const set = write("dev2.vars", "OPERATOR_TOKEN=x\nDEMO_UPSTREAM_TOKEN=y\n");
    expect(run("config-check.ts", ["--quiet", "--secrets-from", set]).code).toBe(0);
  });
});

describe("the build (wrangler's [build] command)", () => {
  it("stops on a bad CREDITGATE_CONFIG before building anything", () => {
    const file = write("plans-missing.json", { ...demo, plans: undefined });
    const { code, err } = run("build.ts", [], { CREDITGATE_CONFIG: file });
    expect(code).toBe(1);
    expect(err).toMatch(/plans-missing\.json \(1 issue\(s\)\):\n- plans: /);
  });
});
