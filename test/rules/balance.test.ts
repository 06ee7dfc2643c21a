/**
 * Issue 3, "each rule": the balance (402 insufficient_credits), last of SPEC §4, and the
 * overage allowance (policy `allow` up to its limit, spent after every grant); the spend cap
 * is checked before it.
 */
import { describe, expect, it } from "vitest";
import { setupAccount } from "../support/api";
import {
  api,
  balanceOf,
  drain,
  expectAdmitted,
  expectDenied,
  expectDeniedEvents,
  expectNothingHeld,
  one,
  patchAccount,
} from "./helpers";

describe("balance (402 insufficient_credits) and overage", () => {
  it("admits the last credit and refuses the next one", async () => {
    const acct = await setupAccount({ plan: "starter" });
    await expectAdmitted(await drain(acct.memberKey, 499), 499);
    await expectAdmitted(await one(acct.memberKey));
    const body = await expectDenied(
      await one(acct.memberKey),
      402,
      "insufficient_credits",
      "balance",
    );
    expect(body.available).toBe(0);
    const b = await balanceOf(acct.memberKey);
    expect(b.overage).toEqual({ policy: "block", limit: 0, used: 0, available: 0 });
    await expectNothingHeld(acct, 500);
    await expectDeniedEvents(acct.id, "insufficient_credits", 1);
  });

  it("overage allow: calls pass past zero grants up to the overage limit, never past it", async () => {
    const acct = await setupAccount({ plan: "starter" });
    const account = await patchAccount(acct.id, { overage: { policy: "allow", limit: 5 } });
    expect(account).toMatchObject({
      overagePolicy: "allow",
      policy: { overage: { policy: "allow", limit: 5 } },
    });
    expect((await balanceOf(acct.memberKey)).overage).toEqual({
      policy: "allow",
      limit: 5,
      used: 0,
      available: 5,
    });
    await expectAdmitted(await drain(acct.memberKey, 500), 500);
    expect((await balanceOf(acct.memberKey)).available).toBe(0);

    await expectDenied(await drain(acct.memberKey, 6), 402, "insufficient_credits", "balance");
    for (let i = 0; i < 5; i++) await expectAdmitted(await one(acct.memberKey));
    await expectDenied(await one(acct.memberKey), 402, "insufficient_credits", "balance");

    const b = await balanceOf(acct.memberKey);
    expect(b.available).toBe(0);
    expect(b.overage).toEqual({ policy: "allow", limit: 5, used: 5, available: 0 });
    await expectNothingHeld(acct, 505);
    await expectDeniedEvents(acct.id, "insufficient_credits", 2);
  });

  it("overage allow spends the grants first, and a pack issued later is spent before more overage", async () => {
    const acct = await setupAccount({ plan: "starter" });
    await patchAccount(acct.id, { overage: { policy: "allow", limit: 10 } });
    await expectAdmitted(await drain(acct.memberKey, 503), 503);
    expect((await balanceOf(acct.memberKey)).overage).toMatchObject({ used: 3, available: 7 });
    await api(`/admin/v1/accounts/${acct.id}/grants`, {
      method: "POST",
      operator: true,
      json: { amount: 4, source: "pack" },
    });
    await expectAdmitted(await drain(acct.memberKey, 4), 4);
    const b = await balanceOf(acct.memberKey);
    expect(b.available).toBe(0);
    expect(b.overage).toMatchObject({ used: 3, available: 7 });
  });
});

describe("the order of SPEC §4: when two rules fail, the earlier one decides", () => {
  it("account spend cap before the balance", async () => {
    const acct = await setupAccount({ plan: "starter" });
    await patchAccount(acct.id, { monthlySpendCap: 500 });
    await expectAdmitted(await drain(acct.memberKey, 500), 500);
    await expectDenied(await one(acct.memberKey), 402, "budget_exhausted", "spend_cap");
  });
});
