/**
 * The archive under overlap (issue 19, from a review): two runs on one account day, several parts
 * of one day whose spans interleave in time, objects left by a run that stopped, and a Worker
 * without the bucket reading an account whose days are archived.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listParts } from "../../src/usage/archive";
import { dayPrefix } from "../../src/usage/archive-format";
import { ArchiveUnreadable, eventPages, takeRows } from "../../src/usage/archive-read";
import { bearer, call, setupAccount } from "../support/api";
import { CUTOFF, DAY, everyEventOf, places, run } from "./archive-support";
import { insertEvents, syntheticEvent } from "./outcome-support";
import { allPages } from "./support";

const DAY_START = Date.parse(CUTOFF) - 5 * DAY;
const DAY_KEY = new Date(DAY_START).toISOString().slice(0, 10);
const at = (hours: number) => new Date(DAY_START + hours * 3_600_000).toISOString();

describe("two runs on one account day", () => {
  it("never both write it: the second leaves it to the one holding it, nothing is overwritten", async () => {
    const acct = await setupAccount();
    const first = [1, 2].map((h) => syntheticEvent(acct.id, { occurredAt: at(h) }));
    await insertEvents(first);
    const late = syntheticEvent(acct.id, { occurredAt: at(3) });
    let second: Awaited<ReturnType<typeof run>> | null = null;
    const result = await run(acct.id, {
      after: async (step) => {
        if (step !== "checked" || second) return;
        // While the first run is between its check and its commit: a late event, and a run.
        await insertEvents([late]);
        second = await run(acct.id);
      },
    });
    expect(second).toMatchObject({ days: 0, events: 0, error: null, more: true });
    expect(result).toMatchObject({ events: 2, error: null });
    // The late event stays for the next run, which archives it as a part of its own.
    expect((await places(acct.id)).d1).toEqual([late.id]);
    expect(await run(acct.id)).toMatchObject({ events: 1, error: null });
    const ids = [...first, late].map((e) => e.id);
    expect(await places(acct.id)).toEqual({ d1: [], r2: [...ids].sort() });
    expect((await allPages(acct.financeKey, "", 2)).map((e) => e.id)).toEqual(ids);
  });

  it("skips a day another run holds, and takes it once that run's lease has lapsed", async () => {
    const acct = await setupAccount();
    await insertEvents([syntheticEvent(acct.id, { occurredAt: at(1) })]);
    const lease = (expires: number) =>
      env.DB.prepare(
        "INSERT INTO usage_archive_leases (account_id, day, holder, expires_at) VALUES (?, ?, 'other', ?) ON CONFLICT DO UPDATE SET expires_at = excluded.expires_at",
      )
        .bind(acct.id, DAY_KEY, new Date(expires).toISOString())
        .run();
    await lease(Date.now() + 60_000);
    expect(await run(acct.id)).toMatchObject({ days: 0, error: null, more: true });
    await lease(Date.now() - 3_600_000);
    expect(await run(acct.id)).toMatchObject({ days: 1, events: 1, error: null });
    // Lapsed leases do not stay behind: the table holds only days being archived now.
    await lease(Date.now() - 3_600_000);
    await run(acct.id);
    const left = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM usage_archive_leases WHERE account_id = ?",
    )
      .bind(acct.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});

describe("a day of several parts", () => {
  it("lists its events in order when late parts interleave in time, in pages and streams", async () => {
    const acct = await setupAccount();
    const e1 = syntheticEvent(acct.id, { occurredAt: at(1) });
    const e2 = syntheticEvent(acct.id, { occurredAt: at(2) });
    const e3 = syntheticEvent(acct.id, { occurredAt: at(20) });
    const e4 = syntheticEvent(acct.id, { occurredAt: at(1.5) });
    for (const batch of [[e1, e2], [e3], [e4]]) {
      await insertEvents(batch);
      expect(await run(acct.id)).toMatchObject({ error: null, events: batch.length });
    }
    expect(await listParts(env.DB, acct.id, null, null)).toHaveLength(3);
    const order = [e1, e4, e2, e3].map((e) => e.id);
    for (const limit of [1, 2, 3, 50]) {
      expect((await allPages(acct.financeKey, "", limit)).map((e) => e.id)).toEqual(order);
    }
    const ndjson = await call("/v1/usage/events?format=ndjson", {
      headers: bearer(acct.financeKey),
    });
    const lines = (await ndjson.text()).trimEnd().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(order);
  });
});

describe("objects left by a run that stopped", () => {
  it("are deleted once the day is archived: the bucket holds only listed parts", async () => {
    const acct = await setupAccount();
    await insertEvents([1, 2, 3].map((h) => syntheticEvent(acct.id, { occurredAt: at(h) })));
    let stopped = false;
    const failed = await run(acct.id, {
      maxPartEvents: 2,
      after: (step) => {
        if (step === "written" && !stopped) {
          stopped = true;
          throw new Error("stopped after writing");
        }
      },
    });
    expect(failed.error).toContain("stopped after writing");
    const keys = async () =>
      (await env.USAGE_ARCHIVE.list({ prefix: dayPrefix(acct.id, DAY_KEY) })).objects.map(
        (o) => o.key,
      );
    expect(await keys()).toHaveLength(2);
    expect(await listParts(env.DB, acct.id, null, null)).toEqual([]);

    expect(await run(acct.id, { maxPartEvents: 2 })).toMatchObject({ events: 3, error: null });
    const parts = await listParts(env.DB, acct.id, null, null);
    expect(parts).toHaveLength(2);
    // Two parts, each an object and a manifest: nothing else.
    expect(await keys()).toHaveLength(4);
  });
});

describe("a Worker without the bucket", () => {
  it("refuses to list an account whose days are archived, rather than leave them out", async () => {
    const acct = await setupAccount();
    await insertEvents([syntheticEvent(acct.id, { occurredAt: at(1) })]);
    expect(await run(acct.id)).toMatchObject({ events: 1, error: null });
    const filter = everyEventOf(acct.id);
    const pages = eventPages({ db: env.DB, bucket: null, filter, snapshot: 1e9 }, null, 10);
    await expect(takeRows(pages, 10)).rejects.toBeInstanceOf(ArchiveUnreadable);
  });
});
