/**
 * GET /v1/balance's forecast through the worker: burn rates and projected depletion from what
 * was really charged, with the ledger's clock set to known times (in 2031, so no alarm fires).
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { Balance } from "../../src/api/schemas";
import type { AccountLedger } from "../../src/ledger/object";
import {
  bearer,
  enrichFresh,
  grant,
  jsonCall,
  ledger,
  setupAccount,
  spend,
  type TestAccount,
  uniqueAccountId,
} from "../support/api";

const at = (s: string) => Date.parse(s);
/** Created on Jan 3; the period (anchor day 1) runs Jan 1 to Feb 1. */
const CREATED = at("2031-01-03T00:00:00Z");

interface ForecastBody {
  available: number;
  capturedThisPeriod: number;
  forecast: {
    burnRate: { last7Days: number; thisPeriod: number };
    basis: string | null;
    projectedDepletionAt: string | null;
    depletesBeforePeriodEnd: boolean;
  };
}

async function setClock(accountId: string, ms: number) {
  await runInDurableObject(ledger(accountId), (instance: AccountLedger) => {
    instance.clock = () => ms;
  });
}

/** A starter account (500 credits) created at CREATED by the ledger's clock. */
async function starterAccount(): Promise<TestAccount> {
  const id = uniqueAccountId("forecast");
  await setClock(id, CREATED);
  return setupAccount({ id, plan: "starter", billingAnchorDay: 1 });
}

async function readBalance(acct: TestAccount): Promise<ForecastBody> {
  const res = await jsonCall<ForecastBody>("/v1/balance", { headers: bearer(acct.financeKey) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function charged(res: Response): Promise<string | null> {
  await res.arrayBuffer();
  return res.headers.get("x-credits-charged");
}

/**
 * On Jan 5 (the account is 2 days old): 3 calls of 10 records at 10 credits each, one call the
 * upstream fails (voided), and a 50-credit promo that lapsed on Jan 4 (expired at Jan 5).
 */
async function spendOnJan5(acct: TestAccount) {
  await grant(acct.id, 50, {
    source: "promo",
    effectiveAt: new Date(CREATED).toISOString(),
    expiresAt: "2031-01-04T00:00:00.000Z",
  });
  await setClock(acct.id, at("2031-01-05T00:00:00Z"));
  // Fresh records per call: dedupe charges (and holds) every record of each call.
  for (let i = 0; i < 3; i++) {
    expect(await charged(await enrichFresh(acct.memberKey, 10))).toBe("100");
  }
  const failed = await enrichFresh(acct.memberKey, 10, { "x-chaos-status": "500" });
  expect(await charged(failed)).toBe("0");
}

describe("GET /v1/balance forecast", () => {
  it("projects the burn of a 2-day-old account; a voided call and an expired grant do not burn", async () => {
    const acct = await starterAccount();
    await spendOnJan5(acct);
    const body = await readBalance(acct);
    expect(body.available).toBe(200);
    expect(body.capturedThisPeriod).toBe(300);
    // 300 credits over the 2 days the account has lived: 150 a day; 200 left last 32 hours.
    expect(body.forecast).toEqual({
      burnRate: { last7Days: 150, thisPeriod: 150 },
      basis: "last7Days",
      projectedDepletionAt: "2031-01-06T08:00:00.000Z",
      depletesBeforePeriodEnd: true,
    });
    const promo = (await ledger(acct.id).allGrants()).find((g) => g.source === "promo");
    expect(promo).toMatchObject({ expired: 50, captured: 0 });
  });

  it("falls back to this period's rate once the spend is older than 7 days", async () => {
    const acct = await starterAccount();
    await spendOnJan5(acct);
    await setClock(acct.id, at("2031-01-13T00:00:00Z"));
    const body = await readBalance(acct);
    // Nothing since Jan 6; 300 over the 10 days since creation (not the 12 since Jan 1).
    expect(body.forecast).toEqual({
      burnRate: { last7Days: 0, thisPeriod: 30 },
      basis: "thisPeriod",
      projectedDepletionAt: "2031-01-19T16:00:00.000Z",
      depletesBeforePeriodEnd: true,
    });
  });

  it("counts what a metered call was charged, not what it held", async () => {
    const acct = await starterAccount();
    await setClock(acct.id, at("2031-01-10T00:00:00Z"));
    const metered = await spend(acct.memberKey, "/v1/test/metered", {
      "x-chaos-status": "200",
      "x-chaos-usage-units": "14",
    });
    expect(await charged(metered)).toBe("14");
    const body = await readBalance(acct);
    // 14 of the 50 held over 7 days: 2 a day; 486 left last 243 days, past the period.
    expect(body.forecast).toEqual({
      burnRate: { last7Days: 2, thisPeriod: 2 },
      basis: "last7Days",
      projectedDepletionAt: "2031-09-10T00:00:00.000Z",
      depletesBeforePeriodEnd: false,
    });
  });

  it("has no projection before anything is spent", async () => {
    const acct = await starterAccount();
    const body = await readBalance(acct);
    expect(body.forecast).toEqual({
      burnRate: { last7Days: 0, thisPeriod: 0 },
      basis: null,
      projectedDepletionAt: null,
      depletesBeforePeriodEnd: false,
    });
  });

  it("answers a forecast that the documented Balance schema keeps", async () => {
    const acct = await starterAccount();
    await spendOnJan5(acct);
    const body = await readBalance(acct);
    // The schema strips what it does not declare: a forecast it lacked would come back undefined.
    expect(Balance.parse(body).forecast).toEqual(body.forecast);
  });
});
