/**
 * The real books against the model's, after every step: the period, every grant's buckets,
 * the holds and what they took from which grant, the spend counters, the idempotency keys, and
 * every usage event with where it is (outbox, D1). Any difference fails the seed.
 */

import type { LedgerModel } from "../support/model/ledger";
import type { MEventRecords } from "../support/model/types";
import { DEDUPE_WINDOWS } from "./actions";
import { fail, iso, keysOf, show } from "./checks";
import type { RealEvent, RealState } from "./state";

/** Fails with the lines only one side has (a few of each), or passes if both sides agree. */
function sameLines(label: string, what: string, real: string[], model: string[]) {
  const count = new Map<string, number>();
  for (const line of real) count.set(line, (count.get(line) ?? 0) + 1);
  for (const line of model) count.set(line, (count.get(line) ?? 0) - 1);
  const extra = [...count].filter(([, n]) => n > 0).map(([line]) => line);
  const missing = [...count].filter(([, n]) => n < 0).map(([line]) => line);
  if (extra.length === 0 && missing.length === 0) return;
  const few = (list: string[]) => list.slice(0, 4).join(" | ") || "none";
  fail(label, `${what}: only in the ledger: ${few(extra)}; only in the model: ${few(missing)}`);
}

/** Rows as comparable text lines, in a stable order. */
const lines = (rows: unknown[][]) => rows.map((r) => show(r)).sort();

/**
 * Fails on the first part of the books where ledger and model differ. `now` is the simulated
 * time (what is enriched depends on it); `hashOf` gives a normalized record key's stored hash.
 */
export function checkAgainstModel(
  real: RealState,
  model: LedgerModel,
  now: number,
  hashOf: (key: string) => string,
) {
  const { account } = real;
  sameLines(
    "model",
    "period and plan",
    lines([[account.period_start, account.period_end, account.plan]]),
    lines([[model.periodStart, model.periodEnd, model.plan]]),
  );
  // seq, source, priority, amount, remaining, held, captured, expired, expiry
  sameLines(
    "model",
    "grants",
    lines(
      real.grants.map((g) => [
        g.seq,
        g.source,
        g.priority,
        g.amount,
        g.remaining,
        g.held,
        g.captured,
        g.expired,
        g.expires_at,
      ]),
    ),
    lines(
      model.grants.map((g) => [
        g.seq,
        g.source,
        g.priority,
        g.amount,
        g.remaining,
        g.held,
        g.captured,
        g.expired,
        g.expiresAt,
      ]),
    ),
  );
  // request, amount, expiry, period, key, [grant seq, credits]...
  const seqOf = new Map(real.grants.map((g) => [g.id, g.seq]));
  sameLines(
    "model",
    "holds",
    lines(
      real.holds.map((h) => [
        h.request_id,
        h.amount,
        h.expires_at,
        h.period_start,
        h.idempotency_key,
        (JSON.parse(h.allocations) as { grantId: string; amount: number }[]).map((a) => [
          seqOf.get(a.grantId),
          a.amount,
        ]),
      ]),
    ),
    lines(
      model.holds.map((h) => [
        h.requestId,
        h.amount,
        h.expiresAt,
        h.periodStart,
        h.idemKey,
        h.allocations.map((a) => [a.seq, a.amount]),
      ]),
    ),
  );
  // period, scope, id, captured, held (rows of zeros are the same as none)
  const nonzero = (row: unknown[]) => row[3] !== 0 || row[4] !== 0;
  sameLines(
    "model",
    "spend counters",
    lines(
      real.counters
        .map((c) => [c.period_start, c.scope, c.scope_id, c.captured, c.held])
        .filter(nonzero),
    ),
    lines(
      [...model.counters]
        .map(([key, s]) => {
          const [period, scope, id] = key.split("|");
          return [Number(period), scope, id, s.captured, s.held];
        })
        .filter(nonzero),
    ),
  );
  // key, state, expiry, [charged, status] once settled
  sameLines(
    "model",
    "idempotency keys",
    lines(
      real.idempotency.map((r) => {
        const o = r.outcome && (JSON.parse(r.outcome) as { charged: number; status: number });
        return [r.key, r.state, r.expires_at, o && [o.charged, o.status]];
      }),
    ),
    lines(
      [...model.idem].map(([key, r]) => [
        key,
        r.state,
        r.expiresAt,
        r.outcome && [r.outcome.charged, r.outcome.status],
      ]),
    ),
  );
  // Each decided call's one event, where the model says it is: I5's "exactly one" per request.
  // With dedupe also: records charged, skipped, credits saved, the key hashes charged in order.
  const realEvents = (list: RealEvent[]) =>
    lines(
      list.map((e) => [
        e.requestId,
        e.outcome,
        e.credits,
        e.reason,
        e.idempotencyKey,
        e.periodStart,
        e.recordsCharged,
        e.recordsSkipped,
        e.creditsSaved,
        keysOf(e),
      ]),
    );
  const records = (r: MEventRecords | null | undefined) =>
    r ? [r.charged, r.skipped, r.saved, r.keys.map(hashOf)] : [null, null, null, null];
  const modelEvents = (where: "inOutbox" | "inD1") =>
    lines(
      [...model.events.values()]
        .filter((e) => e[where])
        .map((e) => [
          e.requestId,
          e.outcome,
          e.credits,
          e.reason,
          e.idemKey,
          iso(e.periodStart),
          ...records(e.records),
        ]),
    );
  sameLines("I5", "usage events in the outbox", realEvents(real.outbox), modelEvents("inOutbox"));
  sameLines("I5", "usage events in D1", realEvents(real.d1), modelEvents("inD1"));
  checkRecordsAgainstModel(real, model, now, hashOf);
}

/**
 * The enriched records (issue 16), as they stand now: per group and key hash, taken by which
 * call in flight, or enriched when (within the window). Rows whose window has passed and that
 * no call holds decide nothing, whether the ledger has pruned them yet or not.
 */
export function checkRecordsAgainstModel(
  real: RealState,
  model: LedgerModel,
  now: number,
  hashOf: (key: string) => string,
) {
  const requestOf = new Map(real.holds.map((h) => [h.id, h.request_id]));
  const realRows: unknown[][] = [];
  for (const row of real.dedupeKeys) {
    const window = DEDUPE_WINDOWS.get(row.grp);
    if (window === undefined)
      fail("dedupe", `the ledger keeps keys of an unknown group ${row.grp}`);
    if (row.hold_id !== null) {
      realRows.push([row.grp, row.record, "in_flight", requestOf.get(row.hold_id) ?? row.hold_id]);
    } else if (row.enriched_at !== null && now - row.enriched_at < window) {
      realRows.push([row.grp, row.record, "enriched", row.enriched_at]);
    }
  }
  const modelRows: unknown[][] = [];
  for (const [group, keys] of model.records.groups) {
    const window = DEDUPE_WINDOWS.get(group) ?? 0;
    for (const key of keys.keys()) {
      const s = model.records.standing(group, key, window, now);
      if (s.kind === "in_flight") modelRows.push([group, hashOf(key), "in_flight", s.holder]);
      else if (s.kind === "enriched") modelRows.push([group, hashOf(key), "enriched", s.at]);
    }
  }
  sameLines("dedupe", "enriched and in-flight record keys", lines(realRows), lines(modelRows));
}
