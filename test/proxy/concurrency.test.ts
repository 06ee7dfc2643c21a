import { describe, expect, it } from "vitest";
import { balance, d1Events, ledger, setupAccount, spend } from "../support/api";

describe("concurrent calls", () => {
  it("admits exactly as many 1-credit calls as the balance covers, and records each once in D1", async () => {
    const acct = await setupAccount({ plan: "starter" });
    // Leave exactly 100 of the 500 included credits.
    const drain = await spend(acct.memberKey, "/v1/test/drain?credits=400");
    expect(drain.headers.get("x-credits-charged")).toBe("400");
    expect((await balance(acct.memberKey)).available).toBe(100);

    const responses = await Promise.all(
      Array.from({ length: 200 }, () => spend(acct.memberKey, "/v1/test/one")),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 402)).toHaveLength(100);
    for (const r of responses) await r.arrayBuffer();

    const after = await balance(acct.memberKey);
    expect(after.available).toBe(0);
    expect(after.held).toBe(0);
    expect(after.capturedThisPeriod).toBe(500);

    await ledger(acct.id).flush();
    const events = await d1Events(acct.id);
    const captured = events.filter((e) => e.action === "test.one" && e.outcome === "captured");
    expect(captured).toHaveLength(100);
    expect(captured.every((e) => e.credits === 1)).toBe(true);
    const denied = events.filter((e) => e.action === "test.one" && e.outcome === "denied");
    expect(denied).toHaveLength(100);
    expect(denied.every((e) => e.reason === "insufficient_credits" && e.credits === 0)).toBe(true);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  }, 60_000);
});
