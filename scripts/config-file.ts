/**
 * Which configuration file a build, `npm start` or `npm run config:check` uses, and reading it:
 * CREDITGATE_CONFIG if set (a path, relative to the repository root or absolute), else
 * creditgate.config.json at the root. A file that does not parse as JSON or fails validation
 * throws an error that names the file, the path of each bad field and what is wrong.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type Config, ConfigError, loadConfig } from "../src/config/load";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_CONFIG = path.join(ROOT, "creditgate.config.json");
/** Where the build puts the selected file; wrangler.toml's `[alias]` points the worker at it. */
export const STAGED_CONFIG = path.join(ROOT, "dist", "config", "creditgate.config.json");

/** The file to use: the argument, else CREDITGATE_CONFIG, else the default. */
export function configPath(given?: string): string {
  const chosen = given ?? process.env.CREDITGATE_CONFIG;
  return chosen ? path.resolve(ROOT, chosen) : DEFAULT_CONFIG;
}

/** Reads and validates a configuration file: its raw JSON and the loaded configuration. */
export function readConfig(file: string): { raw: unknown; config: Config } {
  const relative = path.relative(ROOT, file);
  const shown = relative && !relative.startsWith("..") ? relative : file;
  if (!existsSync(file)) throw new ConfigError(shown, [`- (file): not found at ${file}`]);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ConfigError(shown, [`- (file): not valid JSON: ${why}`]);
  }
  return { raw, config: loadConfig(raw, shown) };
}
