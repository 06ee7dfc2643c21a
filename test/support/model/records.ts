/**
 * Each record enriched once (issue 16), as the model reads it: a call of an action with dedupe
 * is charged only for the records whose key is neither enriched within the group's window nor
 * taken by a call in flight, each distinct key once; records without a key are charged as
 * before. A key is taken at admission, enriched when its hold is captured (at the capture's
 * time) and given back as it was when the hold is voided or expires.
 *
 * Written from the rules, not from src/ledger/store/dedupe.ts or src/lib/records.ts: the keys
 * here are the normalized strings themselves (the ledger stores hashes; the simulation maps).
 */
import type { Price } from "../../../src/config/schema";
import type { MDedupe, MRecordsRequest, MSkip } from "./types";

/**
 * A record key as one record: trimmed and lowercased; a leading `www.` is dropped when the value
 * has no `@` (a domain or an id, not an email). Empty after that: no key.
 */
export function normalizeKey(raw: string | null): string | null {
  if (raw === null) return null;
  let key = raw.trim().toLowerCase();
  if (!key.includes("@") && key.startsWith("www.")) key = key.slice("www.".length);
  return key === "" ? null : key;
}

/** Credits for `units` of a per-unit price (ceil(units / per) blocks); a flat price as is. */
export function priceOf(price: Price, units: number): number {
  if (!("unit" in price)) return price.credits;
  return Math.ceil(units / price.per) * price.credits;
}

/** One key of a group: when it was last enriched (null: never), and the call holding it. */
export interface MRecord {
  enrichedAt: number | null;
  /** The request whose hold took the key, while that hold is in flight. */
  holder: string | null;
}

/** What the call charges once dedupe has decided, and the keys its hold takes. */
export interface RecordsDecision {
  units: number;
  credits: number;
  dedupe: MDedupe;
  /** The distinct keys charged, in the order they first appear in the call. */
  fresh: string[];
}

/** The account's enriched records: per group, per normalized key. */
export class EnrichedRecords {
  readonly groups = new Map<string, Map<string, MRecord>>();

  private group(name: string): Map<string, MRecord> {
    let g = this.groups.get(name);
    if (!g) {
      g = new Map();
      this.groups.set(name, g);
    }
    return g;
  }

  /** A key's standing now: taken by a call in flight, enriched within the window, or free. */
  standing(
    group: string,
    key: string,
    windowMs: number,
    now: number,
  ): { kind: "in_flight"; holder: string } | { kind: "enriched"; at: number } | { kind: "free" } {
    const r = this.groups.get(group)?.get(key);
    if (!r) return { kind: "free" };
    if (r.holder !== null) return { kind: "in_flight", holder: r.holder };
    // Within the window: enriched less than windowMs ago; at windowMs it is charged again.
    if (r.enrichedAt !== null && now - r.enrichedAt < windowMs)
      return { kind: "enriched", at: r.enrichedAt };
    return { kind: "free" };
  }

  /** What a call of `records.values` costs at `price` now; reads only. */
  decide(req: MRecordsRequest, price: Price, now: number): RecordsDecision {
    const firstIndex = new Map<string, number>();
    const skips: MSkip[] = [];
    const fresh: string[] = [];
    let unkeyed = 0;
    req.values.forEach((value, index) => {
      const key = normalizeKey(value);
      if (key === null) {
        unkeyed += 1;
        return;
      }
      const first = firstIndex.get(key);
      if (first !== undefined) {
        skips.push({ index, reason: "repeated", firstIndex: first });
        return;
      }
      firstIndex.set(key, index);
      const s = this.standing(req.group, key, req.windowMs, now);
      if (s.kind === "in_flight") skips.push({ index, reason: "in_flight" });
      else if (s.kind === "enriched") skips.push({ index, reason: "enriched", enrichedAt: s.at });
      else fresh.push(key);
    });
    const units = unkeyed + fresh.length;
    const credits = priceOf(price, units);
    return {
      units,
      credits,
      fresh,
      dedupe: {
        charged: units,
        skipped: skips.length,
        saved: priceOf(price, req.values.length) - credits,
        skips,
      },
    };
  }

  /** Admission: the hold of `requestId` takes `keys`; a call meeting them now skips them. */
  take(group: string, keys: readonly string[], requestId: string) {
    const g = this.group(group);
    for (const key of keys) {
      const r = g.get(key);
      if (r?.holder) throw new Error(`model: ${key} taken twice (${r.holder}, ${requestId})`);
      g.set(key, { enrichedAt: r?.enrichedAt ?? null, holder: requestId });
    }
  }

  /** Capture: the keys are enriched now, for the window. */
  enrich(group: string, keys: readonly string[], requestId: string, now: number) {
    const g = this.group(group);
    for (const key of keys) {
      const r = g.get(key);
      if (r?.holder !== requestId) throw new Error(`model: ${requestId} captures ${key} it lacks`);
      g.set(key, { enrichedAt: now, holder: null });
    }
  }

  /** Void or expiry: the keys go back as they were before the hold took them. */
  giveBack(group: string, keys: readonly string[], requestId: string) {
    const g = this.group(group);
    for (const key of keys) {
      const r = g.get(key);
      if (r?.holder !== requestId)
        throw new Error(`model: ${requestId} gives back ${key} it lacks`);
      if (r.enrichedAt === null) g.delete(key);
      else g.set(key, { enrichedAt: r.enrichedAt, holder: null });
    }
  }
}
