import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  admitTestOne,
  d1Events,
  enrich,
  enrichFresh,
  ledger,
  setupAccount,
  spend,
} from "../support/api";

const FAIL_TRIGGER =
  "CREATE TRIGGER IF NOT EXISTS fail_usage BEFORE INSERT ON usage_events BEGIN SELECT RAISE(ABORT, 'injected'); END;";

async function withD1Down<T>(work: () => Promise<T>): Promise<T> {
  await env.DB.exec(FAIL_TRIGGER);
  try {
    return await work();
  } finally {
    await env.DB.exec("DROP TRIGGER IF EXISTS fail_usage;");
  }
}

describe("usage events reach D1 exactly once (I5)", () => {
  it("writes no D1 row on the request path; the alarm flushes the outbox", async () => {
    const acct = await setupAccount();
    await enrichFresh(acct.memberKey, 1);
    await enrichFresh(acct.memberKey, 2);
    expect(await d1Events(acct.id)).toHaveLength(0);
    expect((await ledger(acct.id).outboxStats()).pending).toBe(2);
    expect(await runDurableObjectAlarm(ledger(acct.id))).toBe(true);
    const events = await d1Events(acct.id);
    expect(events.map((e) => [e.outcome, e.credits])).toEqual([
      ["captured", 10],
      ["captured", 20],
    ]);
    const stats = await ledger(acct.id).outboxStats();
    expect([stats.pending, stats.flushedEvents, stats.flushWrites]).toEqual([0, 2, 1]);
  });

  it("keeps events in the outbox while D1 fails, and delivers each once after it recovers", async () => {
    const acct = await setupAccount();
    await withD1Down(async () => {
      for (let i = 0; i < 5; i++) await spend(acct.memberKey, "/v1/test/one");
      await spend(acct.memberKey, "/v1/test/one", { "x-chaos-status": "500" });
      expect(await ledger(acct.id).flush()).toMatchObject({
        flushed: 0,
        pending: 6,
        error: expect.stringContaining("injected"),
      });
      expect(await runDurableObjectAlarm(ledger(acct.id))).toBe(true);
      const stats = await ledger(acct.id).outboxStats();
      expect(stats.pending).toBe(6);
      expect(stats.failures).toBeGreaterThanOrEqual(2);
      expect(stats.lastError).toContain("injected");
    });
    // An eviction between failure and recovery loses nothing.
    await runInDurableObject(ledger(acct.id), (_, state) => state.abort("evict")).catch(() => {});
    expect(await ledger(acct.id).flush()).toEqual({ flushed: 6, pending: 0, error: null });
    await ledger(acct.id).flush();
    const events = await d1Events(acct.id);
    expect(events).toHaveLength(6);
    expect(events.filter((e) => e.outcome === "captured")).toHaveLength(5);
    expect(events.filter((e) => e.outcome === "voided")).toHaveLength(1);
    expect(new Set(events.map((e) => e.id)).size).toBe(6);
  });

  it("inserts nothing twice when a flush is repeated after D1 already took the events", async () => {
    const acct = await setupAccount();
    await spend(acct.memberKey, "/v1/test/one");
    // Simulate a flush whose acknowledgement was lost: copy to D1, keep the outbox row.
    const stub = ledger(acct.id);
    await runInDurableObject(stub, async (_instance, state) => {
      const rows = state.storage.sql
        .exec<{ seq: number; payload: string }>("SELECT seq, payload FROM outbox")
        .toArray();
      const { insertUsageEvents } = await import("../../src/usage/flush");
      await insertUsageEvents(
        env.DB,
        rows.map((r) => ({ ...JSON.parse(r.payload), seq: r.seq })),
      );
    });
    expect(await d1Events(acct.id)).toHaveLength(1);
    expect((await stub.flush()).flushed).toBe(1);
    expect(await d1Events(acct.id)).toHaveLength(1);
  });

  it("D1 totals equal the ledger's captured total once flushed", async () => {
    const acct = await setupAccount();
    await enrich(acct.memberKey, 3);
    await spend(acct.memberKey, "/v1/test/metered", {
      "x-chaos-status": "200",
      "x-chaos-usage-units": "17",
    });
    await spend(acct.memberKey, "/v1/test/one", { "x-chaos-status": "503" });
    await ledger(acct.id).flush();
    const { results } = await env.DB.prepare(
      "SELECT COALESCE(SUM(credits), 0) AS total FROM usage_events WHERE account_id = ? AND outcome = 'captured'",
    )
      .bind(acct.id)
      .all<{ total: number }>();
    const balance = await ledger(acct.id).balance();
    expect(results[0]?.total).toBe(47);
    expect(balance?.capturedThisPeriod).toBe(47);
  });
});

describe("holds that are never settled", () => {
  it("are voided by the alarm after their TTL, with a usage event", async () => {
    const acct = await setupAccount();
    const stub = ledger(acct.id);
    const admitted = await stub.admit(await admitTestOne(acct, "req-lost", 9));
    expect(admitted.kind).toBe("admitted");
    expect((await stub.balance())?.held).toBe(9);
    await runInDurableObject(stub, (instance) => {
      const base = Date.now();
      instance.clock = () => base + 61_000;
    });
    await runDurableObjectAlarm(stub);
    const balance = await stub.balance();
    expect([balance?.held, balance?.available, balance?.capturedThisPeriod]).toEqual([0, 3000, 0]);
    await stub.flush();
    expect((await d1Events(acct.id)).map((e) => [e.outcome, e.reason])).toEqual([
      ["voided", "hold_expired"],
    ]);
  });
});
