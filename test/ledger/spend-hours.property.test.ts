/**
 * The spend per clock hour that spike and forecast alerts read every capture: the in-memory
 * buckets must always say what the `spend_hours` table says, whenever the cache was dropped and
 * read again, and whichever way the clock moves. Checked against a plain model of every capture.
 */
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../../src/ledger/object";
import { SpendHours } from "../../src/ledger/store/spend-hours";
import { ledger, uniqueAccountId } from "../support/api";

const HOUR = 3_600_000;
const T0 = Date.parse("2027-03-10T00:00:00Z");

type Op =
  | { kind: "add"; at: number; credits: number }
  | { kind: "drop" }
  | { kind: "look"; at: number };

/** Times over twelve days, so buckets fall in and out of the seven-day window both ways. */
const at = fc.integer({ min: 0, max: 12 * 24 * HOUR }).map((ms) => T0 + ms);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      at,
      credits: fc.integer({ min: 1, max: 500 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "drop" as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("look" as const), at }) },
);

/** What the alerts should see at `now`, from every capture so far. */
function expected(adds: { at: number; credits: number }[], now: number) {
  const hour = Math.floor(now / HOUR);
  const inHour = (h: number) =>
    adds.filter((a) => Math.floor(a.at / HOUR) === h).reduce((n, a) => n + a.credits, 0);
  const into = (now - hour * HOUR) / HOUR;
  let before = inHour(hour - 1) * into;
  for (let h = hour - 25; h <= hour - 2; h++) before += inHour(h);
  let last7 = 0;
  for (let h = Math.floor((now - 7 * 24 * HOUR) / HOUR); h <= hour; h++) last7 += inHour(h);
  const first = Math.min(...adds.map((a) => Math.floor(a.at / HOUR)));
  return {
    recent: {
      lastHour: Math.round(inHour(hour) + inHour(hour - 1) * (1 - into)),
      before: Math.round(before),
      fullDay: adds.length > 0 && first <= hour - 24,
    },
    last7,
  };
}

describe("spend per hour", () => {
  it("reads the same from memory as the table holds, across cache drops and clock moves", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), async (ops) => {
        await runInDurableObject(ledger(uniqueAccountId("hours")), (_: AccountLedger, state) => {
          const sql = state.storage.sql;
          let hours = new SpendHours(sql);
          const adds: { at: number; credits: number }[] = [];
          for (const op of ops) {
            if (op.kind === "add") {
              hours.add(op.at, op.credits);
              adds.push(op);
            } else if (op.kind === "drop") {
              hours = new SpendHours(sql);
            } else {
              const want = expected(adds, op.at);
              expect(hours.recent(op.at)).toEqual(want.recent);
              expect(hours.last7Days(op.at)).toBe(want.last7);
            }
          }
          const table = sql
            .exec<{ hour: number; captured: number }>("SELECT hour, captured FROM spend_hours")
            .toArray();
          const total = table.reduce((n, r) => n + r.captured, 0);
          expect(total).toBe(adds.reduce((n, a) => n + a.credits, 0));
        });
      }),
      { numRuns: 40 },
    );
  });
});
