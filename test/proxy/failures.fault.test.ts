import { describe, expect, it } from "vitest";
import { balance, d1Events, ledger, setupAccount, spend } from "../support/api";

async function afterFlush(accountId: string) {
  await ledger(accountId).flush();
  return d1Events(accountId);
}

describe("no charge without service (I4)", () => {
  it("voids the hold when the upstream answers 500", async () => {
    const acct = await setupAccount();
    const res = await spend(acct.memberKey, "/v1/test/one", { "x-chaos-status": "500" });
    expect(res.status).toBe(500);
    expect(res.headers.get("x-credits-charged")).toBe("0");
    const b = await balance(acct.memberKey);
    expect([b.capturedThisPeriod, b.held]).toEqual([0, 0]);
    const events = await afterFlush(acct.id);
    expect(events).toMatchObject([
      { action: "test.one", outcome: "voided", credits: 0, upstream_status: 500 },
    ]);
  });

  it("voids the hold and answers 504 when the upstream times out", async () => {
    const acct = await setupAccount();
    const res = await spend(acct.memberKey, "/v1/test/slow", { "x-chaos-delay-ms": "1500" });
    expect(res.status).toBe(504);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("x-credits-charged")).toBe("0");
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(0);
    const events = await afterFlush(acct.id);
    expect(events).toMatchObject([
      { action: "test.slow", outcome: "voided", reason: "timeout", credits: 0 },
    ]);
  });

  it("voids the hold and answers 502 when the upstream cannot be reached", async () => {
    const acct = await setupAccount();
    for (const path of ["/v1/test/refused", "/v1/test/one"]) {
      const headers: Record<string, string> =
        path === "/v1/test/one" ? { "x-chaos-throw": "1" } : {};
      const res = await spend(acct.memberKey, path, headers);
      expect(res.status).toBe(502);
      expect(res.headers.get("x-credits-charged")).toBe("0");
    }
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(0);
    const events = await afterFlush(acct.id);
    expect(events.map((e) => [e.outcome, e.reason, e.credits])).toEqual([
      ["voided", "connection_error", 0],
      ["voided", "connection_error", 0],
    ]);
  });

  it("charges 0 for a metered call whose upstream failed, even if it reported units", async () => {
    const acct = await setupAccount();
    const res = await spend(acct.memberKey, "/v1/test/metered", {
      "x-chaos-status": "502",
      "x-chaos-usage-units": "30",
    });
    expect(res.headers.get("x-credits-charged")).toBe("0");
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(0);
  });

  it("charges an on_request action on admission, whatever the upstream says", async () => {
    const acct = await setupAccount();
    const res = await spend(acct.memberKey, "/v1/test/drain?credits=5", {
      "x-chaos-status": "500",
    });
    expect(res.status).toBe(500);
    expect(res.headers.get("x-credits-charged")).toBe("5");
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(5);
  });
});

describe("metered settlement", () => {
  it("captures the units the upstream reports, releasing the rest of the hold", async () => {
    const acct = await setupAccount();
    const res = await spend(acct.memberKey, "/v1/test/metered", {
      "x-chaos-status": "200",
      "x-chaos-usage-units": "12",
    });
    expect(res.headers.get("x-credits-charged")).toBe("12");
    const b = await balance(acct.memberKey);
    expect([b.capturedThisPeriod, b.held, b.available]).toEqual([12, 0, 3000 - 12]);
  });

  it("charges past the estimate only as far as the balance allows", async () => {
    const acct = await setupAccount({ plan: "starter" });
    await spend(acct.memberKey, "/v1/test/drain?credits=440");
    // 60 left; the hold is the declared maximum of 50, the upstream reports 80.
    const res = await spend(acct.memberKey, "/v1/test/metered", {
      "x-chaos-status": "200",
      "x-chaos-usage-units": "80",
    });
    expect(res.headers.get("x-credits-charged")).toBe("60");
    const b = await balance(acct.memberKey);
    expect([b.available, b.capturedThisPeriod]).toEqual([0, 500]);
  });
});
