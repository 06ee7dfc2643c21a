/**
 * Issue 3, "each rule": the plan (403 plan_excludes_action) and the seat (403 seat_required),
 * in that order and before the team's allow-list; a seat change applies to the next call.
 */
import { describe, expect, it } from "vitest";
import { setupAccount } from "../support/api";
import { api, expectAdmitted, expectDenied, intent, putRules } from "./helpers";

describe("the order of SPEC §4: when two rules fail, the earlier one decides", () => {
  it("seat before team allow-list", async () => {
    const acct = await setupAccount({ seat: "core" });
    await putRules(acct, acct.teamId, { allowedCategories: ["enrichment"] });
    const res = await intent(acct.memberKey);
    await expectDenied(res, 403, "seat_required", "seat");
  });

  it("plan before seat", async () => {
    const acct = await setupAccount({ plan: "starter", seat: "core" });
    const res = await intent(acct.memberKey);
    await expectDenied(res, 403, "plan_excludes_action", "plan");
  });
});

describe("team and member management", () => {
  it("changing a member's seat takes effect on the next call", async () => {
    const acct = await setupAccount({ seat: "core" });
    await expectDenied(await intent(acct.memberKey), 403, "seat_required", "seat");
    const patched = await api(`/v1/members/${acct.memberId}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { seat: "sales" },
    });
    expect(patched.body).toMatchObject({ seat: "sales" });
    await expectAdmitted(await intent(acct.memberKey), 10);
    await api(`/v1/members/${acct.memberId}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { seat: "none" },
    });
    await expectDenied(await intent(acct.memberKey), 403, "seat_required", "seat");
  });
});
