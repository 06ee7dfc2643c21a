import { describe, expect, it } from "vitest";
import { balance, enrich, setupAccount } from "../support/api";

describe("the request path", () => {
  it("charges an enrichment call and reports the credits", async () => {
    const acct = await setupAccount();
    const before = await balance(acct.memberKey);
    expect(before.available).toBe(3000);
    const res = await enrich(acct.memberKey, 3);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-credits-action")).toBe("enrichment.company");
    expect(res.headers.get("x-credits-charged")).toBe("30");
    expect(res.headers.get("x-credits-remaining")).toBe("2970");
    const body = (await res.json()) as { results: unknown[] };
    expect(body.results).toHaveLength(3);
    const after = await balance(acct.memberKey);
    expect(after.available).toBe(2970);
    expect(after.capturedThisPeriod).toBe(30);
  });
});
