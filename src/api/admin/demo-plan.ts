/**
 * The calls of a demo history: a few weeks of a small sales-and-marketing account, laid out
 * the way such teams work. Weekdays are busy in office hours and weekends quiet; the last week
 * runs a little hotter than the ones before, so the forecast has a trend to show. Each member
 * key gets a profile in turn: the first works like a sales rep (enrichment, buyer intent,
 * refreshes), the second like marketing (AI generation, contact enrichment), and so on. A
 * profile also tries now and then what its seat or plan does not include, so the history has
 * denials with real reasons. Pure and seeded: the same input gives the same calls.
 */
import { type Action, type Catalog, creditsFor, termsOf } from "../../catalog";
import { priceAt } from "../../config/price";
import type { HistoryCall } from "../../ledger/contract";
import { DAY_MS, HOUR_MS } from "../../lib/time";

interface Pick {
  action: string;
  weight: number;
  /** The unit count of one call: records, companies or reported tokens. */
  units: [min: number, max: number];
}

const PROFILES: { callsPerWeekday: [number, number]; picks: Pick[] }[] = [
  {
    callsPerWeekday: [3, 5],
    picks: [
      { action: "enrichment.company", weight: 4, units: [1, 4] },
      { action: "enrichment.contact", weight: 3, units: [1, 3] },
      { action: "prospecting.intent", weight: 2, units: [1, 3] },
      { action: "record_refresh.company", weight: 2, units: [1, 4] },
      { action: "insights.smart_property", weight: 0.3, units: [1, 1] },
    ],
  },
  {
    callsPerWeekday: [3, 6],
    picks: [
      { action: "ai.generate", weight: 5, units: [200, 1800] },
      { action: "enrichment.contact", weight: 2, units: [1, 2] },
      { action: "prospecting.intent", weight: 0.4, units: [1, 2] },
      { action: "ai.agent_conversation", weight: 0.3, units: [1, 1] },
    ],
  },
];

/** mulberry32: a small, well-known seeded generator (demo data need not be unpredictable). */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface PlanInput {
  catalog: Catalog;
  /** SHA-256 of each member key, in profile order. */
  keyHashes: readonly string[];
  /** The history covers [from, to). */
  from: number;
  to: number;
  seed: number;
}

/** The calls, oldest first. */
export function planHistory(input: PlanInput): HistoryCall[] {
  const random = generator(input.seed);
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const calls: HistoryCall[] = [];
  const hotFrom = input.to - 7 * DAY_MS;
  for (let day = Math.floor(input.from / DAY_MS) * DAY_MS; day < input.to; day += DAY_MS) {
    const weekday = new Date(day).getUTCDay() % 6 !== 0;
    input.keyHashes.forEach((keyHash, i) => {
      const profile = PROFILES[i % PROFILES.length];
      if (!profile) return;
      const picks = profile.picks.flatMap((p) => {
        const action = input.catalog.action(p.action);
        return action ? [{ ...p, action }] : [];
      });
      if (picks.length === 0) return;
      let count = weekday ? between(...profile.callsPerWeekday) : between(0, 2);
      if (day >= hotFrom) count = Math.round(count * 1.3);
      for (let n = 0; n < count; n++) {
        // Office hours, 08:00 to 18:00 UTC.
        const at = day + 8 * HOUR_MS + Math.floor(random() * 10 * HOUR_MS);
        if (at < input.from) continue;
        const pick = weighted(picks, random());
        const durationMs = between(80, 900);
        // Settled before `to` too: no event of the history lies in the future.
        if (at + durationMs >= input.to) continue;
        const units = between(...pick.units);
        calls.push(callOf(input.catalog, pick.action, units, keyHash, at, durationMs));
      }
    });
  }
  return calls.sort((a, b) => a.at - b.at);
}

function weighted<T extends { weight: number }>(items: readonly T[], r: number): T {
  const total = items.reduce((n, i) => n + i.weight, 0);
  let left = r * total;
  for (const item of items) {
    left -= item.weight;
    if (left < 0) return item;
  }
  return items[items.length - 1] as T;
}

function callOf(
  catalog: Catalog,
  action: Action,
  units: number,
  keyHash: string,
  at: number,
  durationMs: number,
): HistoryCall {
  // The price in force at the call's time; a metered call holds its declared maximum and
  // captures what the upstream reports.
  const price = priceAt(action, at);
  const metered = "unit" in price && price.unit.from === "response_header";
  const held = metered && "unit" in price ? price.maxUnits : units;
  return {
    at,
    admit: {
      keyHash,
      requestId: crypto.randomUUID(),
      action: termsOf(catalog.config, action, price, held),
      purpose: null,
      idempotency: null,
      dryRun: false,
    },
    credits: creditsFor(price, units),
    units,
    durationMs,
  };
}
