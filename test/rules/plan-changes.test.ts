/**
 * Changing plan mid-period, as billing systems do: a plan with more included credits applies at
 * once, with the difference as a grant that expires with the period; one with fewer applies
 * from the next period, and until then the account keeps its current plan's access. Holds in
 * flight settle as admitted either way, and every grant's buckets still equal its entries.
 */
import { describe, expect, it } from "vitest";
import { jsonCall, OPERATOR, setupAccount } from "../support/api";
import { expectGrantsMatchEntries, readEntries } from "../support/entries";
import { withLedger } from "./ledger-harness";

const PROFESSIONAL_UP = ["professional", "enterprise"];
const ENTERPRISE_ONLY = ["enterprise"];
const START = "2026-03-10T12:00:00.000Z";

describe("a plan change mid-period", () => {
  it("to a larger plan applies at once: its actions, and the difference until the period ends", async () => {
    await withLedger({ plan: "starter", anchor: 1, start: START }, async (h) => {
      const inFlight = await h.admit(100);
      expect(inFlight.kind).toBe("admitted");
      expect((await h.admit(10, { plans: PROFESSIONAL_UP })).kind).toBe("denied");

      const account = await h.instance.updateAccount({ plan: "professional" });
      expect(account).toMatchObject({ plan: "professional", pendingPlan: null });
      const change = (await h.grants()).find((g) => g.source === "plan_change");
      expect(change).toMatchObject({ amount: 2500, expiresAt: "2026-04-01T00:00:00.000Z" });
      expect((await h.admit(10, { plans: PROFESSIONAL_UP })).kind).toBe("admitted");

      if (inFlight.kind === "admitted") {
        expect(await h.settle(inFlight.holdId, "capture", 100)).toMatchObject({ charged: 100 });
      }
      const balance = await h.instance.balance();
      expect(balance?.available).toBe(3000 - 100 - 10);
      expectGrantsMatchEntries(await h.grants(), readEntries(h.sql));

      // The next period issues the new plan's credits, and nothing of the change is left.
      h.setNow(Date.parse("2026-04-02T00:00:00.000Z"));
      expect((await h.admit(1)).kind).toBe("admitted");
      const april = (await h.grants()).filter((g) => g.expiresAt === "2026-05-01T00:00:00.000Z");
      expect(april.map((g) => [g.source, g.amount])).toEqual([["included", 3000]]);
    });
  });

  it("to a smaller plan waits for the period's end, keeping the current plan's access till then", async () => {
    await withLedger({ plan: "enterprise", anchor: 1, start: START }, async (h) => {
      const inFlight = await h.admit(40, { plans: ENTERPRISE_ONLY });
      expect(inFlight.kind).toBe("admitted");

      const account = await h.instance.updateAccount({ plan: "starter" });
      expect(account).toMatchObject({
        plan: "enterprise",
        pendingPlan: { plan: "starter", from: "2026-04-01T00:00:00.000Z" },
      });
      expect((await h.grants()).some((g) => g.source === "plan_change")).toBe(false);
      expect((await h.admit(10, { plans: ENTERPRISE_ONLY })).kind).toBe("admitted");
      if (inFlight.kind === "admitted") {
        expect(await h.settle(inFlight.holdId, "capture", 40)).toMatchObject({ charged: 40 });
      }

      h.setNow(Date.parse("2026-04-01T00:00:00.000Z"));
      const refused = await h.admit(10, { plans: ENTERPRISE_ONLY });
      expect(refused.kind === "denied" && refused.problem.extras).toMatchObject({
        rule: "plan",
        plan: "starter",
      });
      expect(await h.instance.getAccount()).toMatchObject({ plan: "starter", pendingPlan: null });
      const april = (await h.grants()).filter((g) => g.source === "included" && g.amount === 500);
      expect(april).toHaveLength(1);
      expectGrantsMatchEntries(await h.grants(), readEntries(h.sql));
    });
  });

  it("back to the current plan cancels a change that was waiting", async () => {
    await withLedger({ plan: "professional", anchor: 1, start: START }, async (h) => {
      await h.instance.updateAccount({ plan: "starter" });
      const back = await h.instance.updateAccount({ plan: "professional" });
      expect(back).toMatchObject({ plan: "professional", pendingPlan: null });
      h.setNow(Date.parse("2026-04-01T00:00:00.000Z"));
      expect((await h.admit(10, { plans: PROFESSIONAL_UP })).kind).toBe("admitted");
    });
  });
});

type Listed = { id: string; plan: string; pendingPlan: unknown };
type ListPage = { data: Listed[]; nextCursor: string | null };

/** An account as the operator's directory lists it, paging until it is found. */
async function listed(id: string): Promise<Listed | undefined> {
  let cursor: string | null = "";
  while (cursor !== null) {
    const query: string = cursor ? `&cursor=${cursor}` : "";
    const page: { body: ListPage } = await jsonCall<ListPage>(
      `/admin/v1/accounts?limit=100${query}`,
      { headers: OPERATOR },
    );
    const found = page.body.data.find((a) => a.id === id);
    if (found) return found;
    cursor = page.body.nextCursor;
  }
  return undefined;
}

describe("PATCH /admin/v1/accounts/{id} { plan }", () => {
  it("shows a waiting change in the account and the directory, and refuses an unknown plan", async () => {
    const acct = await setupAccount({ plan: "professional" });
    const patched = await jsonCall(`/admin/v1/accounts/${acct.id}`, {
      method: "PATCH",
      headers: OPERATOR,
      json: { plan: "starter" },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ plan: "professional", pendingPlan: { plan: "starter" } });
    // The directory (D1) lists it too.
    const listedEntry = await listed(acct.id);
    expect(listedEntry).toMatchObject({ plan: "professional", pendingPlan: { plan: "starter" } });
    const unknown = await jsonCall(`/admin/v1/accounts/${acct.id}`, {
      method: "PATCH",
      headers: OPERATOR,
      json: { plan: "platinum" },
    });
    expect(unknown.status).toBe(400);
    const read = await jsonCall(`/admin/v1/accounts/${acct.id}`, { headers: OPERATOR });
    expect(read.body).toMatchObject({ plan: "professional", pendingPlan: { plan: "starter" } });
  });
});
