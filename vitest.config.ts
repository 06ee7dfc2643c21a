import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { buildSync } from "esbuild";
import { defineConfig } from "vitest/config";

/** Auxiliary workers are not built by Vite: bundle their TypeScript to one ES module. */
function bundle(entry: string): string {
  const out = buildSync({
    entryPoints: [path.join(import.meta.dirname, entry)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*", "node:*"],
    write: false,
  });
  const file = out.outputFiles[0];
  if (!file) throw new Error(`esbuild produced nothing for ${entry}`);
  return file.text;
}

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest({
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            OPERATOR_TOKEN: "test-operator-token",
            DEMO_UPSTREAM_TOKEN: "test-upstream-secret",
            OUTBOX_FLUSH_DELAY_MS: "60000",
          },
          workers: [
            {
              // The demo feature service behind a "chaos" front that tests steer with headers.
              name: "creditgate-demo-upstream",
              modules: true,
              compatibilityDate: "2026-04-01",
              script: bundle("test/support/chaos-upstream.ts"),
            },
          ],
        },
      }),
    ],
    test: {
      setupFiles: ["./test/apply-migrations.ts"],
      // The gateway logs a JSON line per request; show logs only for failing tests.
      silent: "passed-only",
    },
  };
});
