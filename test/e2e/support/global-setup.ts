/**
 * Once per e2e run: bundle the gateway and the e2e upstream as `wrangler deploy` would ship
 * them, into a temp dir, and give the tests configs that serve those bundles with
 * `no_bundle = true`. Others may edit the sources while the tests run; `wrangler dev` would
 * reload on every change (calls in flight then fail), so the servers run a snapshot instead.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import type { TestProject } from "vitest/node";
import { snapshotWorker } from "./snapshot";
import type { Workspace } from "./wrangler";

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
    snapshotWorker(ws, "gateway", "wrangler.toml"),
    snapshotWorker(ws, "upstream", "test/e2e/support/upstream.wrangler.toml"),
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
