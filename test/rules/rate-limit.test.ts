/**
 * Issue 3, "each rule": the member's rate per minute (429 rate_limited with Retry-After),
 * checked before the budgets.
 */
import { describe, expect, it } from "vitest";
import { setupAccount } from "../support/api";
import {
  addMember,
  expectAdmitted,
  expectDenied,
  expectDeniedEvents,
  expectNothingHeld,
  one,
  putRules,
  shiftClock,
} from "./helpers";

describe("member rate limit (429 rate_limited)", () => {
  it("admits the limit per minute, refuses the next with Retry-After, and admits again once the minute has passed", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { memberRateLimitPerMinute: 3 });
    for (let i = 0; i < 3; i++) await expectAdmitted(await one(acct.memberKey));
    const res = await one(acct.memberKey);
    const retryAfter = Number(res.headers.get("retry-after"));
    const body = await expectDenied(res, 429, "rate_limited", "member_rate");
    expect(body.limitPerMinute).toBe(3);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // Per member: a teammate has their own minute.
    const other = await addMember(acct, acct.teamId, "Bo");
    await expectAdmitted(await one(other.key));

    // The denied call did not count; after the window the member may call 3 times again.
    await shiftClock(acct.id, 61_000);
    for (let i = 0; i < 3; i++) await expectAdmitted(await one(acct.memberKey));
    await expectDenied(await one(acct.memberKey), 429, "rate_limited", "member_rate");
    await expectNothingHeld(acct, 7);
    await expectDeniedEvents(acct.id, "rate_limited", 2);
  });
});

describe("the order of SPEC §4: when two rules fail, the earlier one decides", () => {
  it("rate limit before budgets", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { memberRateLimitPerMinute: 1, teamBudget: 1 });
    await expectAdmitted(await one(acct.memberKey));
    await expectDenied(await one(acct.memberKey), 429, "rate_limited", "member_rate");
  });
});
