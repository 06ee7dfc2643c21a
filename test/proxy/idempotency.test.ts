import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../../src/ledger/object";
import { admitTestOne, balance, enrich, ledger, setupAccount, spend } from "../support/api";

const upstreamCount = async (path: string) =>
  (
    (await (await env.DEMO_UPSTREAM.fetch(`http://u/__chaos/count?path=${path}`)).json()) as {
      count: number;
    }
  ).count;

describe("Idempotency-Key (I3)", () => {
  it("charges once for 20 sequential sends and replays the original decision", async () => {
    const acct = await setupAccount();
    const first = await enrich(acct.memberKey, 2, { "idempotency-key": "seq-1" });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-credits-charged")).toBe("20");
    for (let i = 0; i < 19; i++) {
      const again = await enrich(acct.memberKey, 2, { "idempotency-key": "seq-1" });
      expect(again.status).toBe(200);
      expect(again.headers.get("x-credits-replayed")).toBe("true");
      expect(again.headers.get("x-credits-original-request-id")).toBe(
        first.headers.get("x-request-id"),
      );
      const body = (await again.json()) as { replayed: boolean; charged: number };
      expect(body).toMatchObject({ replayed: true, charged: 20 });
    }
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(20);
  });

  it("charges once for 20 concurrent sends; the others are told it is in progress or replayed", async () => {
    const acct = await setupAccount();
    const before = await upstreamCount("/enrich/companies");
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        enrich(acct.memberKey, 3, { "idempotency-key": "conc-1", "x-chaos-delay-ms": "50" }),
      ),
    );
    const charged = responses.filter(
      (r) => r.status === 200 && r.headers.get("x-credits-replayed") === null,
    );
    expect(charged).toHaveLength(1);
    for (const r of responses) {
      if (r === charged[0]) continue;
      if (r.status === 409)
        expect(((await r.json()) as { code: string }).code).toBe("idempotency_in_progress");
      else expect(r.headers.get("x-credits-replayed")).toBe("true");
    }
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(30);
    expect((await upstreamCount("/enrich/companies")) - before).toBeGreaterThanOrEqual(1);
  });

  it("replays an answer without a body (204) without a body, charging once", async () => {
    const acct = await setupAccount();
    const headers = { "idempotency-key": "no-content", "x-chaos-status": "204" };
    const first = await spend(acct.memberKey, "/v1/test/one", headers);
    expect(first.status).toBe(204);
    expect(first.headers.get("x-credits-charged")).toBe("1");
    const again = await spend(acct.memberKey, "/v1/test/one", headers);
    expect(again.status).toBe(204);
    expect(again.headers.get("x-credits-replayed")).toBe("true");
    expect(await again.text()).toBe("");
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(1);
  });

  it("still replays for 24 h a call settled more than 24 h after its admission", async () => {
    const acct = await setupAccount();
    const stub = ledger(acct.id);
    const t0 = Date.now();
    await runInDurableObject(stub, (instance: AccountLedger) => {
      instance.clock = () => t0;
    });
    const admit = (requestId: string) =>
      admitTestOne(acct, requestId, 1, { key: "late", fingerprint: "f" });
    const first = await stub.admit(await admit("r1"));
    if (first.kind !== "admitted") throw new Error(`admitted expected, got ${first.kind}`);
    // No alarm voided the lapsed hold, and its settle arrives 25 h later: it is captured.
    await runInDurableObject(stub, (instance: AccountLedger) => {
      instance.clock = () => t0 + 25 * 3_600_000;
    });
    const settled = await stub.settle({
      holdId: first.holdId,
      idempotencyKey: "late",
      decision: "capture",
      credits: 1,
      units: 1,
      upstreamStatus: 200,
      failure: null,
      durationMs: 1,
    });
    expect(settled.charged).toBe(1);
    const retry = await stub.admit(await admit("r2"));
    expect(retry.kind).toBe("replay");
  });

  it("does not forward a replay again", async () => {
    const acct = await setupAccount();
    await spend(acct.memberKey, "/v1/test/one", { "idempotency-key": "fwd-1" });
    const before = await upstreamCount("/enrich/companies");
    const replay = await spend(acct.memberKey, "/v1/test/one", { "idempotency-key": "fwd-1" });
    expect(replay.headers.get("x-credits-replayed")).toBe("true");
    expect(await upstreamCount("/enrich/companies")).toBe(before);
  });

  it("refuses the same key with a different body or action with 422, charging nothing", async () => {
    const acct = await setupAccount();
    await enrich(acct.memberKey, 1, { "idempotency-key": "mix-1" });
    const otherBody = await enrich(acct.memberKey, 2, { "idempotency-key": "mix-1" });
    expect(otherBody.status).toBe(422);
    expect(((await otherBody.json()) as { code: string }).code).toBe("idempotency_mismatch");
    const otherAction = await spend(acct.memberKey, "/v1/test/one", { "idempotency-key": "mix-1" });
    expect(otherAction.status).toBe(422);
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(10);
  });

  it("lets a retry through after the first attempt failed upstream and was not charged", async () => {
    const acct = await setupAccount();
    const failed = await enrich(acct.memberKey, 1, {
      "idempotency-key": "retry-1",
      "x-chaos-status": "503",
    });
    expect(failed.status).toBe(503);
    expect(failed.headers.get("x-credits-charged")).toBe("0");
    const retry = await enrich(acct.memberKey, 1, { "idempotency-key": "retry-1" });
    expect(retry.status).toBe(200);
    expect(retry.headers.get("x-credits-replayed")).toBeNull();
    expect(retry.headers.get("x-credits-charged")).toBe("10");
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(10);
  });

  it("keeps keys per account: another account's identical key is a new request", async () => {
    const a = await setupAccount();
    const b = await setupAccount();
    await enrich(a.memberKey, 1, { "idempotency-key": "shared" });
    const other = await enrich(b.memberKey, 1, { "idempotency-key": "shared" });
    expect(other.headers.get("x-credits-replayed")).toBeNull();
    expect(other.headers.get("x-credits-charged")).toBe("10");
  });
});
