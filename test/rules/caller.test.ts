/**
 * Issue 3, "each rule": the caller, first of SPEC §4. A deactivated or deleted member's key is
 * refused with 401 invalid_key before any other rule; a member key cannot read the account's
 * policy (403 forbidden).
 */
import { describe, expect, it } from "vitest";
import { bearer, callTest, setupAccount } from "../support/api";
import {
  addMember,
  api,
  balanceOf,
  expectAdmitted,
  one,
  patchAccount,
  putRules,
  teamSpend,
} from "./helpers";

describe("the order of SPEC §4: when two rules fail, the earlier one decides", () => {
  it("a deactivated member before everything else", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, { allowedActions: [], allowedCategories: [] });
    await api(`/v1/members/${acct.memberId}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { active: false },
    });
    const res = await one(acct.memberKey);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe("invalid_key");
  });
});

describe("team and member management", () => {
  it("a deactivated member's key gets 401 on the next call, and works again once reactivated", async () => {
    const acct = await setupAccount();
    await expectAdmitted(await one(acct.memberKey));
    const off = await api(`/v1/members/${acct.memberId}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { active: false },
    });
    expect(off.body).toMatchObject({ active: false });
    const res = await one(acct.memberKey);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(((await res.json()) as { code: string }).code).toBe("invalid_key");
    expect((await api("/v1/balance", { key: acct.memberKey })).status).toBe(401);

    await api(`/v1/members/${acct.memberId}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { active: true },
    });
    await expectAdmitted(await one(acct.memberKey));
    expect((await balanceOf(acct.adminKey)).capturedThisPeriod).toBe(2);
  });

  it("deleting a member revokes its keys at once", async () => {
    const acct = await setupAccount();
    const mate = await addMember(acct, acct.teamId, "Mate");
    await expectAdmitted(await one(mate.key));
    const del = await callTest(`/v1/members/${mate.id}`, {
      method: "DELETE",
      headers: bearer(acct.adminKey),
    });
    expect(del.status).toBe(204);
    const res = await one(mate.key);
    expect(res.status).toBe(401);
    await res.arrayBuffer();
    expect((await api(`/v1/members/${mate.id}`, { key: acct.adminKey })).status).toBe(404);
    const keys = await api<{ data: { id: string; revokedAt: string | null }[] }>(
      "/v1/keys?limit=200",
      { key: acct.adminKey },
    );
    expect(keys.body.data.find((k) => k.id === mate.keyId)?.revokedAt).toEqual(expect.any(String));
    await expectAdmitted(await one(acct.memberKey));
    // The deleted member's usage stays in the team's spend.
    expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: 2, held: 0 });
  });

  it("GET /v1/account shows the account policy to admin and finance, 403 to a member", async () => {
    const acct = await setupAccount();
    for (const key of [acct.adminKey, acct.financeKey]) {
      const res = await api(`/v1/account`, { key });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: acct.id,
        overagePolicy: "block",
        policy: {
          overage: { policy: "block", limit: 0 },
          monthlySpendCap: null,
          rolloverCap: 0,
          actionCaps: {},
        },
      });
    }
    await patchAccount(acct.id, {
      overage: { policy: "allow", limit: 250 },
      monthlySpendCap: 4000,
      rolloverCap: 100,
      actionCaps: { "test.one": 20 },
    });
    const after = await api("/v1/account", { key: acct.financeKey });
    expect(after.body).toMatchObject({
      overagePolicy: "allow",
      policy: {
        overage: { policy: "allow", limit: 250 },
        monthlySpendCap: 4000,
        rolloverCap: 100,
        actionCaps: { "test.one": 20 },
      },
    });
    // The caller, so the dashboard knows whether to offer forms: finance reads, admin manages.
    expect(after.body).toMatchObject({ caller: { role: "finance" } });
    const admin = await api<{ caller: { role: string; keyId: string } }>("/v1/account", {
      key: acct.adminKey,
    });
    expect(admin.body.caller.role).toBe("admin");
    expect(admin.body.caller.keyId).toMatch(/\S/);
    const member = await api<{ code: string }>("/v1/account", { key: acct.memberKey });
    expect(member.status).toBe(403);
    expect(member.body.code).toBe("forbidden");
  });
});
