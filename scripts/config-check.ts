/**
 * `npm run config:check [-- <path>] [--secrets-from <file>]`: validates a configuration file
 * (default: CREDITGATE_CONFIG, else creditgate.config.json) and prints its plans and actions as
 * tables: what each plan includes, each action's price, settlement, seat and plans. With
 * `--secrets-from`, also checks that every secret an upstream credential names (`secretEnv`) is set
 * there or in the environment (`npm start` runs it so, against .dev.vars). Exits 1 with every
 * issue listed when the file is bad or a secret is missing.
 */
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";
import type { Config } from "../src/config/load";
import { ConfigError } from "../src/config/load";
import { priceAt, upcomingPrices } from "../src/config/price";
import type { Action, Price } from "../src/config/schema";
import { configPath, readConfig } from "./config-file";

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function priceText(price: Price): string {
  if (!("unit" in price)) return `${price.credits} per call`;
  const per = price.per === 1 ? "unit" : `${price.per} units`;
  const from =
    price.unit.from === "body"
      ? `body ${price.unit.field}[]`
      : price.unit.from === "query"
        ? `query ${price.unit.param}`
        : `header ${price.unit.header}`;
  return `${price.credits} per ${per} (${from}, max ${price.maxUnits})`;
}

/** What a plan includes, in words: its categories with their actions, and single actions. */
function includesText(config: Config, includes: readonly string[]): string {
  return includes
    .map((ref) => {
      if (!config.categories.includes(ref)) return ref;
      const n = config.actions.filter((a) => a.category === ref).length;
      return `${ref} (${n} action${n === 1 ? "" : "s"})`;
    })
    .join(", ");
}

export function describeConfig(config: Config): string {
  const plans = table([
    ["plan", "name", "included credits", "includes"],
    ...config.plans.map((p) => [
      p.id,
      p.name,
      String(p.includedCredits),
      includesText(config, p.includes) || "nothing",
    ]),
  ]);
  const now = Date.now();
  const actions = table([
    ["action", "route", "price now", "scheduled", "settlement", "seat", "plans"],
    ...config.actions.map((a: Action) => [
      a.id,
      `${a.method} ${a.path}`,
      priceText(priceAt(a, now)),
      upcomingPrices(a, now)
        .map((c) => `${priceText(c.price)} from ${c.from.slice(0, 10)}`)
        .join("; ") || "-",
      a.settlement,
      a.seat ?? "-",
      config.plansIncluding(a).join(", ") || "none",
    ]),
  ]);
  const addOns =
    config.addOns.length > 0
      ? `add-ons: ${config.addOns.map((a) => `${a.id} (${a.credits} credits a period each)`).join(", ")}`
      : "add-ons: none";
  const seats = config.seats.length > 0 ? config.seats.join(", ") : "(none declared)";
  return [
    `seats: ${seats}; a member may also hold none`,
    `categories: ${config.categories.join(", ")}`,
    addOns,
    "",
    plans,
    "",
    actions,
  ].join("\n");
}

/** KEY=VALUE lines of an env file; blank lines and comments ignored. */
function envFile(file: string): Set<string> {
  if (!existsSync(file)) return new Set();
  const names = readFileSync(file, "utf8")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#") && line.indexOf("=") > 0)
    .filter((line) => line.slice(line.indexOf("=") + 1).trim() !== "")
    .map((line) => line.slice(0, line.indexOf("=")).trim());
  return new Set(names);
}

/**
 * The secrets upstream credentials name that the file does not set (`wrangler dev` gives the
 * worker the secrets of .dev.vars, not the shell's environment).
 */
export function missingSecrets(config: Config, file: string): string[] {
  const set = envFile(file);
  return config.upstreams
    .flatMap((u) => (u.credential ? [[u.id, u.credential.secretEnv] as const] : []))
    .filter(([, name]) => !set.has(name))
    .map(([upstream, name]) => `${name} (the credential of upstream "${upstream}")`);
}

function main(argv: string[]): number {
  const envAt = argv.indexOf("--secrets-from");
  const env = envAt >= 0 ? argv[envAt + 1] : undefined;
  const quiet = argv.includes("--quiet");
  const given = argv.find((a, i) => !a.startsWith("--") && !(envAt >= 0 && i === envAt + 1));
  const file = configPath(given);
  let config: Config;
  try {
    config = readConfig(file).config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }
  if (env) {
    const missing = missingSecrets(config, env);
    if (missing.length > 0) {
      console.error(
        `${config.source}: set these secrets in ${env} before starting: ${missing.join(", ")}`,
      );
      return 1;
    }
  }
  if (!quiet) console.log(`${config.source}: valid\n\n${describeConfig(config)}`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
