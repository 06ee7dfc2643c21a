import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { buildSync } from "esbuild";
import { configDefaults, defineConfig } from "vitest/config";

/** Tests that run in plain Node (project `node`), not in workerd. */
const NODE_TESTS = "test/**/*.node.test.ts";

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

/** An auxiliary worker of a test pool, bundled from TypeScript. */
function auxWorker(name: string, entry: string) {
  return { name, modules: true, compatibilityDate: "2026-04-01", script: bundle(entry) };
}

/**
 * The configuration the worker under test is built with: the demo's, whatever CREDITGATE_CONFIG
 * says (the suite checks the demo's behaviour). In the worker it is `creditgate:config`.
 */
const DEMO_CONFIG = path.join(import.meta.dirname, "creditgate.config.json");
const withDemoConfig = { alias: { "creditgate:config": DEMO_CONFIG } };
/** The second configuration of the suite (test/alt): nothing in common with the demo's. */
const ALT_CONFIG = path.join(import.meta.dirname, "test", "alt", "alt.config.json");

export default defineConfig(async () => {
  // The worker's static assets (the dashboard's script and styles) must exist before it loads.
  // @ts-expect-error: a plain .mjs build script, without types
  const { buildDashboard } = await import("./scripts/build-dashboard.mjs");
  buildDashboard();
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  /** A workerd pool running the gateway built with `config`; what every pool binds, plus `more`. */
  const gatewayPool = (
    config: string,
    more: {
      bindings: Record<string, string>;
      outboundService: string;
      serviceBindings?: Record<string, string>;
      workers: ReturnType<typeof auxWorker>[];
    },
  ) => ({
    resolve: { alias: { "creditgate:config": config } },
    plugins: [
      cloudflareTest({
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          ...more,
          bindings: {
            TEST_MIGRATIONS: migrations,
            OPERATOR_TOKEN: "test-operator-token",
            OUTBOX_FLUSH_DELAY_MS: "60000",
            // A log line for every request, routine calls too (wrangler.toml samples 1 in 100):
            // tests read them. test/proxy/log-sampling.test.ts passes other shares itself.
            REQUEST_LOG_SAMPLE: "1",
            ...more.bindings,
          },
        },
      }),
    ],
  });
  return {
    test: {
      // The gateway logs a JSON line per request; show logs only for failing tests. (A root
      // option: projects cannot set it.)
      silent: "passed-only",
      projects: [
        {
          // Everything but test/e2e, inside workerd.
          ...gatewayPool(DEMO_CONFIG, {
            bindings: {
              DEMO_UPSTREAM_TOKEN: "test-upstream-secret",
              // The demo's history route (test/demo); a production gateway leaves it unset.
              DEMO_HISTORY: "true",
              // The deterministic simulation (test/sim): `npm run simulate -- --seeds N` sets these.
              SIM_SEEDS: process.env.SIM_SEEDS ?? "",
              SIM_SEED: process.env.SIM_SEED ?? "",
              SIM_STEPS: process.env.SIM_STEPS ?? "",
            },
            // Outbound fetches (webhook deliveries) go through the test receiver, which
            // passes everything not addressed to https://hooks.test on to the network.
            outboundService: "webhook-receiver",
            serviceBindings: { WEBHOOK_RECEIVER: "webhook-receiver" },
            workers: [
              auxWorker("webhook-receiver", "test/support/webhook-receiver.ts"),
              // The demo feature service behind a "chaos" front that tests steer with headers.
              auxWorker("creditgate-demo-upstream", "test/support/chaos-upstream.ts"),
            ],
          }),
          test: {
            name: "workers",
            exclude: [...configDefaults.exclude, "test/e2e/**", "test/alt/**", NODE_TESTS],
            setupFiles: ["./test/apply-migrations.ts"],
          },
        },
        {
          // test/alt: the same worker built with a configuration that shares nothing with the
          // demo's (test/alt/alt.config.json), its upstream reached by URL with an API key.
          ...gatewayPool(ALT_CONFIG, {
            bindings: { ALT_API_KEY: "alt-test-key" },
            // https://api.alt.test is the alt upstream; it passes anything else on.
            outboundService: "alt-upstream",
            workers: [
              auxWorker("alt-upstream", "test/alt/upstream.ts"),
              // wrangler.toml binds the demo's service; this configuration never calls it.
              auxWorker("creditgate-demo-upstream", "test/support/chaos-upstream.ts"),
            ],
          }),
          test: {
            name: "alt",
            include: ["test/alt/**/*.test.ts"],
            setupFiles: ["./test/apply-migrations.ts"],
          },
        },
        {
          // Plain Node for what needs Node's tools, e.g. the API document under the Redocly CLI.
          resolve: withDemoConfig,
          test: { name: "node", include: [NODE_TESTS], environment: "node" },
        },
        {
          // test/e2e: plain Node driving real `wrangler dev` servers (see test/e2e/support).
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            environment: "node",
            pool: "forks",
            globalSetup: ["./test/e2e/support/global-setup.ts"],
            testTimeout: 120_000,
            hookTimeout: 120_000,
            // After the workers project: both cores are busy while it runs, and these tests
            // time real servers. One file at a time, for the same reason (and free ports).
            sequence: { groupOrder: 1 },
            fileParallelism: false,
          },
        },
      ],
    },
  };
});
