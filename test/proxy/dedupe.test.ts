/**
 * Issue 16: each record enriched once. Through the real worker and ledger: repeats within a
 * call, records enriched by an earlier call, the window's end, 20 concurrent calls with one new
 * record, a void giving keys back, a restart, and bad keys refused with nothing changed.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../../src/ledger/object";
import { DAY_MS } from "../../src/lib/time";
import { dedupeHeaders, SKIPPED_HEADER_MAX, type SkippedRecord } from "../../src/proxy/dedupe";
import {
  balance,
  bearer,
  call,
  jsonCall,
  ledger,
  setupAccount,
  type TestAccount,
} from "../support/api";

let serial = 0;
/** A domain no other test uses. */
function fresh(label = "co"): string {
  serial += 1;
  return `${label}-${serial}-${Math.random().toString(36).slice(2, 8)}.example`;
}

function enrichCompanies(
  key: string,
  records: unknown[],
  headers: Record<string, string> = {},
): Promise<Response> {
  return call("/v1/enrichment/companies", {
    method: "POST",
    headers: { ...bearer(key), "content-type": "application/json", ...headers },
    body: JSON.stringify({ records }),
  });
}

/** Calls with the chaos upstream echoing what it received; returns the records it got. */
async function echoed(res: Response): Promise<unknown[]> {
  const body = (await res.json()) as { body: string };
  return (JSON.parse(body.body) as { records: unknown[] }).records;
}

interface EventRow {
  outcome: string;
  reason: string | null;
  credits: number;
  units: number;
  records_charged: number | null;
  records_skipped: number | null;
  credits_saved: number | null;
  record_keys: string | null;
  action: string;
}

async function events(acct: TestAccount): Promise<EventRow[]> {
  await ledger(acct.id).flush();
  const { results } = await env.DB.prepare(
    "SELECT * FROM usage_events WHERE account_id = ? ORDER BY seq",
  )
    .bind(acct.id)
    .all<EventRow>();
  return results;
}

/** Rows of the ledger's enriched-records table. */
async function keyRows(acct: TestAccount) {
  return runInDurableObject(ledger(acct.id), (_o, state) =>
    state.storage.sql
      .exec<{
        grp: string;
        enriched_at: number | null;
        hold_id: string | null;
        expires_at: number;
      }>("SELECT grp, enriched_at, hold_id, expires_at FROM dedupe_keys")
      .toArray()
      .map((r) => ({ ...r })),
  );
}

async function shiftClock(acct: TestAccount, offsetMs: number) {
  await runInDurableObject(ledger(acct.id), (instance: AccountLedger) => {
    instance.clock = () => Date.now() + offsetMs;
  });
}

describe("dedupe: each record charged once per window", () => {
  it("charges each distinct key of a call once and forwards only the records charged", async () => {
    const acct = await setupAccount();
    const a = fresh();
    const b = fresh();
    const records = [
      { domain: a },
      { domain: ` WWW.${a.toUpperCase()} ` },
      { domain: b },
      { name: "No Domain Inc" },
      { domain: "" },
      { domain: a },
    ];
    const res = await enrichCompanies(acct.memberKey, records, { "x-chaos-echo": "1" });
    expect(res.status).toBe(200);
    // a, b and the two records without a key: 4 records, 40 credits.
    expect(res.headers.get("x-credits-charged")).toBe("40");
    expect(res.headers.get("x-credits-records-charged")).toBe("4");
    expect(res.headers.get("x-credits-records-skipped")).toBe("2");
    expect(res.headers.get("x-credits-skipped")).toBe("1;repeat-of=0, 5;repeat-of=0");
    expect(await echoed(res)).toEqual([records[0], records[2], records[3], records[4]]);
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(40);
    const [event] = await events(acct);
    expect(event).toMatchObject({
      outcome: "captured",
      credits: 40,
      units: 4,
      records_charged: 4,
      records_skipped: 2,
      credits_saved: 20,
    });
    expect(JSON.parse(event?.record_keys ?? "null")).toHaveLength(2);
  });

  it("skips records enriched by an earlier call; a call with nothing new is not forwarded", async () => {
    const acct = await setupAccount();
    const a = fresh();
    const b = fresh();
    const first = await enrichCompanies(acct.memberKey, [{ domain: a }]);
    expect(first.headers.get("x-credits-charged")).toBe("10");
    await first.arrayBuffer();

    const second = await enrichCompanies(acct.memberKey, [{ domain: a }, { domain: b }], {
      "x-chaos-echo": "1",
    });
    expect(second.headers.get("x-credits-charged")).toBe("10");
    const skipped = second.headers.get("x-credits-skipped") ?? "";
    expect(skipped).toMatch(/^0;enriched="\d{4}-\d\d-\d\dT[\d:.]+Z"$/);
    expect(await echoed(second)).toEqual([{ domain: b }]);

    // Everything enriched: the gateway answers itself. The chaos front would fail the call if
    // it were reached (x-chaos-throw), so a 200 shows the upstream was not called.
    const third = await enrichCompanies(
      acct.memberKey,
      [{ domain: b }, { domain: `www.${a}` }, { domain: b }],
      { "x-chaos-throw": "1" },
    );
    expect(third.status).toBe(200);
    expect(third.headers.get("x-credits-charged")).toBe("0");
    const body = (await third.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      action: "enrichment.company",
      charged: 0,
      records: { charged: 0, skipped: 3 },
      creditsSaved: 30,
    });
    expect(body.skipped).toEqual([
      { index: 0, reason: "enriched", enrichedAt: expect.any(String) },
      { index: 1, reason: "enriched", enrichedAt: expect.any(String) },
      { index: 2, reason: "repeated", firstIndex: 0 },
    ]);
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(20);
    const all = await events(acct);
    expect(all.map((e) => [e.outcome, e.reason, e.credits, e.credits_saved])).toEqual([
      ["captured", null, 10, 0],
      ["captured", null, 10, 10],
      ["captured", "deduplicated", 0, 30],
    ]);
  });

  it("a dry run reports the records that would be charged and skipped, and takes nothing", async () => {
    const acct = await setupAccount();
    const a = fresh();
    await (await enrichCompanies(acct.memberKey, [{ domain: a }])).arrayBuffer();
    const dry = await enrichCompanies(acct.memberKey, [{ domain: a }, { domain: fresh() }], {
      "x-credit-dry-run": "true",
    });
    expect(await dry.json()).toMatchObject({
      dryRun: true,
      units: 1,
      credits: 10,
      records: { charged: 1, skipped: 1 },
      creditsSaved: 10,
    });
    expect(dry.headers.get("x-credits-quote")).toBe("10");
    expect((await keyRows(acct)).filter((r) => r.hold_id !== null)).toEqual([]);
  });

  it("the quote with keys says which records would be charged", async () => {
    const acct = await setupAccount();
    const a = fresh();
    await (await enrichCompanies(acct.memberKey, [{ domain: a }])).arrayBuffer();
    const keys = [`WWW.${a}`, fresh(), a].join(",");
    const quote = await jsonCall(
      `/v1/quote?action=enrichment.company&units=4&keys=${encodeURIComponent(keys)}`,
      { headers: bearer(acct.memberKey) },
    );
    expect(quote.status).toBe(200);
    // One new key and one record without a key: 2 charged; a (twice) skipped.
    expect(quote.body).toMatchObject({
      allowed: true,
      units: 2,
      credits: 20,
      records: { charged: 2, skipped: 2 },
      creditsSaved: 20,
    });
    const notDeduped = await jsonCall("/v1/quote?action=prospecting.intent&keys=a", {
      headers: bearer(acct.memberKey),
    });
    expect(notDeduped.status).toBe(400);
    expect(notDeduped.body).toMatchObject({ field: "keys" });
    const tooMany = await jsonCall("/v1/quote?action=enrichment.company&units=1&keys=a,b", {
      headers: bearer(acct.memberKey),
    });
    expect(tooMany.status).toBe(400);
  });

  it("charges a record again once its window has passed, not before", async () => {
    const acct = await setupAccount();
    const a = fresh();
    await (await enrichCompanies(acct.memberKey, [{ domain: a }])).arrayBuffer();
    // One minute before the 30 days end: still enriched.
    await shiftClock(acct, 30 * DAY_MS - 60_000);
    const before = await enrichCompanies(acct.memberKey, [{ domain: a }]);
    expect(before.headers.get("x-credits-charged")).toBe("0");
    await before.arrayBuffer();
    // One minute after: charged again, and enriched anew from then.
    await shiftClock(acct, 30 * DAY_MS + 60_000);
    const after = await enrichCompanies(acct.memberKey, [{ domain: a }]);
    expect(after.headers.get("x-credits-charged")).toBe("10");
    await after.arrayBuffer();
    const again = await enrichCompanies(acct.memberKey, [{ domain: a }]);
    expect(again.headers.get("x-credits-charged")).toBe("0");
    await again.arrayBuffer();
  });

  it("charges one new record exactly once when 20 calls race with it", async () => {
    const acct = await setupAccount();
    const a = fresh();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        enrichCompanies(acct.memberKey, [{ domain: a }], { "x-chaos-delay-ms": "50" }),
      ),
    );
    const charged = responses.map((r) => Number(r.headers.get("x-credits-charged")));
    for (const r of responses) await r.arrayBuffer();
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(charged.filter((c) => c === 10)).toHaveLength(1);
    expect(charged.filter((c) => c === 0)).toHaveLength(19);
    const b = await balance(acct.memberKey);
    expect(b.capturedThisPeriod).toBe(10);
    expect(b.held).toBe(0);
    const all = await events(acct);
    expect(all.filter((e) => e.credits > 0)).toHaveLength(1);
    expect(all.filter((e) => e.reason === "deduplicated")).toHaveLength(19);
  }, 60_000);

  it("a call skips a record in flight; a voided call gives its records back", async () => {
    const acct = await setupAccount();
    const a = fresh();
    // The first call is slow and then fails: its hold takes `a` and is voided.
    const slow = enrichCompanies(acct.memberKey, [{ domain: a }], {
      "x-chaos-delay-ms": "300",
      "x-chaos-status": "500",
    });
    await new Promise((r) => setTimeout(r, 100));
    const during = await enrichCompanies(acct.memberKey, [{ domain: a }]);
    expect(during.headers.get("x-credits-charged")).toBe("0");
    expect(during.headers.get("x-credits-skipped")).toBe("0;in-flight");
    await during.arrayBuffer();
    const failed = await slow;
    expect(failed.status).toBe(500);
    expect(failed.headers.get("x-credits-charged")).toBe("0");
    await failed.arrayBuffer();
    expect(await keyRows(acct)).toEqual([]);
    // Given back: the next call is charged for it.
    const next = await enrichCompanies(acct.memberKey, [{ domain: a }]);
    expect(next.headers.get("x-credits-charged")).toBe("10");
    await next.arrayBuffer();
    expect((await balance(acct.memberKey)).capturedThisPeriod).toBe(10);
  });

  it("an expired hold gives its records back", async () => {
    const acct = await setupAccount();
    const a = fresh();
    const id = env.LEDGER.idFromName(acct.id);
    const stub = env.LEDGER.get(id);
    // Admit directly (as the worker would) and never settle: the hold lapses.
    const hash = (await import("../../src/lib/records")).recordKeyHash;
    const key = await hash(acct.id, a);
    const { sha256Hex } = await import("../../src/lib/hash");
    const admitted = await stub.admit({
      keyHash: await sha256Hex(acct.memberKey),
      requestId: "req-expire",
      action: {
        id: "enrichment.company",
        category: "enrichment",
        plans: ["starter", "professional", "enterprise"],
        seat: null,
        settlement: "on_success",
        price: { credits: 10, per: 1, unit: { from: "body", field: "records" }, maxUnits: 100 },
        units: 1,
        holdCredits: 10,
      },
      purpose: null,
      idempotency: null,
      dryRun: false,
      dedupe: { group: "enrichment.company", windowMs: 30 * DAY_MS, keys: [key], unkeyed: 0 },
    });
    expect(admitted.kind).toBe("admitted");
    expect((await keyRows(acct)).map((r) => r.hold_id === null)).toEqual([false]);
    await shiftClock(acct, 10 * 60_000);
    await runInDurableObject(ledger(acct.id), (instance: AccountLedger) => instance.alarm());
    expect(await keyRows(acct)).toEqual([]);
    await shiftClock(acct, 10 * 60_000 + 1000);
    const next = await enrichCompanies(acct.memberKey, [{ domain: a }]);
    expect(next.headers.get("x-credits-charged")).toBe("10");
    await next.arrayBuffer();
  });

  it("remembers enriched records through a restart of the ledger", async () => {
    const acct = await setupAccount();
    const a = fresh();
    await (await enrichCompanies(acct.memberKey, [{ domain: a }])).arrayBuffer();
    await runInDurableObject(ledger(acct.id), (_o, state) => state.abort("restart")).catch(
      () => {},
    );
    const after = await enrichCompanies(acct.memberKey, [{ domain: a }]);
    expect(after.status).toBe(200);
    expect(after.headers.get("x-credits-charged")).toBe("0");
    await after.arrayBuffer();
  });

  it("keeps groups and accounts apart: refresh and enrichment, two accounts", async () => {
    const one = await setupAccount();
    const two = await setupAccount();
    const a = fresh();
    await (await enrichCompanies(one.memberKey, [{ domain: a }])).arrayBuffer();
    const other = await enrichCompanies(two.memberKey, [{ domain: a }]);
    expect(other.headers.get("x-credits-charged")).toBe("10");
    await other.arrayBuffer();
    // Contact enrichment is its own group.
    const contact = await call("/v1/enrichment/contacts", {
      method: "POST",
      headers: { ...bearer(one.memberKey), "content-type": "application/json" },
      body: JSON.stringify({ records: [{ email: `Ada@${a}` }, { email: `ada@${a} ` }] }),
    });
    expect(contact.headers.get("x-credits-charged")).toBe("10");
    expect(contact.headers.get("x-credits-skipped")).toBe("1;repeat-of=0");
    await contact.arrayBuffer();
  });

  it("refuses a key of the wrong type, naming the record, and changes nothing", async () => {
    const acct = await setupAccount();
    const before = await balance(acct.memberKey);
    for (const bad of [42, { host: "x" }, ["a.example"], true]) {
      const res = await jsonCall<{ code: string; field: string; detail: string }>(
        "/v1/enrichment/companies",
        {
          method: "POST",
          headers: bearer(acct.memberKey),
          json: { records: [{ domain: fresh() }, { domain: bad }] },
        },
      );
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(res.body.field).toBe("records[1].domain");
      expect(res.body.detail).toContain("records[1].domain");
    }
    expect(await balance(acct.memberKey)).toEqual(before);
    expect(await keyRows(acct)).toEqual([]);
    expect(await events(acct)).toEqual([]);
  });

  it("forgets enriched records once their window has passed (bounded)", async () => {
    const acct = await setupAccount({ plan: "enterprise" });
    const records = Array.from({ length: 50 }, () => ({ domain: fresh() }));
    const res = await enrichCompanies(acct.memberKey, records);
    expect(res.headers.get("x-credits-charged")).toBe("500");
    await res.arrayBuffer();
    expect(await keyRows(acct)).toHaveLength(50);
    await shiftClock(acct, 29 * DAY_MS);
    await runInDurableObject(ledger(acct.id), (instance: AccountLedger) => instance.alarm());
    expect(await keyRows(acct)).toHaveLength(50);
    await shiftClock(acct, 30 * DAY_MS + 1000);
    await runInDurableObject(ledger(acct.id), (instance: AccountLedger) => instance.alarm());
    expect(await keyRows(acct)).toEqual([]);
  });

  it("caps X-Credits-Skipped and counts the records it leaves out", () => {
    const skipped: SkippedRecord[] = Array.from({ length: 1000 }, (_, i) => ({
      index: i + 1,
      reason: "repeated",
      firstIndex: 0,
    }));
    const headers = dedupeHeaders(
      { charged: 1, skipped: 1000, skippedKeys: [], saved: 0 },
      skipped,
    );
    const listed = headers["x-credits-skipped"]?.split(", ") ?? [];
    expect(headers["x-credits-skipped"]?.length).toBeLessThanOrEqual(SKIPPED_HEADER_MAX);
    expect(listed.length).toBeGreaterThan(100);
    expect(listed[0]).toBe("1;repeat-of=0");
    expect(Number(headers["x-credits-skipped-omitted"])).toBe(1000 - listed.length);
    const few = dedupeHeaders(
      { charged: 1, skipped: 1, skippedKeys: [], saved: 0 },
      skipped.slice(0, 1),
    );
    expect(few["x-credits-skipped-omitted"]).toBeUndefined();
  });
});
