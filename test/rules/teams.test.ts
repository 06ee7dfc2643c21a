/**
 * Issue 3: team management as the rules see it. Renaming, deleting (only once empty), and
 * moving a member to another team, whose rules and budget then decide its next call.
 */
import { describe, expect, it } from "vitest";
import { bearer, callTest, setupAccount } from "../support/api";
import {
  addTeam,
  api,
  drain,
  expectAdmitted,
  expectDenied,
  one,
  putRules,
  teamSpend,
} from "./helpers";

describe("team and member management", () => {
  it("renames a team (PATCH /v1/teams/{id}) and answers 404 for an unknown one", async () => {
    const acct = await setupAccount();
    const renamed = await api(`/v1/teams/${acct.teamId}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { name: "Revenue" },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: acct.teamId, name: "Revenue" });
    const read = await api(`/v1/teams/${acct.teamId}`, { key: acct.financeKey });
    expect(read.body).toMatchObject({ name: "Revenue", spend: { captured: 0, held: 0 } });
    const missing = await api("/v1/teams/team_nope", {
      method: "PATCH",
      key: acct.adminKey,
      json: { name: "X" },
    });
    expect(missing.status).toBe(404);
    const byMember = await api(`/v1/teams/${acct.teamId}`, {
      method: "PATCH",
      key: acct.memberKey,
      json: { name: "Mine" },
    });
    expect(byMember.status).toBe(403);
  });

  it("refuses to delete a team while it has members (409), deletes it once empty (204)", async () => {
    const acct = await setupAccount();
    const ops = await addTeam(acct, "Ops");
    const refused = await api<{ code: string }>(`/v1/teams/${acct.teamId}`, {
      method: "DELETE",
      key: acct.adminKey,
    });
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.body.code).toBe("conflict");
    await expectAdmitted(await one(acct.memberKey));

    const moved = await api(`/v1/members/${acct.memberId}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { teamId: ops },
    });
    expect(moved.body).toMatchObject({ teamId: ops });
    const deleted = await callTest(`/v1/teams/${acct.teamId}`, {
      method: "DELETE",
      headers: bearer(acct.adminKey),
    });
    expect(deleted.status).toBe(204);
    expect((await api(`/v1/teams/${acct.teamId}`, { key: acct.adminKey })).status).toBe(404);
    const list = await api<{ data: { id: string }[] }>("/v1/teams", { key: acct.adminKey });
    expect(list.body.data.map((t) => t.id)).toEqual([ops]);
    const intoDeleted = await api(`/v1/members/${acct.memberId}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { teamId: acct.teamId },
    });
    expect(intoDeleted.status).toBe(400);
    await expectAdmitted(await one(acct.memberKey));
  });

  it("moving a member to another team: the next call follows the new team's rules and counts there", async () => {
    const acct = await setupAccount();
    const ops = await addTeam(acct, "Ops");
    await putRules(acct, ops, { allowedCategories: ["ai"], teamBudget: 5 });
    await expectAdmitted(await one(acct.memberKey));
    await api(`/v1/members/${acct.memberId}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { teamId: ops },
    });
    await expectDenied(await one(acct.memberKey), 403, "team_not_allowed", "team_allowed");
    await expectAdmitted(await drain(acct.memberKey, 5), 5);
    await expectDenied(await drain(acct.memberKey, 1), 402, "budget_exhausted", "team_budget");
    expect(await teamSpend(acct, acct.teamId)).toEqual({ captured: 1, held: 0 });
    expect(await teamSpend(acct, ops)).toEqual({ captured: 5, held: 0 });
  });
});
