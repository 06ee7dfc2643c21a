/**
 * Bundles the dashboard's browser code (src/dashboard/client, with uPlot and its CSS) into
 * dist/assets/dashboard/app.{js,css}: the worker's static assets, served by the worker itself
 * under /dashboard. Run by wrangler before `dev` and `deploy` ([build] in wrangler.toml) and
 * by vitest.config.ts before the tests. Build output is never committed.
 *
 * Standalone: node scripts/build-dashboard.mjs
 */
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildSync } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DASHBOARD_ASSETS = path.join(root, "dist", "assets");

export function buildDashboard() {
  buildSync({
    entryPoints: { app: path.join(root, "src", "dashboard", "client", "main.ts") },
    outdir: path.join(DASHBOARD_ASSETS, "dashboard"),
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    platform: "browser",
    sourcemap: false,
    legalComments: "eof",
    logLevel: "warning",
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildDashboard();
  console.log(`dashboard built into ${path.relative(root, DASHBOARD_ASSETS)}/dashboard`);
}
