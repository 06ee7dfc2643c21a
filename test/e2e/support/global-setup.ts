/**
 * Once per e2e run: bundle the gateway and the e2e upstream as `wrangler deploy` would ship
 * them, into a temp dir, and give the tests configs that serve those bundles with
 * `no_bundle = true`. Others may edit the sources while the tests run; `wrangler dev` would
 * reload on every change (calls in flight then fail), so the servers run a snapshot instead.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import type { TestProject } from "vitest/node";
import { type Workspace, wrangler } from "./wrangler";

export interface E2EContext extends Workspace {
  /** Snapshot config of the gateway (wrangler.toml); served first, on the port. */
  gatewayConfig: string;
  /** Snapshot config of the demo upstream behind the e2e front. */
  upstreamConfig: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    e2e: E2EContext;
  }
}

async function snapshot(ws: Workspace, label: string, config: string): Promise<string> {
  const outDir = path.join(ws.tmp, "build", label);
  await wrangler(ws, `bundle ${label}`, ["deploy", "--dry-run", "--outdir", outDir, "-c", config]);
  // The bundle is named after the entry point: index.js, upstream.js.
  const bundles = readdirSync(outDir).filter((f) => f.endsWith(".js"));
  const main = bundles[0];
  if (bundles.length !== 1 || main === undefined) {
    throw new Error(
      `bundle ${label}: expected one .js file in ${outDir}, found ${bundles.join(", ")}`,
    );
  }
  const configPath = path.resolve(ws.root, config);
  const configDir = path.dirname(configPath);
  const text = readFileSync(configPath, "utf8")
    // The dashboard is built already (vitest.config.ts): a snapshot runs no build command.
    .replace(/^\[build\]\n(?:[^[\n].*\n|\n)*/m, "")
    .replace(/^main\s*=.*$/m, `main = ${JSON.stringify(main)}\nno_bundle = true`)
    .replace(
      /^(\s*(?:directory|migrations_dir)\s*=\s*)"([^"]+)"/gm,
      (_, key: string, value: string) => `${key}${JSON.stringify(path.resolve(configDir, value))}`,
    );
  const snapshotConfig = path.join(outDir, "wrangler.toml");
  writeFileSync(snapshotConfig, text);
  return snapshotConfig;
}

export default async function setup(project: TestProject): Promise<() => void> {
  const ws: Workspace = {
    root: project.config.root,
    tmp: mkdtempSync(path.join(tmpdir(), "creditgate-e2e-")),
  };
  const cleanup = () => {
    if (process.env.E2E_KEEP_TMP === "1") console.log(`e2e: kept ${ws.tmp}`);
    else rmSync(ws.tmp, { recursive: true, force: true });
  };
  const results = await Promise.allSettled([
    snapshot(ws, "gateway", "wrangler.toml"),
    snapshot(ws, "upstream", "test/e2e/support/upstream.wrangler.toml"),
  ]);
  const [gateway, upstream] = results;
  if (gateway?.status !== "fulfilled" || upstream?.status !== "fulfilled") {
    cleanup();
    const failed = results.find((r) => r.status === "rejected");
    throw failed?.status === "rejected" ? failed.reason : new Error("bundling failed");
  }
  project.provide("e2e", {
    ...ws,
    gatewayConfig: gateway.value,
    upstreamConfig: upstream.value,
  });
  return cleanup;
}
