/**
 * Model-based test of the ledger: random sequences of grants, holds, captures (partial and
 * beyond the hold), voids, time passing (hold expiry, grant expiry, period roll) run against the
 * real AccountLedger storage and against the reference model (test/support/model), compared
 * after every step: the period, every grant's buckets, the holds, each decision and charge.
 * After every step too: I1 (nothing below zero) and I2 (issued = remaining + held + captured +
 * expired) on the stored grants, and I2 per grant from the append-only entries (every bucket
 * equals what its entries add up to).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GrantView, Settlement } from "../../src/ledger/contract";
import { withLedger } from "../rules/ledger-harness";
import { expectGrantsMatchEntries, readEntries } from "../support/entries";
import { LedgerModel } from "../support/model/ledger";
import { HOLD_TTL_MS, settleAsk, type Terms } from "../support/model/types";

const DAY = 86_400_000;

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
        fc.integer({ min: 1000, max: 2 * HOLD_TTL_MS }),
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
      fc.integer({ min: 1, max: 2 * HOLD_TTL_MS }),
      fc.integer({ min: DAY, max: 40 * DAY }),
    ),
  }),
);

function terms(credits: number, settlement: Settlement): Terms {
  return {
    id: "test.action",
    category: "ai",
    plans: ["starter", "professional", "enterprise"],
    seat: null,
    settlement,
    units: 1,
    holdCredits: credits,
    price: { credits },
  };
}

/** I1 and I2 on the stored grants, and I2 per grant from the entry log. */
function checkInvariants(grants: GrantView[], sql: SqlStorage) {
  for (const g of grants) {
    for (const v of [g.remaining, g.held, g.captured, g.expired])
      expect(v).toBeGreaterThanOrEqual(0);
    expect(g.remaining + g.held + g.captured + g.expired).toBe(g.amount);
  }
  expectGrantsMatchEntries(grants, readEntries(sql));
}

/** A grant as one comparable line: creation order, source and its buckets. */
function grantLine(
  seq: number | undefined,
  g: { source: string } & Pick<GrantView, "amount" | "remaining" | "held" | "captured" | "expired">,
): string {
  return JSON.stringify([seq, g.source, g.amount, g.remaining, g.held, g.captured, g.expired]);
}

describe("ledger model", () => {
  it("matches the reference model and keeps I1 and I2 after every step", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 31 }),
        async (ops, anchor) => {
          const start = "2027-01-20T10:00:00Z";
          await withLedger({ plan: "professional", anchor, start }, async (h) => {
            const { instance, sql } = h;
            let now = h.now();
            // The harness's account: one team without rules, one member (seat core) and its key.
            const model = new LedgerModel("professional", anchor);
            model.members.set(h.memberId, {
              id: h.memberId,
              teamId: h.teamId,
              seat: "core",
              active: true,
              budget: null,
            });
            model.keys.push({
              id: "key",
              secret: h.keyHash,
              role: "member",
              memberId: h.memberId,
              revoked: false,
            });
            model.touch(now);
            /** The real hold of each request the model holds for. */
            const holdIds = new Map<string, string>();

            for (const op of ops) {
              if (op.kind === "grant") {
                const expiresAt = op.expiresIn === null ? null : now + op.expiresIn;
                await instance.issueGrant({
                  amount: op.amount,
                  source: "pack",
                  priority: op.priority,
                  expiresAt,
                });
                model.issue({
                  source: "pack",
                  priority: op.priority,
                  effectiveAt: now,
                  expiresAt,
                  periodStart: null,
                  amount: op.amount,
                });
              } else if (op.kind === "admit") {
                const requestId = crypto.randomUUID();
                const result = await instance.admit({
                  keyHash: h.keyHash,
                  requestId,
                  action: terms(op.credits, op.settlement),
                  purpose: null,
                  idempotency: null,
                  dryRun: false,
                });
                const want = model.admit(
                  {
                    secret: h.keyHash,
                    terms: terms(op.credits, op.settlement),
                    purpose: null,
                    idem: null,
                    dryRun: false,
                    requestId,
                  },
                  now,
                );
                // Only the balance can refuse here: no rules, no budgets, no caps.
                expect(result.kind).toBe(want.kind === "admitted" ? "admitted" : "denied");
                if (result.kind === "admitted" && want.kind === "admitted") {
                  holdIds.set(requestId, result.holdId);
                  if (op.settlement === "on_request") {
                    expect(want.charged).toBe(op.credits);
                    expect(result.charged).toBe(want.charged);
                  }
                  expect(result.available).toBe(model.available(now));
                } else if (result.kind === "denied" && want.kind === "denied") {
                  expect(want.code).toBe("insufficient_credits");
                  expect(result.problem.code).toBe(want.code);
                }
              } else if (op.kind === "capture" || op.kind === "void") {
                if (model.holds.length === 0) continue;
                const hold = model.holds[op.pick % model.holds.length];
                if (!hold) continue;
                const capture = op.kind === "capture";
                const ask = settleAsk(op, hold);
                const result = await instance.settle({
                  holdId: holdIds.get(hold.requestId) ?? "",
                  idempotencyKey: null,
                  decision: ask.decision,
                  credits: ask.credits,
                  units: 1,
                  upstreamStatus: ask.upstreamStatus,
                  failure: capture ? null : "upstream_status",
                  durationMs: 1,
                });
                const want = model.settle(hold.requestId, null, ask, now);
                expect(want.settled).toBe(true);
                expect(result.settled).toBe(true);
                if (capture) expect(result.charged).toBe(want.charged);
              } else {
                now += op.ms;
                h.setNow(now);
                await instance.tick();
                model.tick(now);
              }

              // The period, every grant's buckets and the holds, as the model has them.
              expect(h.period()).toEqual({ start: model.periodStart, end: model.periodEnd });
              const grants = await instance.allGrants();
              checkInvariants(grants, sql);
              const seqOf = new Map(
                sql
                  .exec<{ id: string; seq: number }>("SELECT id, seq FROM grants")
                  .toArray()
                  .map((r) => [r.id, r.seq]),
              );
              expect(grants.map((g) => grantLine(seqOf.get(g.id), g)).sort()).toEqual(
                model.grants.map((g) => grantLine(g.seq, g)).sort(),
              );
              const holds = sql
                .exec<{ request_id: string; amount: number; allocations: string }>(
                  "SELECT request_id, amount, allocations FROM holds",
                )
                .toArray()
                .map((r) => {
                  const taken = JSON.parse(r.allocations) as { grantId: string; amount: number }[];
                  const from = taken.map((a) => [seqOf.get(a.grantId), a.amount]);
                  return JSON.stringify([r.request_id, r.amount, from]);
                });
              expect(holds.sort()).toEqual(
                model.holds
                  .map((m) =>
                    JSON.stringify([
                      m.requestId,
                      m.amount,
                      m.allocations.map((a) => [a.seq, a.amount]),
                    ]),
                  )
                  .sort(),
              );
            }
          });
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);
});
