import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../../src/ledger/object";
import { EVENT_COLUMNS } from "../../src/usage/event";
import {
  bearer,
  call,
  d1Events,
  enrich,
  enrichFresh,
  jsonCall,
  ledger,
  type ProblemBody,
  setupAccount,
} from "../support/api";
import {
  allPages,
  csvObjects,
  exported,
  insertMany,
  insertSynthetic,
  lostAckFlush,
  makeUsage,
  type Row,
  secondMember,
} from "./support";

const sum = (rows: Row[], field: string, outcome = "captured") =>
  rows.filter((r) => r.outcome === outcome).reduce((s, r) => s + Number(r[field]), 0);

async function summary(key: string, query: string) {
  return jsonCall<{
    groups: Record<string, unknown>[];
    totals: { credits: number; units: number; calls: number; denials: number };
  }>(`/v1/usage/summary?${query}`, { headers: bearer(key) });
}

describe("usage export (SPEC §5 /usage/events)", () => {
  it("gives the same events in JSON pages, NDJSON and CSV, with totals equal to summary and reconcile", async () => {
    const acct = await setupAccount();
    const other = await secondMember(acct);
    await makeUsage(acct, other);

    const pages = await allPages(acct.financeKey, "", 2);
    const ndjson = (await exported(acct.financeKey, "", "ndjson")).text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row);
    const csv = await exported(acct.financeKey, "", "csv");
    expect(csv.res.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(csv.res.headers.get("content-disposition")).toMatch(/^attachment; filename="usage-/);
    const snapshot = Number(csv.res.headers.get("x-usage-snapshot"));
    expect(snapshot).toBe(Math.max(...pages.map((p) => Number(p.seq))));
    expect(csv.text.startsWith(`${EVENT_COLUMNS.map(([f]) => f).join(",")}\r\n`)).toBe(true);
    const rows = csvObjects(csv.text);

    // 3 + 1 captured enrichments, 1 captured test.one, 1 voided, 1 denial.
    expect(pages).toHaveLength(7);
    expect(ndjson).toEqual(pages);
    expect(rows.map((r) => r.id)).toEqual(pages.map((p) => p.id));
    for (const [i, r] of rows.entries()) {
      const p = pages[i] as Row;
      expect(Number(r.credits)).toBe(p.credits);
      expect(r.outcome).toBe(p.outcome);
      expect(r.teamId).toBe(p.teamId ?? "");
      expect(JSON.parse(r.grants as string)).toEqual(p.grants);
    }
    expect(pages.map((p) => p.outcome).sort()).toEqual([
      "captured",
      "captured",
      "captured",
      "captured",
      "captured",
      "denied",
      "voided",
    ]);
    const credits = sum(pages, "credits");
    expect(credits).toBe(10 + 20 + 30 + 40 + 1);

    const whole = await summary(acct.financeKey, "");
    // Every record was fresh: dedupe saved nothing.
    expect(whole.body.totals).toEqual({
      credits,
      units: sum(pages, "units"),
      calls: 6,
      denials: 1,
      creditsSaved: 0,
    });
    const grouped = await summary(acct.financeKey, "group_by=day,team,action");
    expect(grouped.status).toBe(200);
    expect(grouped.body.totals).toEqual(whole.body.totals);
    const byTeam = await summary(acct.financeKey, "group_by=team");
    expect(Object.fromEntries(byTeam.body.groups.map((g) => [g.teamId, g.credits]))).toEqual({
      [acct.teamId]: 61,
      [other.teamId]: 40,
    });

    const rec = await jsonCall<{
      verdict: string;
      total: { ledger: number; d1: number; pending: number };
      byAction: { action: string; ledger: number; d1: number }[];
      byTeam: { teamId: string; ledger: number; d1: number }[];
    }>("/v1/usage/reconcile", { headers: bearer(acct.financeKey) });
    expect(rec.status).toBe(200);
    expect(rec.body.verdict).toBe("balanced");
    expect(rec.body.total).toMatchObject({ ledger: credits, d1: credits, pending: 0 });
    expect(rec.body.byAction).toEqual([
      expect.objectContaining({ action: "enrichment.company", ledger: 100, d1: 100 }),
      expect.objectContaining({ action: "test.one", ledger: 1, d1: 1 }),
    ]);
    expect(rec.body.byTeam.map((t) => [t.teamId, t.ledger, t.d1]).sort()).toEqual(
      [
        [acct.teamId, 61, 61],
        [other.teamId, 40, 40],
      ].sort(),
    );
  });

  it("filters by team, member, action, category, outcome and time", async () => {
    const acct = await setupAccount();
    const other = await secondMember(acct);
    await makeUsage(acct, other);
    const all = await allPages(acct.adminKey, "", 50);
    const check = async (query: string, keep: (r: Row) => boolean) => {
      const got = await allPages(acct.adminKey, query, 2);
      expect(
        got.map((r) => r.id),
        query,
      ).toEqual(all.filter(keep).map((r) => r.id));
      expect(got.length, query).toBeGreaterThan(0);
    };
    await check(`team=${other.teamId}`, (r) => r.teamId === other.teamId);
    await check(`member=${acct.memberId}`, (r) => r.memberId === acct.memberId);
    await check("action=test.one", (r) => r.action === "test.one");
    await check("category=prospecting", (r) => r.category === "prospecting");
    await check("outcome=voided", (r) => r.outcome === "voided");
    await check("outcome=denied&action=prospecting.intent", (r) => r.outcome === "denied");
    const third = all[2] as Row;
    await check(
      `from=${encodeURIComponent(String(third.occurredAt))}`,
      (r) => String(r.occurredAt) >= String(third.occurredAt),
    );
    const none = await allPages(acct.adminKey, "from=2020-01-01&to=2020-02-01");
    expect(none).toEqual([]);
  });

  it("pages a snapshot: events flushed while paging neither repeat nor slip in, and none is lost", async () => {
    const acct = await setupAccount();
    const before = await insertSynthetic(acct.id, 9, {
      seqFrom: 1,
      at: (i) => `2026-11-10T00:00:0${i}.000Z`,
    });
    const ids: string[] = [];
    let cursor: string | null = null;
    let page = 0;
    do {
      const q: string = `limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res = await jsonCall<{ data: Row[]; nextCursor: string | null }>(
        `/v1/usage/events?${q}`,
        { headers: bearer(acct.financeKey) },
      );
      ids.push(...res.body.data.map((r) => String(r.id)));
      cursor = res.body.nextCursor;
      // A flush lands between pages: later seqs, some earlier in time than the cursor, some later.
      page += 1;
      await insertSynthetic(acct.id, 2, {
        seqFrom: 100 + page * 2,
        at: (i) => (i === 0 ? `2026-11-09T00:00:0${page}.000Z` : `2026-11-10T00:00:5${page}.000Z`),
      });
    } while (cursor !== null);
    expect(ids).toEqual(before.map((e) => e.id));
    expect(new Set(ids).size).toBe(ids.length);
    // A new listing sees the events that arrived meanwhile.
    const fresh = await allPages(acct.financeKey, "", 100);
    expect(fresh).toHaveLength(9 + page * 2);
  });

  it("quotes CSV cells per RFC 4180 and defuses formulas", async () => {
    const acct = await setupAccount();
    const nasty = ['=HYPERLINK("http://x","y")', '+1,"2"', "-3", "@SUM(A1)", "plain"];
    for (const key of nasty) {
      expect((await enrichFresh(acct.memberKey, 1, { "idempotency-key": key })).status).toBe(200);
    }
    await ledger(acct.id).flush();
    const { text } = await exported(acct.adminKey, "", "csv");
    const keys = csvObjects(text).map((r) => r.idempotencyKey);
    expect(keys).toEqual([`'=HYPERLINK("http://x","y")`, `'+1,"2"`, "'-3", "'@SUM(A1)", "plain"]);
    expect(text).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
  });

  it("lets a member key read only its own events, and keeps accounts apart (I6)", async () => {
    const acct = await setupAccount();
    const other = await secondMember(acct);
    await makeUsage(acct, other);
    const mine = await allPages(acct.memberKey, "", 50);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.memberId === acct.memberId)).toBe(true);
    const csv = csvObjects((await exported(other.key, "", "csv")).text);
    expect(csv.map((r) => r.memberId)).toEqual([other.memberId]);
    const theirs = await jsonCall<ProblemBody>(`/v1/usage/events?member=${other.memberId}`, {
      headers: bearer(acct.memberKey),
    });
    expect([theirs.status, theirs.body.code]).toEqual([403, "forbidden"]);
    const memberSummary = await summary(acct.memberKey, "");
    expect(memberSummary.body.totals.credits).toBe(sum(mine, "credits"));
    const rec = await jsonCall<ProblemBody>("/v1/usage/reconcile", {
      headers: bearer(acct.memberKey),
    });
    expect([rec.status, rec.body.code]).toEqual([403, "forbidden"]);

    const stranger = await setupAccount();
    const seen = await allPages(stranger.adminKey, "", 50);
    expect(seen).toEqual([]);
    const crossFilter = await allPages(stranger.adminKey, `member=${acct.memberId}`, 50);
    expect(crossFilter).toEqual([]);
  });

  it("refuses bad filters with problem+json 400", async () => {
    const acct = await setupAccount();
    await insertSynthetic(acct.id, 3, { seqFrom: 1, at: (i) => `2026-11-10T00:00:0${i}.000Z` });
    const first = await jsonCall<{ nextCursor: string }>("/v1/usage/events?limit=1", {
      headers: bearer(acct.adminKey),
    });
    // Well-formed base64url JSON, but not a cursor: the time is no ISO time.
    const forged = btoa(JSON.stringify({ v: 1, s: 1, t: "x", i: "y", q: "z" }))
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replace(/=+$/, "");
    const bad = [
      "/v1/usage/events?from=2026-11-10&to=2026-11-01",
      "/v1/usage/events?from=2026-11-10&to=2026-11-10",
      "/v1/usage/events?from=yesterday",
      "/v1/usage/events?outcome=refunded",
      "/v1/usage/events?limit=0",
      "/v1/usage/events?limit=1001",
      "/v1/usage/events?format=xml",
      "/v1/usage/events?cursor=not-a-cursor!",
      `/v1/usage/events?cursor=${forged}`,
      `/v1/usage/events?limit=1&outcome=captured&cursor=${encodeURIComponent(first.body.nextCursor)}`,
      `/v1/usage/events?format=csv&cursor=${encodeURIComponent(first.body.nextCursor)}`,
      "/v1/usage/events?format=ndjson&limit=5",
      "/v1/usage/events?colour=red",
      "/v1/usage/summary?group_by=week",
      "/v1/usage/summary?group_by=team,team",
      "/v1/usage/summary?group_by=",
      "/v1/usage/summary?from=2026-12-01&to=2026-11-01",
      "/v1/usage/reconcile?period=someday",
      "/v1/usage/reconcile?period=0050-06-15",
      `/v1/usage/events?to=${encodeURIComponent("9999-12-31T23:00:00-05:00")}`,
      "/v1/usage/events?from=1969-12-31",
      "/v1/usage/reconcile?flush=yes",
    ];
    for (const path of bad) {
      const res = await call(path, { headers: bearer(acct.adminKey) });
      expect(res.status, path).toBe(400);
      expect(res.headers.get("content-type"), path).toBe("application/problem+json");
      const body = (await res.json()) as ProblemBody;
      expect(body.requestId, path).toBe(res.headers.get("x-request-id"));
    }
  });

  it("streams 200,000 events as CSV, every one once, with exact totals", async () => {
    const acct = await setupAccount();
    const count = 200_000;
    const t0 = Date.parse("2026-11-02T00:00:00.000Z");
    await insertMany(acct.id, count, { from: t0, stepMs: 7, credits: 3 });
    const res = await call("/v1/usage/events?format=csv", { headers: bearer(acct.financeKey) });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader();
    let rest = "";
    let lines = 0;
    let credits = 0;
    const creditsAt = EVENT_COLUMNS.findIndex(([f]) => f === "credits");
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const parts = (rest + value).split("\r\n");
      rest = parts.pop() ?? "";
      for (const line of parts) {
        lines += 1;
        if (lines > 1) credits += Number(line.split(",")[creditsAt]);
      }
    }
    expect(rest).toBe("");
    expect(lines).toBe(count + 1);
    expect(credits).toBe(count * 3);
    const s = await summary(acct.financeKey, "");
    expect(s.body.totals.credits).toBe(count * 3);
  }, 120_000);
});

describe("reconcile (SPEC §5 /usage/reconcile)", () => {
  it("says pending while events wait in the outbox, and balanced after ?flush=true", async () => {
    const acct = await setupAccount();
    for (const r of [1, 2]) await enrichFresh(acct.memberKey, r);
    const pending = await jsonCall<{
      verdict: string;
      total: { ledger: number; d1: number; pending: number; unexplained: number };
      outbox: { capturedEvents: number };
      watermark: string;
    }>("/v1/usage/reconcile?period=current", { headers: bearer(acct.adminKey) });
    expect(pending.body.verdict).toBe("pending");
    expect(pending.body.total).toEqual({ ledger: 30, d1: 0, pending: 30, unexplained: 0 });
    expect(pending.body.outbox.capturedEvents).toBe(2);
    const flushed = await jsonCall<{
      verdict: string;
      total: { d1: number };
      flushed: { requested: boolean; events: number };
      watermark: string;
    }>("/v1/usage/reconcile?flush=true", { headers: bearer(acct.adminKey) });
    expect(flushed.body).toMatchObject({
      verdict: "balanced",
      total: { d1: 30 },
      flushed: { requested: true, events: 2 },
    });
    expect(Date.parse(flushed.body.watermark)).toBeGreaterThan(Date.parse(pending.body.watermark));
  });

  it("never counts an event twice when a flush lands between its two reads", async () => {
    const acct = await setupAccount();
    for (let i = 0; i < 3; i++) await enrichFresh(acct.memberKey, 1);
    const view = await runInDurableObject(ledger(acct.id), async (instance: AccountLedger) => {
      // D1 as the object sees it, except that the first read of D1's totals waits for a whole
      // flush to land first: the outbox's events reach D1 after the ledger's half was read.
      const real = env.DB;
      let armed = true;
      const racing = {
        prepare(query: string) {
          const statement = real.prepare(query);
          if (!armed || !query.includes("usage_deletions")) return statement;
          return {
            bind: (...args: unknown[]) => ({
              all: async () => {
                armed = false;
                expect((await instance.flush()).flushed).toBe(3);
                return real
                  .prepare(query)
                  .bind(...args)
                  .all();
              },
            }),
          };
        },
        batch: (statements: D1PreparedStatement[]) => real.batch(statements),
      };
      (instance as unknown as { env: { DB: unknown } }).env = { ...env, DB: racing };
      try {
        return await instance.reconcile("current", false);
      } finally {
        (instance as unknown as { env: unknown }).env = env;
      }
    });
    // As of the ledger's read, the three events waited in the outbox: pending, not twice.
    expect(view).toMatchObject({
      verdict: "pending",
      total: { ledger: 30, d1: 0, pending: 30, unexplained: 0 },
    });
    const now = await ledger(acct.id).reconcile("current", false);
    expect(now).toMatchObject({ verdict: "balanced", total: { ledger: 30, d1: 30, pending: 0 } });
  });

  it("counts events of a flush whose acknowledgement was lost once: as pending", async () => {
    const acct = await setupAccount();
    for (let i = 0; i < 3; i++) await enrichFresh(acct.memberKey, 1);
    expect((await lostAckFlush(acct.id)).error).toMatch(/connection lost/);
    expect(await d1Events(acct.id)).toHaveLength(3);
    const rec = await jsonCall<{ verdict: string; total: Record<string, number> }>(
      "/v1/usage/reconcile",
      { headers: bearer(acct.financeKey) },
    );
    expect(rec.body.verdict).toBe("pending");
    expect(rec.body.total).toEqual({ ledger: 30, d1: 0, pending: 30, unexplained: 0 });
    // The retry finds them in D1 already (the primary key), acknowledges them: balanced.
    expect((await ledger(acct.id).flush()).error).toBeNull();
    expect(await d1Events(acct.id)).toHaveLength(3);
    const after = await jsonCall<{ verdict: string }>("/v1/usage/reconcile", {
      headers: bearer(acct.financeKey),
    });
    expect(after.body.verdict).toBe("balanced");
  });

  it("reports a mismatch that the outbox does not explain", async () => {
    const acct = await setupAccount();
    await enrich(acct.memberKey, 2);
    await ledger(acct.id).flush();
    await env.DB.prepare("UPDATE usage_events SET credits = credits - 5 WHERE account_id = ?")
      .bind(acct.id)
      .run();
    const rec = await jsonCall<{ verdict: string; total: { unexplained: number } }>(
      "/v1/usage/reconcile",
      { headers: bearer(acct.financeKey) },
    );
    expect(rec.body.verdict).toBe("mismatch");
    expect(rec.body.total.unexplained).toBe(5);
  });

  it("reconciles the previous period and a period named by a date", async () => {
    const acct = await setupAccount();
    const prev = await jsonCall<{ period: { start: string; end: string }; verdict: string }>(
      "/v1/usage/reconcile?period=previous",
      { headers: bearer(acct.financeKey) },
    );
    const cur = await jsonCall<{ period: { start: string } }>("/v1/usage/reconcile", {
      headers: bearer(acct.financeKey),
    });
    expect(prev.body.period.end).toBe(cur.body.period.start);
    expect(prev.body.verdict).toBe("balanced");
    const byDate = await jsonCall<{ period: { start: string } }>(
      `/v1/usage/reconcile?period=${prev.body.period.start.slice(0, 10)}`,
      { headers: bearer(acct.financeKey) },
    );
    expect(byDate.body.period.start).toBe(prev.body.period.start);
  });
});
