/**
 * Issue 3: GET /v1/quote decides for the calling member as a call would (every rule of SPEC
 * §4), without holding, charging or recording anything; for member keys only.
 */
import { describe, expect, it } from "vitest";
import { bearer, callTest, setupAccount } from "../support/api";
import { addMember, api, balanceOf, expectAdmitted, flushedEvents, one, putRules } from "./helpers";

describe("GET /v1/quote", () => {
  interface Quote {
    action: string;
    units: number;
    credits: number;
    settlement: string;
    allowed: boolean;
    available: number | null;
    denial: { code: string; rule?: string; detail: string } | null;
  }

  const quote = (key: string, query: string) => api<Quote>(`/v1/quote?${query}`, { key });

  it("gives the price and whether the member would be admitted, without holding anything", async () => {
    const acct = await setupAccount();
    const allowed = await quote(acct.memberKey, "action=test.drain&units=7");
    expect(allowed.status).toBe(200);
    expect(allowed.body).toEqual({
      action: "test.drain",
      units: 7,
      credits: 7,
      settlement: "on_request",
      allowed: true,
      available: 3000,
      denial: null,
    });

    await putRules(acct, acct.teamId, { teamBudget: 5 });
    const over = await quote(acct.memberKey, "action=test.drain&units=6");
    expect(over.body).toMatchObject({ credits: 6, allowed: false, available: null });
    expect(over.body.denial).toMatchObject({ code: "budget_exhausted", rule: "team_budget" });
    expect((await quote(acct.memberKey, "action=test.drain&units=5")).body.allowed).toBe(true);

    await putRules(acct, acct.teamId, { allowedCategories: ["enrichment"] });
    const notAllowed = await quote(acct.memberKey, "action=test.drain&units=1");
    expect(notAllowed.body.denial).toMatchObject({
      code: "team_not_allowed",
      rule: "team_allowed",
    });
    const ok = await quote(acct.memberKey, "action=test.one");
    expect(ok.body).toMatchObject({ credits: 1, units: 1, allowed: true });

    const b = await balanceOf(acct.memberKey);
    expect([b.available, b.held, b.capturedThisPeriod]).toEqual([3000, 0, 0]);
    expect(await flushedEvents(acct.id)).toEqual([]);
  });

  it("answers for the calling member: its purpose, its budget, and it does not use up the rate limit", async () => {
    const acct = await setupAccount();
    await putRules(acct, acct.teamId, {
      memberRateLimitPerMinute: 1,
      memberBudget: 2,
      purpose: { required: true, allowed: null },
    });
    const mate = await addMember(acct, acct.teamId, "Mate");
    await api(`/v1/members/${mate.id}`, {
      method: "PATCH",
      key: acct.adminKey,
      json: { budget: 0 },
    });
    const noPurpose = await quote(acct.memberKey, "action=test.one");
    expect(noPurpose.body.denial).toMatchObject({ code: "purpose_required", rule: "purpose" });
    expect(noPurpose.body.allowed).toBe(false);

    const withPurpose = await callTest("/v1/quote?action=test.one", {
      headers: { ...bearer(acct.memberKey), "x-credit-purpose": "lead-gen" },
    });
    expect(((await withPurpose.json()) as Quote).allowed).toBe(true);
    const mateQuote = await callTest("/v1/quote?action=test.one", {
      headers: { ...bearer(mate.key), "x-credit-purpose": "lead-gen" },
    });
    expect(((await mateQuote.json()) as Quote).denial).toMatchObject({
      code: "budget_exhausted",
      rule: "member_budget",
    });

    // Quotes are not calls: the one call per minute is still there.
    await expectAdmitted(await one(acct.memberKey, { "x-credit-purpose": "lead-gen" }));
    const limited = await callTest("/v1/quote?action=test.one", {
      headers: { ...bearer(acct.memberKey), "x-credit-purpose": "lead-gen" },
    });
    expect(((await limited.json()) as Quote).denial).toMatchObject({
      code: "rate_limited",
      rule: "member_rate",
    });
  });

  it("is for members only: 403 for admin and finance keys", async () => {
    const acct = await setupAccount();
    for (const key of [acct.adminKey, acct.financeKey]) {
      const res = await quote(key, "action=test.one");
      expect(res.status).toBe(403);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect((res.body as unknown as { code: string }).code).toBe("forbidden");
    }
  });
});
