#!/usr/bin/env node
/**
 * Runs the deterministic simulation (test/sim) with more seeds or steps than `npm test` does.
 *
 *   npm run simulate -- --seeds 100 [--steps 300] [--seed 5000]   100 seeds from 5000 (or a random start)
 *   npm run simulate -- --seed 1234 [--steps 150]                 replays one seed exactly
 *
 * The options reach the tests as SIM_SEEDS, SIM_SEED and SIM_STEPS (vitest.config.ts passes them
 * into the worker's env). Output streams as vitest writes it, minus the runtime's reports of
 * the faults the simulation injects on purpose (`--raw` keeps them); the exit code is vitest's.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const USAGE = "usage: npm run simulate -- [--seeds N] [--steps M] [--seed S] [--raw]";

/** workerd's reports of injected faults: evictions, a throwing upstream, a refused connection. */
const INJECTED_NOISE = [
  /^uncaught exception; .*(jsg\.Error: evict|chaos: upstream threw|Network connection lost\.)/,
  /^stack: (\S*workerd@\S+\s*)+$/,
  /^exception = kj\/async-io-unix\.c\+\+:\d+: disconnected: connect\(\): Connection refused$/,
  /^\s+at (respond|Object\.fetch) \(script-\d+:\d+:\d+\)$/,
];

function parseArgs(argv) {
  const options = { seeds: "", steps: "", seed: "", raw: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    if (flag === "--raw") {
      options.raw = true;
      continue;
    }
    if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    const name = flag.replace(/^--/, "");
    if (!["seeds", "steps", "seed"].includes(name) || !flag.startsWith("--")) {
      throw new Error(`unknown option ${argv[i]}`);
    }
    const value = inline ?? argv[++i];
    const min = name === "seed" ? 0 : 1;
    if (
      value === undefined ||
      !/^\d+$/.test(value) ||
      Number(value) < min ||
      Number(value) > 0xffffffff
    ) {
      throw new Error(`--${name} needs a whole number >= ${min}, got ${value ?? "nothing"}`);
    }
    options[name] = value;
  }
  return options;
}

let options;
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  console.error(`${error.message}\n${USAGE}`);
  process.exit(2);
}

const child = spawn("npx", ["vitest", "run", "test/sim", "--reporter=verbose", "--silent"], {
  stdio: ["inherit", "pipe", "pipe"],
  env: {
    ...process.env,
    SIM_SEEDS: options.seeds,
    SIM_SEED: options.seed,
    SIM_STEPS: options.steps,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  },
});

for (const [from, to] of [
  [child.stdout, process.stdout],
  [child.stderr, process.stderr],
]) {
  createInterface({ input: from, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
    if (options.raw || !INJECTED_NOISE.some((noise) => noise.test(line))) to.write(`${line}\n`);
  });
}

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("close", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
