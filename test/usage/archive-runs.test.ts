/**
 * Archive runs to R2 (issue 19): whatever fails at whichever step, every event is afterwards in
 * exactly one place (D1, or a part listed in `usage_archive_days`), the books stay balanced
 * against the ledger, and the next run finishes the work; a flush retried after its day was
 * archived adds nothing; the Cron Trigger works through a backlog in slices.
 */
import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { type ArchiveHooks, listParts } from "../../src/usage/archive";
import { scheduledArchive } from "../../src/usage/archive-runs";
import { applyRetention } from "../../src/usage/retention";
import {
  bearer,
  enrichFresh,
  jsonCall,
  ledger,
  OPERATOR,
  setupAccount,
  type TestAccount,
} from "../support/api";
import { CUTOFF, DAY, d1Ids, places, run } from "./archive-support";
import { insertEvents, syntheticEvent } from "./outcome-support";
import { age, allPages, lostAckFlush, makeUsage } from "./support";

async function reconcile(acct: TestAccount) {
  const res = await jsonCall<{ verdict: string; total: Record<string, number> }>(
    "/v1/usage/reconcile?flush=true",
    { headers: bearer(acct.financeKey) },
  );
  // The watermark moves with the clock; everything else must not move.
  const { watermark: _w, ...books } = res.body as typeof res.body & { watermark?: string };
  return books;
}

/** An account with usage on several days, all of it older than the hot window. */
async function oldUsage() {
  const acct = await setupAccount();
  await makeUsage(acct);
  await age(acct.id, 30);
  await makeUsage(acct);
  await age(acct.id, 100);
  const ids = await d1Ids(acct.id);
  expect(ids.length).toBe(12);
  return { acct, ids };
}

/** A bucket whose `put` or `get` fails as R2 can. */
function failing(op: "put" | "get"): R2Bucket {
  const real = env.USAGE_ARCHIVE;
  return new Proxy(real, {
    get(target, prop) {
      if (prop === op)
        return async () => {
          throw new Error(`R2 ${op}: We encountered an internal error. Please try again.`);
        };
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Fails the first time a run reaches step `at` (the day it was on stays for the next run). */
const crash = (at: string) => {
  let crashed = false;
  return (step: string) => {
    if (step === at && !crashed) {
      crashed = true;
      throw new Error(`crash after ${at}`);
    }
  };
};

const FAULTS: Array<{
  name: string;
  hooks?: ArchiveHooks;
  bucket?: () => R2Bucket;
  moved: number;
}> = [
  // A step that fails once: the other day of the account goes on.
  { name: "after reading D1", hooks: { after: crash("read") }, moved: 1 },
  { name: "after the R2 write", hooks: { after: crash("written") }, moved: 1 },
  { name: "after the read-back", hooks: { after: crash("checked") }, moved: 1 },
  // R2 failing throughout: nothing moves.
  { name: "on an R2 write error", bucket: () => failing("put"), moved: 0 },
  { name: "on an R2 read error", bucket: () => failing("get"), moved: 0 },
  {
    name: "between deleting D1 rows (a D1 error inside the commit)",
    hooks: {
      commit: (statements) => [
        ...statements.slice(0, -1),
        env.DB.prepare("INSERT INTO no_such_table VALUES (1)"),
        ...statements.slice(-1),
      ],
    },
    moved: 0,
  },
  // The commit went through; the run failed before it could say so, and went on.
  { name: "after the commit", hooks: { after: crash("committed") }, moved: 2 },
];

describe("an archive run that fails", () => {
  for (const fault of FAULTS) {
    it(`${fault.name}: every event in one place, the books balanced, the next run finishes`, async () => {
      const { acct, ids } = await oldUsage();
      const before = await reconcile(acct);
      expect(before.verdict).toBe("balanced");

      const failed = await run(acct.id, fault.hooks, fault.bucket?.());
      expect(failed.error).not.toBeNull();
      expect(failed.more).toBe(true);
      const mid = await places(acct.id);
      expect([...mid.d1, ...mid.r2].sort()).toEqual(ids);
      expect(mid.r2.filter((id) => mid.d1.includes(id))).toEqual([]);
      expect((await listParts(env.DB, acct.id, null, null)).length).toBe(fault.moved);
      expect(await reconcile(acct)).toEqual(before);

      const rest = await run(acct.id);
      expect(rest).toMatchObject({ error: null, more: false });
      const after = await places(acct.id);
      expect(after).toEqual({ d1: [], r2: ids });
      expect(await reconcile(acct)).toEqual(before);
    });
  }
});

describe("a day bigger than one part", () => {
  it("goes in several parts of at most the limit, each event once", async () => {
    const acct = await setupAccount();
    const day = Date.parse(CUTOFF) - 5 * DAY;
    const events = Array.from({ length: 10 }, (_, i) =>
      syntheticEvent(acct.id, { occurredAt: new Date(day + i * 60_000).toISOString() }),
    );
    await insertEvents(events);
    const listed = await allPages(acct.financeKey, "", 3);
    expect(listed).toHaveLength(10);
    const result = await run(acct.id, { maxPartEvents: 4 });
    expect(result).toMatchObject({ days: 1, events: 10, error: null, more: false });
    const parts = await listParts(env.DB, acct.id, null, null);
    expect(parts.map((p) => p.events)).toEqual([4, 4, 2]);
    expect(await places(acct.id)).toEqual({ d1: [], r2: events.map((e) => e.id).sort() });
    // Read back part after part, the listing is the same.
    expect(await allPages(acct.financeKey, "", 3)).toEqual(listed);
  });
});

describe("a listing's snapshot", () => {
  it("leaves out an event archived after the listing began, like one flushed after it", async () => {
    const acct = await setupAccount();
    const day = Date.parse(CUTOFF) - 5 * DAY;
    const at = (minutes: number) => new Date(day + minutes * 60_000).toISOString();
    const old = [1, 2, 3].map((seq) => syntheticEvent(acct.id, { seq, occurredAt: at(seq) }));
    await insertEvents(old);
    expect((await run(acct.id)).events).toBe(3);
    const recent = [4, 5, 6].map((seq) =>
      syntheticEvent(acct.id, { seq, occurredAt: new Date(Date.now() - seq * 1000).toISOString() }),
    );
    await insertEvents(recent);

    type Page = { data: { id: string }[]; nextCursor: string | null };
    const page = (cursor: string | null) =>
      jsonCall<Page>(
        `/v1/usage/events?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        {
          headers: bearer(acct.financeKey),
        },
      );
    const first = await page(null);
    expect(first.body.data.map((e) => e.id)).toEqual(old.slice(0, 2).map((e) => e.id));
    // A late event of the archived day, after the page's position, archived while the listing runs.
    const late = syntheticEvent(acct.id, { seq: 7, occurredAt: at(30) });
    await insertEvents([late]);
    expect((await run(acct.id)).events).toBe(1);

    const ids = first.body.data.map((e) => e.id);
    let cursor = first.body.nextCursor;
    while (cursor) {
      const next = await page(cursor);
      ids.push(...next.body.data.map((e) => e.id));
      cursor = next.body.nextCursor;
    }
    expect(ids.sort()).toEqual([...old, ...recent].map((e) => e.id).sort());
    // A listing begun now has it.
    expect((await allPages(acct.financeKey, "", 50)).map((e) => e.id)).toContain(late.id);
  });
});

describe("a flush retried after its events were archived", () => {
  it("adds nothing, and events written after it still arrive", async () => {
    const acct = await setupAccount();
    for (const records of [1, 2, 3])
      expect((await enrichFresh(acct.memberKey, records)).status).toBe(200);
    // D1 took the batch but the ledger never heard: the events stay in its outbox.
    expect((await lostAckFlush(acct.id)).error).not.toBeNull();
    const sent = await d1Ids(acct.id);
    await age(acct.id, 100);
    expect((await run(acct.id)).events).toBe(sent.length);
    expect(await d1Ids(acct.id)).toEqual([]);

    expect((await ledger(acct.id).flush()).error).toBeNull();
    expect(await d1Ids(acct.id)).toEqual([]);
    expect((await places(acct.id)).r2).toEqual(sent);

    // The same batch sent once more through the flush's own insert: still nothing.
    const again = syntheticEvent(acct.id, { occurredAt: new Date().toISOString(), seq: 1 });
    await insertEvents([again]);
    expect(await d1Ids(acct.id)).toEqual([]);
    // A new event (a higher seq) is not held back by the archive.
    expect((await enrichFresh(acct.memberKey, 1)).status).toBe(200);
    expect((await ledger(acct.id).flush()).error).toBeNull();
    expect(await d1Ids(acct.id)).toHaveLength(1);
  });
});

describe("the scheduled archive", () => {
  // The runs archive every account's days before the cutoff: the clock is set years back, so
  // only this test's events are that old, whatever other test files keep in the same D1.
  const LONG_AGO = new Date("2016-03-01T00:00:00.000Z");
  const LONG_AGO_CUTOFF = new Date(LONG_AGO.getTime() - 62 * DAY).toISOString();
  const backlog = async () => {
    const r = await env.DB.prepare(
      "SELECT COUNT(DISTINCT account_id || substr(occurred_at, 1, 10)) AS n FROM usage_events WHERE occurred_at < ?",
    )
      .bind(LONG_AGO_CUTOFF)
      .first<{ n: number }>();
    return r?.n ?? 0;
  };

  it("works through a backlog in slices, never more than its slice per run", async () => {
    const accounts = await Promise.all([setupAccount(), setupAccount()]);
    const first = Date.parse(LONG_AGO_CUTOFF) - 10 * DAY;
    for (const acct of accounts) {
      await insertEvents(
        Array.from({ length: 6 }, (_, d) =>
          syntheticEvent(acct.id, { occurredAt: new Date(first + d * DAY).toISOString() }),
        ),
      );
    }
    const settings = { usageHotDays: 62, archiveSliceDays: 5 };
    expect(await backlog()).toBe(12);
    const moved: number[] = [];
    while ((await backlog()) > 0 && moved.length < 10) {
      const before = await backlog();
      const result = await scheduledArchive(env.DB, env.USAGE_ARCHIVE, settings, LONG_AGO);
      expect(result?.error).toBeNull();
      expect(before - (await backlog())).toBe(result?.days);
      moved.push(result?.days ?? 0);
    }
    expect(moved).toEqual([5, 5, 2]);
    for (const acct of accounts) expect((await places(acct.id)).r2).toHaveLength(6);

    const status = await jsonCall<Record<string, unknown>>("/admin/v1/usage/archive", {
      headers: OPERATOR,
    });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ bucket: true, hotDays: 62, sliceDays: 50 });
    expect(typeof status.body.lastRunAt).toBe("string");
    expect(typeof status.body.lastCompletedAt).toBe("string");
    expect(Number((status.body.archived as { parts: number }).parts)).toBeGreaterThanOrEqual(12);
  });

  it("runs from the Worker's Cron Trigger handler", async () => {
    const acct = await setupAccount();
    const at = new Date(Date.parse(LONG_AGO_CUTOFF) - 3 * DAY).toISOString();
    await insertEvents([syntheticEvent(acct.id, { occurredAt: at })]);
    const ctx = createExecutionContext();
    await worker.scheduled?.(createScheduledController({ scheduledTime: LONG_AGO }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await d1Ids(acct.id)).toEqual([]);
    expect((await places(acct.id)).r2).toHaveLength(1);
  });
});

describe("archive mode without a bucket", () => {
  it("keeps today's behaviour: rolled up in D1, target d1", async () => {
    const acct = await setupAccount();
    await insertEvents([
      syntheticEvent(acct.id, { occurredAt: new Date(Date.parse(CUTOFF) - 3 * DAY).toISOString() }),
    ]);
    const result = await applyRetention(
      env.DB,
      { cutoff: CUTOFF, mode: "archive", accountId: acct.id, dryRun: false },
      null,
    );
    expect(result).toMatchObject({ target: "d1", events: 1, error: null });
    expect(await d1Ids(acct.id)).toEqual([]);
    expect(await listParts(env.DB, acct.id, null, null)).toEqual([]);
  });
});
