/**
 * usage_records (issue 16): the flush copies the records each captured call charged beside its
 * event, exactly once, and retention removes them with their events.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { d1Events, jsonCall, ledger, OPERATOR, setupAccount } from "../support/api";
import {
  DAY,
  daysBefore,
  enrichDomains,
  freshDomains,
  hashOf,
  insertEvents,
  recordRows,
  syntheticEvent,
} from "./outcome-support";
import { lostAckFlush } from "./support";

function retention(accountId: string, mode: "archive" | "delete") {
  return jsonCall<Record<string, unknown>>("/admin/v1/usage/retention", {
    method: "POST",
    headers: OPERATOR,
    json: { olderThanDays: 30, mode, accountId },
  });
}

describe("usage_records", () => {
  it("holds one row per record a captured call charged; none for a voided call or skipped records", async () => {
    const acct = await setupAccount();
    const [a, b, c, d] = freshDomains(4) as [string, string, string, string];
    expect((await enrichDomains(acct.memberKey, [a, b])).status).toBe(200);
    // a is enriched: this call charges c only.
    expect((await enrichDomains(acct.memberKey, [a, c])).status).toBe(200);
    // Voided: the upstream fails, nothing is charged, d stays unenriched.
    const failed = await enrichDomains(acct.memberKey, [d], { "x-chaos-status": "500" });
    expect(failed.status).toBe(500);
    await ledger(acct.id).flush();

    const events = await d1Events(acct.id);
    expect(events.map((e) => e.outcome)).toEqual(["captured", "captured", "voided"]);
    const [first, second] = events.map((e) => e.id);
    const rows = await recordRows(acct.id);
    const expected = [
      { record_key: await hashOf(acct.id, a), event_id: first },
      { record_key: await hashOf(acct.id, b), event_id: first },
      { record_key: await hashOf(acct.id, c), event_id: second },
    ].sort((x, y) =>
      `${x.event_id} ${x.record_key}`.localeCompare(`${y.event_id} ${y.record_key}`),
    );
    expect(rows.map(({ record_key, event_id }) => ({ record_key, event_id }))).toEqual(expected);
    const at = await env.DB.prepare("SELECT id, occurred_at FROM usage_events WHERE account_id = ?")
      .bind(acct.id)
      .all<{ id: string; occurred_at: string }>();
    const when = new Map(at.results.map((e) => [e.id, e.occurred_at]));
    for (const row of rows) expect(row.occurred_at).toBe(when.get(row.event_id));
  });

  it("writes them exactly once when a flush is retried after a lost acknowledgement", async () => {
    const acct = await setupAccount();
    expect((await enrichDomains(acct.memberKey, freshDomains(3))).status).toBe(200);
    expect((await lostAckFlush(acct.id)).error).toMatch(/connection lost/);
    expect(await recordRows(acct.id)).toHaveLength(3);
    expect((await ledger(acct.id).flush()).error).toBeNull();
    expect(await recordRows(acct.id)).toHaveLength(3);
  });

  it("adds none for denied events, empty or missing lists, or events retention already moved", async () => {
    const acct = await setupAccount();
    const key = await hashOf(acct.id, "acme.com");
    const old = new Date(Date.now() - 40 * DAY).toISOString();
    const moved = syntheticEvent(acct.id, { occurredAt: old, recordKeys: JSON.stringify([key]) });
    await insertEvents([moved]);
    expect(await recordRows(acct.id)).toHaveLength(1);
    expect((await retention(acct.id, "delete")).body).toMatchObject({ events: 1 });
    expect(await recordRows(acct.id)).toEqual([]);

    const now = new Date().toISOString();
    await insertEvents([
      // The moved event again, as a retried flush would send it: its account's archived seq keeps it out.
      moved,
      syntheticEvent(acct.id, {
        occurredAt: now,
        outcome: "denied",
        recordKeys: JSON.stringify([key]),
      }),
      syntheticEvent(acct.id, { occurredAt: now, recordKeys: "[]" }),
      syntheticEvent(acct.id, { occurredAt: now, recordKeys: null }),
    ]);
    expect(await recordRows(acct.id)).toEqual([]);
    expect(await d1Events(acct.id)).toHaveLength(3);
  });

  for (const mode of ["archive", "delete"] as const) {
    it(`are removed with their events by retention (${mode}), the recent ones kept`, async () => {
      const acct = await setupAccount();
      const other = await setupAccount();
      const key = await hashOf(acct.id, "acme.com");
      const old = new Date(Date.now() - 40 * DAY).toISOString();
      const recent = new Date(Date.now() - DAY).toISOString();
      const keys = JSON.stringify([key]);
      const recentEvent = syntheticEvent(acct.id, { occurredAt: recent, recordKeys: keys });
      const otherEvent = syntheticEvent(other.id, { occurredAt: old, recordKeys: keys });
      await insertEvents([
        syntheticEvent(acct.id, { occurredAt: old, recordKeys: keys }),
        syntheticEvent(acct.id, { occurredAt: daysBefore(old, 5), recordKeys: keys }),
        recentEvent,
        otherEvent,
      ]);
      expect(await recordRows(acct.id)).toHaveLength(3);
      const res = await retention(acct.id, mode);
      expect(res.body).toMatchObject({ events: 2 });
      expect((await recordRows(acct.id)).map((r) => r.event_id)).toEqual([recentEvent.id]);
      expect((await recordRows(other.id)).map((r) => r.event_id)).toEqual([otherEvent.id]);
    });
  }
});
