/**
 * Model-based test of the ledger: random sequences of grants, holds, captures (partial and
 * beyond the hold), voids, time passing (hold expiry, grant expiry, period roll) run against the
 * real AccountLedger storage and against a small reference model, compared after every step,
 * with I1 (nothing below zero) and I2 (issued = remaining + held + captured + expired) checked
 * on the stored grants and on the append-only entry log.
 */
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ActionTerms, GrantView, Settlement } from "../../src/ledger/contract";
import type { AccountLedger } from "../../src/ledger/object";
import { ledger, uniqueAccountId } from "../support/api";

const HOLD_TTL = 60_000;
const DAY = 86_400_000;
const INCLUDED = 3000; // professional

interface MGrant {
  id: string;
  seq: number;
  priority: number;
  effectiveAt: number;
  expiresAt: number | null;
  amount: number;
  remaining: number;
  held: number;
  captured: number;
  expired: number;
}
interface MHold {
  id: string;
  amount: number;
  allocations: { grantId: string; amount: number }[];
  expiresAt: number;
}

/** The reference: the product's rules written as plainly as possible. */
class Model {
  grants: MGrant[] = [];
  holds: MHold[] = [];
  periodEnd = 0;
  seq = 0;

  lapsed(g: MGrant, now: number) {
    return g.expiresAt !== null && g.expiresAt <= now;
  }
  spendable(now: number) {
    return this.grants
      .filter((g) => g.remaining > 0 && g.effectiveAt <= now && !this.lapsed(g, now))
      .sort(
        (a, b) =>
          a.priority - b.priority ||
          (a.expiresAt ?? Number.POSITIVE_INFINITY) - (b.expiresAt ?? Number.POSITIVE_INFINITY) ||
          a.seq - b.seq,
      );
  }
  available(now: number) {
    return this.spendable(now).reduce((s, g) => s + g.remaining, 0);
  }
  grant(id: string) {
    const g = this.grants.find((x) => x.id === id);
    if (!g) throw new Error(`model has no grant ${id}`);
    return g;
  }
  expireGrants(now: number) {
    for (const g of this.grants) {
      if (this.lapsed(g, now) && g.remaining > 0) {
        g.expired += g.remaining;
        g.remaining = 0;
      }
    }
  }
  /** Rolls to the period containing now; the real included grant's id is learnt afterwards. */
  roll(now: number, period: { start: number; end: number }) {
    this.expireGrants(now);
    if (now >= this.periodEnd) {
      this.periodEnd = period.end;
      this.seq += 1;
      this.grants.push({
        id: `included@${period.start}`,
        seq: this.seq,
        priority: 0,
        effectiveAt: period.start,
        expiresAt: period.end,
        amount: INCLUDED,
        remaining: INCLUDED,
        held: 0,
        captured: 0,
        expired: 0,
      });
    }
  }
  take(now: number, amount: number) {
    const allocations: { grantId: string; amount: number }[] = [];
    let left = amount;
    for (const g of this.spendable(now)) {
      if (left === 0) break;
      const t = Math.min(g.remaining, left);
      g.remaining -= t;
      g.held += t;
      left -= t;
      allocations.push({ grantId: g.id, amount: t });
    }
    if (left !== 0) throw new Error("model over-allocated");
    return allocations;
  }
  release(now: number, allocations: { grantId: string; amount: number }[]) {
    for (const a of allocations) {
      const g = this.grant(a.grantId);
      g.held -= a.amount;
      if (this.lapsed(g, now)) g.expired += a.amount;
      else g.remaining += a.amount;
    }
  }
  expireHolds(now: number) {
    for (const h of this.holds.filter((x) => x.expiresAt <= now)) this.release(now, h.allocations);
    this.holds = this.holds.filter((x) => x.expiresAt > now);
  }
  capture(now: number, hold: MHold, credits: number): number {
    let left = Math.min(credits, hold.amount);
    const fromHold = left;
    const released: { grantId: string; amount: number }[] = [];
    for (const a of hold.allocations) {
      const t = Math.min(a.amount, left);
      left -= t;
      const g = this.grant(a.grantId);
      g.held -= t;
      g.captured += t;
      if (a.amount - t > 0) released.push({ grantId: a.grantId, amount: a.amount - t });
    }
    this.release(now, released);
    const extra = Math.min(credits - fromHold, this.available(now));
    if (extra > 0) {
      for (const a of this.take(now, extra)) {
        const g = this.grant(a.grantId);
        g.held -= a.amount;
        g.captured += a.amount;
      }
    }
    this.holds = this.holds.filter((h) => h.id !== hold.id);
    return fromHold + Math.max(0, extra);
  }
}

type Op =
  | { kind: "grant"; amount: number; priority: number; expiresIn: number | null }
  | { kind: "admit"; credits: number; settlement: Settlement }
  | { kind: "capture"; pick: number; share: number; beyond: number }
  | { kind: "void"; pick: number }
  | { kind: "advance"; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("grant" as const),
    amount: fc.integer({ min: 1, max: 800 }),
    priority: fc.integer({ min: 0, max: 3 }),
    expiresIn: fc.option(
      fc.oneof(
        fc.integer({ min: 1000, max: 2 * HOLD_TTL }),
        fc.integer({ min: 1000, max: 45 * DAY }),
      ),
      { nil: null },
    ),
  }),
  fc.record({
    kind: fc.constant("admit" as const),
    credits: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 50, max: 4000 })),
    settlement: fc.constantFrom<Settlement>("on_success", "metered", "on_request"),
  }),
  fc.record({
    kind: fc.constant("capture" as const),
    pick: fc.nat(),
    share: fc.double({ min: 0, max: 1, noNaN: true }),
    beyond: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 500 })),
  }),
  fc.record({ kind: fc.constant("void" as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant("advance" as const),
    ms: fc.oneof(
      fc.integer({ min: 1, max: 2 * HOLD_TTL }),
      fc.integer({ min: DAY, max: 40 * DAY }),
    ),
  }),
);

function terms(credits: number, settlement: Settlement): ActionTerms {
  return {
    id: "test.action",
    category: "ai",
    minTier: "starter",
    seat: null,
    settlement,
    units: 1,
    holdCredits: credits,
  };
}

/** I1 and I2 on the stored grants and on the entry log. */
function checkInvariants(
  grants: GrantView[],
  entries: { kind: string; grant_id: string; amount: number }[],
) {
  for (const g of grants) {
    for (const v of [g.remaining, g.held, g.captured, g.expired])
      expect(v).toBeGreaterThanOrEqual(0);
    expect(g.remaining + g.held + g.captured + g.expired).toBe(g.amount);
    const sum = (kind: string) =>
      entries
        .filter((e) => e.grant_id === g.id && e.kind === kind)
        .reduce((s, e) => s + e.amount, 0);
    expect(sum("issue")).toBe(g.amount);
    expect(sum("capture")).toBe(g.captured);
    expect(sum("expire")).toBe(g.expired);
    expect(sum("hold") - sum("capture") - sum("void")).toBe(g.held);
  }
}

describe("ledger model", () => {
  it("matches the reference model and keeps I1 and I2 after every step", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 31 }),
        async (ops, anchor) => {
          const accountId = uniqueAccountId("model");
          const stub = ledger(accountId);
          await runInDurableObject(stub, async (instance: AccountLedger, state) => {
            let now = Date.parse("2027-01-20T10:00:00Z");
            instance.clock = () => now;
            const model = new Model();
            const sql = state.storage.sql;
            await instance.createAccount({
              id: accountId,
              name: "Model",
              tier: "professional",
              billingAnchorDay: anchor,
            });
            const team = await instance.createTeam("T");
            const member = await instance.createMember({
              name: "M",
              teamId: team.id,
              seat: "core",
            });
            if (!member.ok) throw new Error("member");
            const key = await instance.createKey({
              hash: "h",
              prefix: "p",
              role: "member",
              memberId: member.value.id,
              name: null,
            });
            if (!key.ok) throw new Error("key");

            const realPeriod = () => {
              const row = sql
                .exec<{ period_start: number; period_end: number }>(
                  "SELECT period_start, period_end FROM account",
                )
                .one();
              return { start: row.period_start, end: row.period_end };
            };
            const learnIncluded = (grants: GrantView[]) => {
              for (const g of model.grants) {
                if (!g.id.startsWith("included@")) continue;
                const start = Number(g.id.slice("included@".length));
                const real = grants.find(
                  (r) => r.source === "included" && Date.parse(r.effectiveAt) === start,
                );
                if (real) g.id = real.id;
                for (const h of model.holds)
                  for (const a of h.allocations)
                    if (a.grantId === `included@${start}` && real) a.grantId = real.id;
              }
            };
            const sync = async () => {
              model.roll(now, realPeriod());
              learnIncluded(await instance.allGrants());
            };
            await sync();

            for (const op of ops) {
              if (op.kind === "grant") {
                model.expireGrants(now);
                const view = await instance.issueGrant({
                  amount: op.amount,
                  source: "pack",
                  priority: op.priority,
                  expiresAt: op.expiresIn === null ? null : now + op.expiresIn,
                });
                model.seq += 1;
                model.grants.push({
                  id: view.id,
                  seq: model.seq,
                  priority: op.priority,
                  effectiveAt: now,
                  expiresAt: op.expiresIn === null ? null : now + op.expiresIn,
                  amount: op.amount,
                  remaining: op.amount,
                  held: 0,
                  captured: 0,
                  expired: 0,
                });
              } else if (op.kind === "admit") {
                const result = await instance.admit({
                  keyHash: "h",
                  requestId: crypto.randomUUID(),
                  action: terms(op.credits, op.settlement),
                  purpose: null,
                  idempotency: null,
                  dryRun: false,
                });
                await sync();
                model.expireHolds(now);
                const enough = model.available(now) >= op.credits;
                expect(result.kind).toBe(enough ? "admitted" : "denied");
                if (result.kind === "admitted") {
                  const hold: MHold = {
                    id: result.holdId,
                    amount: op.credits,
                    allocations: model.take(now, op.credits),
                    expiresAt: now + HOLD_TTL,
                  };
                  model.holds.push(hold);
                  if (op.settlement === "on_request") {
                    expect(result.charged).toBe(op.credits);
                    model.capture(now, hold, op.credits);
                  }
                  expect(result.available).toBe(model.available(now));
                } else if (result.kind === "denied") {
                  expect(result.problem.code).toBe("insufficient_credits");
                }
              } else if (op.kind === "capture" || op.kind === "void") {
                if (model.holds.length === 0) continue;
                const hold = model.holds[op.pick % model.holds.length];
                if (!hold) continue;
                const credits =
                  op.kind === "capture" ? Math.floor(hold.amount * op.share) + op.beyond : 0;
                const result = await instance.settle({
                  holdId: hold.id,
                  idempotencyKey: null,
                  decision: op.kind === "capture" ? "capture" : "void",
                  credits,
                  units: 1,
                  upstreamStatus: op.kind === "capture" ? 200 : 500,
                  failure: op.kind === "capture" ? null : "upstream_status",
                  durationMs: 1,
                });
                await sync();
                expect(result.settled).toBe(true);
                if (op.kind === "capture")
                  expect(result.charged).toBe(model.capture(now, hold, credits));
                else {
                  model.release(now, hold.allocations);
                  model.holds = model.holds.filter((h) => h.id !== hold.id);
                }
              } else {
                now += op.ms;
                await instance.tick();
                await sync();
                model.expireHolds(now);
              }

              const grants = await instance.allGrants();
              const entries = sql
                .exec<{ kind: string; grant_id: string; amount: number }>(
                  "SELECT kind, grant_id, amount FROM entries",
                )
                .toArray();
              checkInvariants(grants, entries);
              for (const m of model.grants) {
                const real = grants.find((g) => g.id === m.id);
                expect(real, `grant ${m.id}`).toBeDefined();
                expect({
                  id: m.id,
                  remaining: real?.remaining,
                  held: real?.held,
                  captured: real?.captured,
                  expired: real?.expired,
                }).toEqual({
                  id: m.id,
                  remaining: m.remaining,
                  held: m.held,
                  captured: m.captured,
                  expired: m.expired,
                });
              }
              expect(grants.length).toBe(model.grants.length);
              const holdCount = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM holds").one().n;
              expect(holdCount).toBe(model.holds.length);
            }
          });
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);
});
