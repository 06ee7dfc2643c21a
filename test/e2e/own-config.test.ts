/**
 * A platform's own configuration under a real `wrangler dev`: the gateway bundled with
 * test/alt/alt.config.json (as `CREDITGATE_CONFIG` selects it for `npm start` and deploys), and
 * the starting account `npm start` seeds for a configuration other than the demo's
 * (scripts/seed-config.mjs): the file's first plan, one member per seat kind with a key each,
 * admin and finance keys, and a banner whose curl line is for the file's first action.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
// @ts-expect-error: a plain .mjs script, without types
import { configBanner, seedConfig } from "../../scripts/seed-config.mjs";
import { expectApi } from "./support/api";
import { snapshotWorker } from "./support/snapshot";
import { DevServer, migrateD1 } from "./support/wrangler";

const ctx = inject("e2e");
const OPERATOR_TOKEN = "e2e-own-config-operator";
const ALT = path.join(ctx.root, "test", "alt", "alt.config.json");

interface Seeded {
  admin: string;
  finance: string;
  people: { seat: string; key: string }[];
  plan: { id: string };
}

let server: DevServer | undefined;
let seeded: Seeded;
let banner: string;

/**
 * wrangler.toml with the worker's `creditgate:config` alias pointed at the alt file (what the
 * build stages when CREDITGATE_CONFIG names it), paths made absolute, in the temp dir: the
 * repository's own build output is left as it is.
 */
function altWranglerConfig(): string {
  const text = readFileSync(path.join(ctx.root, "wrangler.toml"), "utf8")
    .replace(/^\[build\]\n(?:[^[\n].*\n|\n)*/m, "")
    .replace(
      /^main\s*=\s*"([^"]+)"/m,
      (_, main: string) => `main = ${JSON.stringify(path.join(ctx.root, main))}`,
    )
    .replace(
      /^(\s*(?:directory|migrations_dir)\s*=\s*)"([^"]+)"/gm,
      (_, key: string, value: string) => `${key}${JSON.stringify(path.join(ctx.root, value))}`,
    )
    .replace(/^"creditgate:config"\s*=.*$/m, `"creditgate:config" = ${JSON.stringify(ALT)}`);
  const file = path.join(mkdtempSync(path.join(ctx.tmp, "alt-config-")), "wrangler.toml");
  writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  const gateway = await snapshotWorker(ctx, "gateway-alt", altWranglerConfig(), 120_000);
  const persistTo = mkdtempSync(path.join(ctx.tmp, "own-config-"));
  await migrateD1(ctx, persistTo);
  server = await DevServer.start(ctx, {
    label: "own-config",
    configs: [gateway, ctx.upstreamConfig],
    persistTo,
    vars: { OPERATOR_TOKEN, ALT_API_KEY: "e2e-alt-key", DEMO_UPSTREAM_TOKEN: "unused" },
  });
  const config = JSON.parse(readFileSync(ALT, "utf8"));
  config.source = "test/alt/alt.config.json";
  seeded = (await seedConfig(server.base, OPERATOR_TOKEN, config)) as Seeded;
  banner = configBanner(server.base, config, seeded) as string;
});

afterAll(async () => {
  await server?.stop();
});

describe("npm start with a configuration of one's own", () => {
  it("seeds the first plan, a member per seat kind, and keys that work", async () => {
    const base = server?.base ?? "";
    expect(seeded.plan.id).toBe("free");
    expect(seeded.people.map((p) => p.seat)).toEqual(["editor", "viewer"]);
    const catalog = await expectApi<{ plan: { id: string }; included: { id: string }[] }>(
      200,
      base,
      "GET",
      "/v1/catalog",
      seeded.finance,
    );
    expect(catalog.plan.id).toBe("free");
    expect(catalog.included.map((a) => a.id)).toEqual(["geo.lookup"]);
    for (const person of seeded.people) {
      await expectApi(200, base, "GET", "/v1/balance", person.key);
    }
    await expectApi(200, base, "GET", "/v1/teams", seeded.admin);
  });

  it("prints a curl line for the file's first action, and none of the demo's", () => {
    expect(banner).toMatch(/geo\.lookup/);
    expect(banner).toMatch(
      /curl -i -X POST '[^']+\/v1\/geo\/lookup' .* -d '\{"points":\[\{\}\]\}'/,
    );
    expect(banner).not.toMatch(/enrichment|prospecting/);
  });

  it("quotes the first action at the file's price", async () => {
    const base = server?.base ?? "";
    const editor = seeded.people.find((p) => p.seat === "editor")?.key ?? "";
    // A dry run: https://api.alt.test does not resolve here, and the quote is the file's price.
    const res = await fetch(`${base}/v1/geo/lookup`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${editor}`,
        "content-type": "application/json",
        "x-credit-dry-run": "true",
      },
      body: JSON.stringify({
        points: [
          [0, 0],
          [1, 1],
        ],
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-credits-quote")).toBe("6");
  });
});
