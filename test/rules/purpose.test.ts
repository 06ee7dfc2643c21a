/**
 * Issue 3, "each rule": the purpose (403 purpose_required / purpose_not_allowed) where the team
 * requires one or lists the allowed ones; checked before the rate limit.
 */
import { describe, expect, it } from "vitest";
import { setupAccount } from "../support/api";
import {
  expectAdmitted,
  expectDenied,
  expectDeniedEvents,
  expectNothingHeld,
  flushedEvents,
  one,
  putRules,
} from "./helpers";

describe("purpose (403 purpose_required / purpose_not_allowed)", () => {
  it("requires X-Credit-Purpose where the team says so", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { purpose: { required: true, allowed: null } });
    await expectDenied(await one(acct.memberKey), 403, "purpose_required", "purpose");
    await expectAdmitted(await one(acct.memberKey, { "x-credit-purpose": "lead-gen" }));
    await expectNothingHeld(acct, 1);
    const events = await expectDeniedEvents(acct.id, "purpose_required", 1);
    expect(events.find((e) => e.outcome === "captured")?.purpose).toBe("lead-gen");
  });

  it("admits only the listed purposes", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, {
      purpose: { required: true, allowed: ["lead-gen", "renewal"] },
    });
    await expectAdmitted(await one(acct.memberKey, { "x-credit-purpose": "renewal" }));
    const body = await expectDenied(
      await one(acct.memberKey, { "x-credit-purpose": "churn" }),
      403,
      "purpose_not_allowed",
      "purpose",
    );
    expect(body.allowedPurposes).toEqual(["lead-gen", "renewal"]);
    await expectDenied(await one(acct.memberKey), 403, "purpose_required", "purpose");
    await expectNothingHeld(acct, 1);
    const events = await flushedEvents(acct.id);
    expect(events.filter((e) => e.outcome === "denied").map((e) => e.reason)).toEqual([
      "purpose_not_allowed",
      "purpose_required",
    ]);
  });

  it("with a list but no requirement, a call without purpose passes and a wrong one does not", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { purpose: { required: false, allowed: ["lead-gen"] } });
    await expectAdmitted(await one(acct.memberKey));
    await expectDenied(
      await one(acct.memberKey, { "x-credit-purpose": "other" }),
      403,
      "purpose_not_allowed",
      "purpose",
    );
    await expectDeniedEvents(acct.id, "purpose_not_allowed", 1);
  });
});

describe("the order of SPEC §4: when two rules fail, the earlier one decides", () => {
  it("purpose before rate limit", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, {
      memberRateLimitPerMinute: 1,
      purpose: { required: true, allowed: ["a"] },
    });
    await expectAdmitted(await one(acct.memberKey, { "x-credit-purpose": "a" }));
    await expectDenied(
      await one(acct.memberKey, { "x-credit-purpose": "b" }),
      403,
      "purpose_not_allowed",
      "purpose",
    );
    await expectDenied(await one(acct.memberKey), 403, "purpose_required", "purpose");
    await expectDenied(
      await one(acct.memberKey, { "x-credit-purpose": "a" }),
      429,
      "rate_limited",
      "member_rate",
    );
  });
});
