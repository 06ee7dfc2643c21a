/**
 * `npm start`: the gateway and the demo feature service under one `wrangler dev`, with local D1
 * migrated and the demo account seeded, then a banner with keys and curl lines that work.
 *
 *   PORT=8787 (default) npm start [-- extra wrangler dev flags, e.g. --inspector-port 9239]
 *
 * Stays in the foreground; Ctrl-C (SIGINT) or SIGTERM stops wrangler and exits.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { configBanner, seedConfig } from "./seed-config.mjs";
import { banner, seedDemo } from "./seed-demo.mjs";

const startedAt = Date.now();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT || 8787);
const baseUrl = `http://127.0.0.1:${port}`;
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;
const wranglerCli = path.join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const wranglerEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

function fail(message) {
  console.error(`\nnpm start: ${message}`);
  process.exit(1);
}

/** KEY=VALUE lines; blank lines and `#` comments ignored, surrounding quotes stripped. */
function parseVars(text) {
  const vars = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const eq = line.indexOf("=");
    if (line === "" || line.startsWith("#") || eq < 1) continue;
    vars[line.slice(0, eq).trim()] = line
      .slice(eq + 1)
      .trim()
      .replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

/** Reads .dev.vars, creating it from .dev.vars.example with fresh random tokens if missing. */
function devVars() {
  const file = path.join(root, ".dev.vars");
  if (!existsSync(file)) {
    const example = readFileSync(path.join(root, ".dev.vars.example"), "utf8");
    const secret = () => randomBytes(32).toString("base64url");
    const text = example.replace(
      /^(OPERATOR_TOKEN|DEMO_UPSTREAM_TOKEN)=.*$/gm,
      (_, name) => `${name}=${secret()}`,
    );
    writeFileSync(file, text, { mode: 0o600 });
    console.log(`Created ${file} with fresh random OPERATOR_TOKEN and DEMO_UPSTREAM_TOKEN.`);
  }
  const vars = parseVars(readFileSync(file, "utf8"));
  if (!vars.OPERATOR_TOKEN) fail(`${file} has no OPERATOR_TOKEN.`);
  return { file, operatorToken: vars.OPERATOR_TOKEN };
}

/** True when something answers HTTP at the base URL. */
async function answers() {
  try {
    await fetch(baseUrl, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

/** The configuration file selected, when it is not the demo's (CREDITGATE_CONFIG). */
const ownConfig = (() => {
  const chosen = process.env.CREDITGATE_CONFIG;
  if (!chosen) return null;
  const file = path.resolve(root, chosen);
  return file === path.join(root, "creditgate.config.json") ? null : file;
})();

const { file: varsFile, operatorToken } = devVars();

if (!existsSync(wranglerCli)) fail("wrangler is not installed: run `npm install` first.");
if (!Number.isInteger(port) || port < 1 || port > 65535) fail("PORT must be a port number.");
if (await answers()) fail(`something already answers on ${baseUrl}; stop it or set PORT.`);

// The configuration (CREDITGATE_CONFIG, default creditgate.config.json) is valid, and every
// secret its upstreams' credentials name is set: said now, in one error, not by the first call.
const check = spawnSync(
  process.execPath,
  ["--import", "tsx", path.join(root, "scripts", "config-check.ts"), "--quiet"].concat([
    "--secrets-from",
    varsFile,
  ]),
  { cwd: root, stdio: ["ignore", "inherit", "inherit"] },
);
if (check.status !== 0) fail("the configuration cannot be used as it is (see above).");

console.log("Applying local D1 migrations...");
const migrate = spawnSync(
  process.execPath,
  [wranglerCli, "d1", "migrations", "apply", "DB", "--local", "-c", "wrangler.toml"],
  { cwd: root, env: { ...wranglerEnv, CI: "true" }, stdio: ["ignore", "inherit", "inherit"] },
);
if (migrate.status !== 0) fail(`applying the D1 migrations failed (exit ${migrate.status}).`);

console.log(`Starting wrangler dev on ${baseUrl}...`);
const devArgs = ["-c", "wrangler.toml", "-c", "demo/upstream/wrangler.toml"];
const child = spawn(
  process.execPath,
  [wranglerCli, "dev", ...devArgs, "--ip", "127.0.0.1", "--port", String(port)]
    // The demo account's weeks of history are laid through an operator route that only a
    // gateway run with this var answers (see src/api/admin/demo.ts).
    .concat(["--var", "DEMO_HISTORY:true"])
    .concat(process.argv.slice(2)),
  { cwd: root, env: wranglerEnv, stdio: ["ignore", "inherit", "inherit"] },
);

let stopping = false;
let exitCode = 0;
child.on("exit", (code, signal) => {
  if (stopping) process.exit(exitCode);
  console.error(`\nnpm start: wrangler dev exited (${signal ?? `code ${code}`}).`);
  process.exit(code ?? 1);
});

/** SIGTERM to the wrangler process we spawned (it stops its workerd children), then wait. */
function stop(reason, code = 0) {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  console.log(`\n${reason}: stopping wrangler dev (pid ${child.pid})...`);
  child.kill("SIGTERM");
  setTimeout(() => {
    console.error(`wrangler dev did not stop in ${STOP_TIMEOUT_MS / 1000} s; killing it.`);
    child.kill("SIGKILL");
  }, STOP_TIMEOUT_MS).unref();
}
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
// `npm start` runs us under `sh -c`, which dies on SIGTERM without passing it on: if our parent
// goes away, stop too rather than leave wrangler running with nobody to stop it.
const parentPid = process.ppid;
setInterval(() => process.ppid !== parentPid && stop("Parent process exited"), 1000).unref();

const deadline = Date.now() + READY_TIMEOUT_MS;
while (!stopping && !(await answers())) {
  if (Date.now() > deadline) {
    console.error(`\nnpm start: ${baseUrl} did not answer within ${READY_TIMEOUT_MS / 1000} s.`);
    stop("Timed out", 1);
  }
  await new Promise((resolve) => setTimeout(resolve, 250));
}

// Once stopping, the child's exit handler ends the process.
if (!stopping) {
  try {
    if (ownConfig) {
      // Another platform's configuration: a starting account from what its file says.
      const config = JSON.parse(readFileSync(ownConfig, "utf8"));
      config.source = path.relative(root, ownConfig) || ownConfig;
      const seeded = await seedConfig(baseUrl, operatorToken, config);
      console.log(configBanner(baseUrl, config, seeded));
    } else {
      const demo = await seedDemo(baseUrl, operatorToken, { history: true });
      console.log(banner(demo));
    }
    console.log(` Operator token: in ${varsFile}`);
    console.log(` Ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s. Ctrl-C to stop.\n`);
  } catch (error) {
    console.error(`\nnpm start: seeding the demo account failed: ${error.message}`);
    stop("Seeding failed", 1);
  }
}
