/** A worker bundled once and served as that bundle, by the e2e tests and the bench. */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Workspace, wrangler } from "./wrangler";

/**
 * Bundles a worker once, as `wrangler deploy --dry-run` would ship it, and writes a copy of its
 * config that serves that bundle (`no_bundle = true`, relative paths made absolute, no build
 * command: the dashboard is built already). Others may edit the sources while tests or the
 * bench run; `wrangler dev` would reload on every change, so servers run a snapshot instead.
 */
export async function snapshotWorker(
  ws: Workspace,
  label: string,
  config: string,
  timeoutMs?: number,
): Promise<string> {
  const outDir = path.join(ws.tmp, "build", label);
  const args = ["deploy", "--dry-run", "--outdir", outDir, "-c", config];
  await wrangler(ws, `bundle ${label}`, args, timeoutMs);
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
