/**
 * The actions the simulation calls, one per settlement mode, price shape, plan and seat of the
 * test catalog. Their terms (settlement, plan, seat, category, declared price) are read from the
 * catalog itself, so the simulation follows it; the credits are computed here, independently of
 * src/catalog/price.ts, so that a pricing bug shows up as a model disagreement.
 */
import type { Price } from "../../src/config/schema";
import type { Category, PlanId, Seat, Settlement } from "../../src/ledger/contract";
import { testCatalog } from "../support/test-catalog";

/** How a request of the action is written: path (with query) and body for a unit count. */
interface Shape {
  id: string;
  method: "GET" | "POST";
  /** Units the driver may ask for (request-priced actions); metered ones hold their maximum. */
  units: [min: number, max: number];
  request(units: number, variant: number): { path: string; body: string | null };
  /** Path params, as the gateway's route match reports them (part of the idempotency fingerprint). */
  params?: Record<string, string>;
}

export interface SimAction extends Shape {
  category: Category;
  /** The plans that include it, from the test configuration. */
  plans: readonly PlanId[];
  seat: Seat | null;
  settlement: Settlement;
  timeoutMs: number;
  price: { credits: number; per: number; maxUnits: number | null; metered: boolean };
  /** The price as the configuration declares it: what the gateway hands the ledger to record. */
  declared: Price;
  /** Each record enriched once (issue 16): the key field, the group and its window; or null. */
  dedupe: { key: string; group: string; windowMs: number } | null;
}

const DAY_MS = 86_400_000;

/** The body of an action without dedupe (the records of one with dedupe: requests.ts). */
const records = (n: number, variant: number) =>
  JSON.stringify({
    records: Array.from({ length: n }, (_, i) => ({ domain: `d${variant}-${i}.example` })),
  });

const SHAPES: Shape[] = [
  {
    id: "test.one",
    method: "POST",
    units: [1, 1],
    request: (_, v) => ({ path: "/v1/test/one", body: records(1, v) }),
  },
  {
    id: "test.drain",
    method: "POST",
    // Large enough to drain a starter account in a few calls: balance and overage edges.
    units: [1, 800],
    request: (n, v) => ({ path: `/v1/test/drain?credits=${n}`, body: records(1, v) }),
  },
  {
    id: "test.slow",
    method: "POST",
    units: [1, 1],
    request: (_, v) => ({ path: "/v1/test/slow", body: records(1, v) }),
  },
  {
    id: "test.metered",
    method: "POST",
    units: [50, 50],
    request: (_, v) => ({ path: "/v1/test/metered", body: records(1, v) }),
  },
  {
    id: "test.refused",
    method: "POST",
    units: [1, 1],
    request: (_, v) => ({ path: "/v1/test/refused", body: records(1, v) }),
  },
  {
    id: "enrichment.company",
    method: "POST",
    units: [1, 6],
    request: (n, v) => ({ path: "/v1/enrichment/companies", body: records(n, v) }),
  },
  {
    id: "enrichment.contact",
    method: "POST",
    units: [1, 6],
    request: (n, v) => ({ path: "/v1/enrichment/contacts", body: records(n, v) }),
  },
  {
    id: "record_refresh.company",
    method: "POST",
    units: [1, 6],
    request: (n, v) => ({ path: "/v1/records/companies/refresh", body: records(n, v) }),
  },
  {
    id: "prospecting.intent",
    method: "GET",
    units: [1, 5],
    request: (n) => ({ path: `/v1/prospecting/intent?limit=${n}`, body: null }),
  },
  {
    id: "ai.generate",
    method: "POST",
    units: [4000, 4000],
    request: (_, v) => ({ path: "/v1/ai/generate", body: JSON.stringify({ prompt: `p${v}` }) }),
  },
  {
    id: "ai.agent_conversation",
    method: "POST",
    units: [1, 1],
    params: { agentId: "a1" },
    request: (_, v) => ({ path: "/v1/ai/agents/a1/conversations", body: JSON.stringify({ v }) }),
  },
  {
    id: "insights.smart_property",
    method: "POST",
    units: [1, 1],
    params: { propertyId: "p1" },
    request: (_, v) => ({
      path: "/v1/insights/smart-properties/p1/query",
      body: JSON.stringify({ v }),
    }),
  },
];

function fromCatalog(shape: Shape): SimAction {
  const action = testCatalog.action(shape.id);
  if (!action) throw new Error(`the test catalog has no action ${shape.id}`);
  const p = action.price;
  const perUnit = "unit" in p;
  return {
    ...shape,
    category: action.category,
    plans: testCatalog.config.plansIncluding(action),
    seat: action.seat ?? null,
    settlement: action.settlement,
    timeoutMs: action.timeoutMs,
    price: {
      credits: p.credits,
      per: perUnit ? p.per : 1,
      maxUnits: perUnit ? p.maxUnits : null,
      metered: perUnit && p.unit.from === "response_header",
    },
    declared: structuredClone(p),
    dedupe: action.dedupe
      ? {
          key: action.dedupe.key,
          // An action's group is its own id unless the configuration names one.
          group: action.dedupe.group ?? action.id,
          windowMs: action.dedupe.windowDays * DAY_MS,
        }
      : null,
  };
}

/** Every action the simulation calls, with its terms from the catalog. */
export const ACTIONS: readonly SimAction[] = SHAPES.map(fromCatalog);
export const ACTION_IDS = ACTIONS.map((a) => a.id);

/** The action with id `id`; a typo in the simulation fails loudly. */
export function simAction(id: string): SimAction {
  const action = ACTIONS.find((a) => a.id === id);
  if (!action) throw new Error(`no sim action ${id}`);
  return action;
}

/** Credits for `units` of the action: flat, or ceil(units / per) blocks. */
export function creditsOf(action: SimAction, units: number): number {
  if (action.price.maxUnits === null) return action.price.credits;
  return Math.ceil(units / action.price.per) * action.price.credits;
}

/** Credits held at admission: the price, or for metered actions the declared maximum. */
export function holdOf(action: SimAction, units: number): number {
  return creditsOf(action, action.price.metered ? (action.price.maxUnits ?? units) : units);
}

/** The unit count the upstream's `X-Usage-Units` reports, as SPEC §2 reads it; null if unusable. */
export function reportedUnits(header: string | null): number | null {
  if (header === null || !/^[0-9]{1,10}$/.test(header)) return null;
  const units = Number(header);
  return units <= 1_000_000_000 ? units : null;
}

/** The window of each dedupe group, from the actions that have one. */
export const DEDUPE_WINDOWS: ReadonlyMap<string, number> = new Map(
  ACTIONS.flatMap((a) => (a.dedupe ? [[a.dedupe.group, a.dedupe.windowMs] as const] : [])),
);

/** The actions with dedupe (issue 16). */
export const DEDUPE_ACTIONS: readonly SimAction[] = ACTIONS.filter((a) => a.dedupe !== null);
