/**
 * `npm run config:schema`: writes creditgate.config.schema.json, the JSON Schema of the
 * configuration file, generated from its zod schema (src/config/schema.ts), so editors validate
 * and complete the file (`"$schema": "./creditgate.config.schema.json"`). The schema covers each
 * field's shape; the rules across fields (references, overlapping routes) are checked by
 * `npm run config:check` and the build. `--check` only compares: a test runs it that way.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { z } from "zod";
import { ConfigShape } from "../src/config/schema";
import { ROOT } from "./config-file";

export const SCHEMA_FILE = path.join(ROOT, "creditgate.config.schema.json");

/** The JSON Schema text, as committed. */
export function configJsonSchema(): string {
  const schema = z.toJSONSchema(ConfigShape, { io: "input", target: "draft-2020-12" });
  const document = {
    ...schema,
    title: "creditgate configuration",
    description:
      "Seat kinds, categories, plans, upstreams and priced actions of a creditgate gateway.",
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function main(): number {
  const text = configJsonSchema();
  if (process.argv.includes("--check")) {
    const committed = readFileSync(SCHEMA_FILE, "utf8");
    if (committed === text) return 0;
    console.error(`${SCHEMA_FILE} is out of date: run npm run config:schema`);
    return 1;
  }
  writeFileSync(SCHEMA_FILE, text);
  console.log(`wrote ${path.relative(ROOT, SCHEMA_FILE)}`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename ?? "")) {
  process.exitCode = main();
}
