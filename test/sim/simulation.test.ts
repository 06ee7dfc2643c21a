/**
 * Issue 4: the deterministic simulation. Each seed drives one account through random calls,
 * retries, rule and grant changes, time, alarms and faults against the real worker and ledger,
 * and checks I1-I5 after every step, and dedupe (issue 16: no record key charged twice within
 * its window, keys given back by voided and expired holds, credits = records charged x price).
 * `npm test` runs a short fixed budget; `npm run simulate --
 * --seeds N [--steps M] [--seed S]` runs more (scripts/simulate.mjs sets SIM_* for this file).
 */
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { add, Sim, type Tally } from "./driver";
import { nextOperation } from "./operations";

const DEFAULT_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
const DEFAULT_STEPS = 150;

function whole(name: string, raw: string, min: number): number | null {
  if (raw === "") return null;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > 0xffffffff)
    throw new Error(`${name} must be a whole number >= ${min}, got "${raw}"`);
  return n;
}

/** Seeds and steps: the fixed budget, one seed to replay, or N seeds from S (or from a random start). */
function budget(): { seeds: number[]; steps: number } {
  const steps = whole("SIM_STEPS", env.SIM_STEPS, 1) ?? DEFAULT_STEPS;
  const seed = whole("SIM_SEED", env.SIM_SEED, 0);
  const count = whole("SIM_SEEDS", env.SIM_SEEDS, 1);
  if (count === null) return { seeds: seed === null ? DEFAULT_SEEDS : [seed], steps };
  const start = seed ?? Math.floor(Math.random() * 2 ** 31);
  return { seeds: Array.from({ length: count }, (_, i) => (start + i) >>> 0), steps };
}

const { seeds, steps } = budget();
const totals = { seeds: 0, failed: 0, steps: 0, ms: 0, ops: {} as Tally, faults: {} as Tally };
const decisions: Tally = {};

const list = (t: Tally) =>
  Object.entries(t)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");

/** The closing line of a run: seeds, steps, operations and faults by kind, how calls went. */
function summary(): string {
  const range = seeds.length > 1 ? `${seeds[0]}..${seeds[seeds.length - 1]}` : String(seeds[0]);
  return [
    `simulation: ${totals.seeds} seed(s) (${range}, ${totals.failed} failed), ${totals.steps} steps`,
    ` (${steps} per seed) in ${(totals.ms / 1000).toFixed(1)} s; ops ${list(totals.ops)};`,
    ` faults ${list(totals.faults)}; call decisions ${list(decisions)}`,
  ].join("");
}

describe("deterministic simulation (I1-I5 after every step)", () => {
  seeds.forEach((seed, index) => {
    it(`holds I1-I5 for seed ${seed} over ${steps} steps`, {
      timeout: 30_000 + steps * 400,
    }, async ({ annotate }) => {
      const started = Date.now();
      const sim = new Sim(seed);
      let passed = false;
      try {
        await sim.setup();
        await sim.run(steps, nextOperation);
        passed = true;
      } finally {
        if (sim.d1Down) await sim.setD1(false);
        totals.seeds += 1;
        totals.failed += passed ? 0 : 1;
        totals.steps += Math.min(sim.step, steps);
        totals.ms += Date.now() - started;
        for (const [k, v] of Object.entries(sim.ops)) add(totals.ops, k, v);
        for (const [k, v] of Object.entries(sim.faults)) add(totals.faults, k, v);
        for (const [k, v] of Object.entries(sim.decisions)) add(decisions, k, v);
        await annotate(`seed ${seed}: ops ${list(sim.ops)}; faults ${list(sim.faults)}`);
        if (index === seeds.length - 1) {
          console.log(summary());
          await annotate(summary(), "summary");
        }
      }
    });
  });
});
