/**
 * The configuration the worker was built with. `creditgate:config` is an alias set at build
 * time (wrangler.toml `[alias]`, vitest.config.ts): scripts/build.ts validates the file that
 * CREDITGATE_CONFIG names (default: creditgate.config.json) and writes it where the alias
 * points, so a bad file fails the build and nothing is read at request time.
 */
import raw from "creditgate:config";
import { type Config, loadConfig } from "./load";

export const config: Config = loadConfig(raw, "the configuration built into the worker");
