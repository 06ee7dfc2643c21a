/**
 * Issue 3, "each rule": the team's allow-list (403 team_not_allowed) admits a listed action or
 * category and refuses the rest, with a denied usage event of 0 credits and nothing held; it is
 * checked before the purpose.
 */
import { describe, expect, it } from "vitest";
import { setupAccount, spend } from "../support/api";
import {
  drain,
  expectAdmitted,
  expectDenied,
  expectDeniedEvents,
  expectNothingHeld,
  one,
  putRules,
} from "./helpers";

describe("team allow-lists (403 team_not_allowed)", () => {
  it("admits a listed action and refuses an unlisted one", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { allowedActions: ["test.one"] });
    await expectAdmitted(await one(acct.memberKey));
    const body = await expectDenied(
      await drain(acct.memberKey, 2),
      403,
      "team_not_allowed",
      "team_allowed",
    );
    expect(body).toMatchObject({ action: "test.drain", credits: 2 });
    await expectNothingHeld(acct, 1);
    await expectDeniedEvents(acct.id, "team_not_allowed", 1);
  });

  it("admits by category, and an action passes if either its id or its category is listed", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { allowedCategories: ["ai"] });
    await expectAdmitted(await drain(acct.memberKey, 3), 3);
    await expectDenied(await one(acct.memberKey), 403, "team_not_allowed", "team_allowed");

    await putRules(acct, acct.teamId, { allowedActions: ["test.one"], allowedCategories: ["ai"] });
    await expectAdmitted(await one(acct.memberKey));
    await expectAdmitted(await drain(acct.memberKey, 1), 1);
    await expectDenied(
      await spend(acct.memberKey, "/v1/test/slow"),
      403,
      "team_not_allowed",
      "team_allowed",
    );
    await expectNothingHeld(acct, 5);
    await expectDeniedEvents(acct.id, "team_not_allowed", 2);
  });

  it("an empty allow-list admits nothing", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { allowedActions: [], allowedCategories: [] });
    await expectDenied(await one(acct.memberKey), 403, "team_not_allowed", "team_allowed");
    await expectDenied(await drain(acct.memberKey, 1), 403, "team_not_allowed", "team_allowed");
    await expectNothingHeld(acct, 0);
  });
});

describe("the order of SPEC §4: when two rules fail, the earlier one decides", () => {
  it("team allow-list before purpose", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, {
      allowedCategories: ["ai"],
      purpose: { required: true, allowed: ["x"] },
    });
    await expectDenied(await one(acct.memberKey), 403, "team_not_allowed", "team_allowed");
    await expectDenied(
      await one(acct.memberKey, { "x-credit-purpose": "y" }),
      403,
      "team_not_allowed",
      "team_allowed",
    );
  });
});
