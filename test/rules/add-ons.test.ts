/**
 * Recurring add-ons (the configuration's `addOns`): each held add-on issues credits x quantity
 * every period, expiring with it; more bought mid-period is credited at once; fewer, or none,
 * takes effect from the next period. Every grant's buckets still equal its entries.
 */
import { describe, expect, it } from "vitest";
import { balance, bearer, jsonCall, OPERATOR, setupAccount } from "../support/api";
import { expectGrantsMatchEntries, readEntries } from "../support/entries";
import { withLedger } from "./ledger-harness";

const START = "2026-03-10T12:00:00.000Z";
const APRIL = Date.parse("2026-04-01T00:00:01.000Z");
const MAY = Date.parse("2026-05-01T00:00:01.000Z");

describe("recurring add-ons", () => {
  it("credit more at once, issue every period, and take less from the next period", async () => {
    await withLedger({ plan: "starter", anchor: 1, start: START }, async (h) => {
      const addOnGrants = async (expiresAt: string) =>
        (await h.grants())
          .filter((g) => g.source === "add_on" && g.expiresAt === expiresAt)
          .map((g) => g.amount);

      const bought = await h.instance.setAddOns([{ id: "capacity_pack", quantity: 2 }]);
      expect(bought?.addOns).toEqual([{ id: "capacity_pack", quantity: 2 }]);
      expect(await addOnGrants("2026-04-01T00:00:00.000Z")).toEqual([2000]);
      expect((await h.instance.balance())?.available).toBe(2500);

      // One more, mid-period: its credits at once. Then back to one: nothing taken back now.
      await h.instance.setAddOns([{ id: "capacity_pack", quantity: 3 }]);
      await h.instance.setAddOns([{ id: "capacity_pack", quantity: 1 }]);
      expect(await addOnGrants("2026-04-01T00:00:00.000Z")).toEqual([2000, 1000]);

      // April: the included credits and one pack, once however many transactions run.
      h.setNow(APRIL);
      expect((await h.admit(1)).kind).toBe("admitted");
      await h.instance.tick();
      expect((await h.instance.balance())?.available).toBe(500 + 1000 - 1);
      expect(await addOnGrants("2026-05-01T00:00:00.000Z")).toEqual([1000]);

      // None held any more: May has the included credits alone.
      await h.instance.setAddOns([]);
      h.setNow(MAY);
      await h.instance.tick();
      expect(await addOnGrants("2026-06-01T00:00:00.000Z")).toEqual([]);
      expect((await h.instance.balance())?.available).toBe(500);
      expectGrantsMatchEntries(await h.grants(), readEntries(h.sql));
    });
  });
});

describe("PUT /admin/v1/accounts/{id}/add-ons", () => {
  it("sets the add-ons and shows their grant on the balance; refuses bad input, changing nothing", async () => {
    const acct = await setupAccount({ plan: "starter" });
    const put = (addOns: unknown) =>
      jsonCall(`/admin/v1/accounts/${acct.id}/add-ons`, {
        method: "PUT",
        headers: OPERATOR,
        json: { addOns },
      });
    const before = await balance(acct.financeKey);
    for (const bad of [
      [{ id: "platinum_pack", quantity: 1 }],
      [{ id: "capacity_pack", quantity: -1 }],
      [
        { id: "capacity_pack", quantity: 1 },
        { id: "capacity_pack", quantity: 2 },
      ],
    ]) {
      const res = await put(bad);
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    expect(await balance(acct.financeKey)).toEqual(before);

    const ok = await put([{ id: "capacity_pack", quantity: 2 }]);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ addOns: [{ id: "capacity_pack", quantity: 2 }] });
    const account = await jsonCall("/v1/account", { headers: bearer(acct.financeKey) });
    expect(account.body).toMatchObject({ addOns: [{ id: "capacity_pack", quantity: 2 }] });
    const after = (await balance(acct.financeKey)) as {
      available: number;
      grants: { source: string; amount: number }[];
    };
    expect(after.grants.filter((g) => g.source === "add_on").map((g) => g.amount)).toEqual([2000]);
  });
});
