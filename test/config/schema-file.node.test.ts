/**
 * creditgate.config.schema.json is what editors validate the configuration with. It must be the
 * schema the code generates from its zod schema (regenerate with `npm run config:schema`), and
 * the demo's file must pass it, checked by a real JSON Schema validator (Ajv, draft 2020-12).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { describe, expect, it } from "vitest";
import { configJsonSchema, SCHEMA_FILE } from "../../scripts/config-schema";

const ROOT = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), "utf8")) as unknown;

describe("the configuration's JSON Schema", () => {
  it("is up to date with the zod schema", () => {
    expect(readFileSync(SCHEMA_FILE, "utf8"), "run npm run config:schema").toBe(configJsonSchema());
  });

  it("accepts the demo configuration and refuses a misspelt field and a bad id", () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(read("creditgate.config.schema.json") as object);
    const demo = read("creditgate.config.json") as Record<string, unknown>;
    expect(validate(demo), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...demo, tiers: [] })).toBe(false);
    expect(validate({ ...demo, seats: ["Sales Reps"] })).toBe(false);
    expect(validate.errors?.[0]?.instancePath).toBe("/seats/0");
    const alt = read("test/alt/alt.config.json");
    expect(validate(alt), JSON.stringify(validate.errors)).toBe(true);
  });
});
