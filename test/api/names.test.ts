/**
 * Names (accounts, teams, members, keys) are trimmed of spaces, but a control character
 * anywhere, at either end too, is refused: "\r\nSet-Cookie: x" is bad input, not "Set-Cookie: x".
 */
import { describe, expect, it } from "vitest";
import { bearer, jsonCall, OPERATOR, type ProblemBody, setupAccount } from "../support/api";

describe("names", () => {
  it("refuse control characters at either end, and trim plain spaces", async () => {
    const acct = await setupAccount();
    const post = (path: string, json: unknown, headers = bearer(acct.adminKey)) =>
      jsonCall<ProblemBody & { name: string }>(path, { method: "POST", headers, json });
    for (const bad of ["\r\nSet-Cookie: a=b", "Ada\t", "\nAda", "Ada\r"]) {
      const member = await post("/v1/members", { name: bad, teamId: acct.teamId, seat: "core" });
      expect([member.status, member.body.code], JSON.stringify(bad)).toEqual([
        400,
        "validation_failed",
      ]);
      const team = await post("/v1/teams", { name: bad });
      expect(team.status, JSON.stringify(bad)).toBe(400);
      const account = await post("/admin/v1/accounts", { name: bad, plan: "starter" }, OPERATOR);
      expect(account.status, JSON.stringify(bad)).toBe(400);
    }
    const members = await jsonCall<{ data: { name: string }[] }>("/v1/members?limit=200", {
      headers: bearer(acct.adminKey),
    });
    expect(members.body.data.map((m) => m.name)).not.toContain("Set-Cookie: a=b");
    const spaced = await post("/v1/teams", { name: "  Field Sales  " });
    expect([spaced.status, spaced.body.name]).toEqual([201, "Field Sales"]);
  });
});
