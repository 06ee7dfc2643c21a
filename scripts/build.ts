/**
 * The worker's build, run by wrangler before `dev` and `deploy` ([build] in wrangler.toml):
 * validates the configuration CREDITGATE_CONFIG names (default creditgate.config.json) and
 * stages it where the worker's `creditgate:config` alias points, then bundles the dashboard.
 * A bad configuration stops the build with every issue listed; nothing is read at request time.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { ConfigError } from "../src/config/load";
// @ts-expect-error: a plain .mjs build script, without types
import { buildDashboard } from "./build-dashboard.mjs";
import { configPath, ROOT, readConfig, STAGED_CONFIG } from "./config-file";

function main(): number {
  const file = configPath();
  try {
    const { raw } = readConfig(file);
    mkdirSync(path.dirname(STAGED_CONFIG), { recursive: true });
    writeFileSync(STAGED_CONFIG, `${JSON.stringify(raw)}\n`);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }
  buildDashboard();
  console.log(`configuration: ${path.relative(ROOT, file) || file} (validated)`);
  return 0;
}

process.exitCode = main();
