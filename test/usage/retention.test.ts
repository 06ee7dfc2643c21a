import { describe, expect, it } from "vitest";
import {
  balance,
  bearer,
  call,
  d1Events,
  enrich,
  jsonCall,
  ledger,
  OPERATOR,
  type ProblemBody,
  setupAccount,
  type TestAccount,
} from "../support/api";
import { age, allPages, lostAckFlush, makeUsage, secondMember } from "./support";

const DAY = 86_400_000;

async function retention(body: Record<string, unknown>) {
  return jsonCall<Record<string, unknown>>("/admin/v1/usage/retention", {
    method: "POST",
    headers: OPERATOR,
    json: body,
  });
}

async function books(acct: TestAccount) {
  const grouped = await jsonCall<{ groups: unknown[]; totals: Record<string, number> }>(
    "/v1/usage/summary?group_by=day,team,member,action,category",
    { headers: bearer(acct.financeKey) },
  );
  const rec = await jsonCall<{ verdict: string; total: Record<string, number> }>(
    "/v1/usage/reconcile",
    { headers: bearer(acct.financeKey) },
  );
  // The watermark and the forecast move with the clock; everything else must not move.
  const { watermark: _w, ...reconcile } = rec.body as typeof rec.body & { watermark?: string };
  const { forecast: _f, ...funds } = (await balance(acct.adminKey)) as Record<string, unknown>;
  return { summary: grouped.body, reconcile, balance: funds };
}

describe("usage retention (operator)", () => {
  it("archives old events to R2: D1's rows go, the listing and every total stay", async () => {
    const acct = await setupAccount();
    await makeUsage(acct, await secondMember(acct));
    await age(acct.id, 40);
    const before = await books(acct);
    const listed = await allPages(acct.financeKey, "", 50);
    expect(before.reconcile.verdict).toBe("balanced");
    expect(before.summary.totals.credits).toBe(101);

    const res = await retention({ olderThanDays: 30, mode: "archive", accountId: acct.id });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      mode: "archive",
      target: "r2",
      events: 7,
      credits: 101,
      more: false,
      error: null,
    });
    expect(await d1Events(acct.id)).toEqual([]);
    expect(await allPages(acct.financeKey, "", 50)).toEqual(listed);
    const after = await books(acct);
    expect(after).toEqual(before);

    // Running it again finds nothing more to do and changes nothing.
    const again = await retention({ olderThanDays: 30, mode: "archive", accountId: acct.id });
    expect(again.body).toMatchObject({ events: 0, days: 0 });
    expect(await books(acct)).toEqual(before);
  });

  it("deletes old events: summaries lose them, reconciliation still accounts for them", async () => {
    const acct = await setupAccount();
    await makeUsage(acct);
    await age(acct.id, 40);
    const before = await books(acct);
    const res = await retention({ olderThanDays: 30, mode: "delete", accountId: acct.id });
    expect(res.body).toMatchObject({ mode: "delete", events: 6, credits: 61 });
    const after = await books(acct);
    expect(after.summary.totals).toEqual({
      credits: 0,
      units: 0,
      calls: 0,
      denials: 0,
      creditsSaved: 0,
    });
    expect(after.reconcile).toEqual(before.reconcile);
    expect(after.reconcile.verdict).toBe("balanced");
    expect(after.balance).toEqual(before.balance);
  });

  it("keeps a moved event from coming back with a flush retried after a lost acknowledgement", async () => {
    const acct = await setupAccount();
    await enrich(acct.memberKey, 1);
    expect((await lostAckFlush(acct.id)).error).not.toBeNull();
    await age(acct.id, 40);
    const moved = await retention({ olderThanDays: 30, mode: "archive", accountId: acct.id });
    expect(moved.body).toMatchObject({ events: 1, credits: 10 });
    expect((await ledger(acct.id).flush()).error).toBeNull();
    const { summary, reconcile } = await books(acct);
    expect(summary.totals).toMatchObject({ credits: 10, calls: 1 });
    expect(reconcile).toMatchObject({ verdict: "balanced", total: { ledger: 10, d1: 10 } });
    // Listed once, from the archive; D1 did not take it back.
    expect(await d1Events(acct.id)).toEqual([]);
    expect(await allPages(acct.financeKey, "", 50)).toHaveLength(1);
  });

  it("keeps recent events and other accounts' events; a dry run changes nothing", async () => {
    const acct = await setupAccount();
    const other = await setupAccount();
    await makeUsage(acct);
    await makeUsage(other);
    await age(acct.id, 40);
    await age(other.id, 40);
    await makeUsage(acct); // fresh events, today
    const dry = await retention({
      olderThanDays: 30,
      mode: "delete",
      accountId: acct.id,
      dryRun: true,
    });
    expect(dry.body).toMatchObject({ dryRun: true, events: 6, credits: 61 });
    expect(await allPages(acct.adminKey, "", 50)).toHaveLength(12);

    await retention({ olderThanDays: 30, mode: "archive", accountId: acct.id });
    const left = await d1Events(acct.id);
    expect(left).toHaveLength(6);
    expect(left.every((e) => Date.parse(String(e.occurred_at)) > Date.now() - DAY)).toBe(true);
    expect(await d1Events(other.id)).toHaveLength(6);
    // The archived ones are still listed, from R2.
    expect(await allPages(acct.adminKey, "", 50)).toHaveLength(12);
  });

  it("refuses bad input with problem+json and changes nothing", async () => {
    const acct = await setupAccount();
    await makeUsage(acct);
    await age(acct.id, 40);
    const cases: [Record<string, unknown>, number][] = [
      [{ olderThanDays: 0, mode: "archive" }, 400],
      [{ olderThanDays: 1.5, mode: "archive" }, 400],
      [{ olderThanDays: "30", mode: "archive" }, 400],
      [{ olderThanDays: 30, mode: "shred" }, 400],
      [{ olderThanDays: 30 }, 400],
      [{ olderThanDays: 30, mode: "archive", extra: true }, 400],
      [{ olderThanDays: 30, mode: "archive", accountId: "no-such-account" }, 404],
    ];
    for (const [body, status] of cases) {
      const res = await retention(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
    }
    const asAdmin = await call("/admin/v1/usage/retention", {
      method: "POST",
      headers: { ...bearer(acct.adminKey), "content-type": "application/json" },
      body: JSON.stringify({ olderThanDays: 30, mode: "delete" }),
    });
    expect(asAdmin.status).toBe(401);
    expect(((await asAdmin.json()) as ProblemBody).code).toBe("unauthorized");
    expect(await allPages(acct.adminKey, "", 50)).toHaveLength(6);
  });
});
