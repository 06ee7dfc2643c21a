/**
 * X-Credit-Tags in usage (issue 16): the tags reach the event, the events listing and exports
 * filter by them, the summary filters and groups by them (raw events only), and it shows the
 * credits dedupe saved.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  balance,
  bearer,
  d1Events,
  jsonCall,
  ledger,
  type ProblemBody,
  setupAccount,
} from "../support/api";
import { enrichDomains, freshDomains, groupWhere } from "./outcome-support";
import { allPages, csvObjects, exported, type Row } from "./support";

interface Summary {
  groupBy: string[];
  groups: Record<string, unknown>[];
  totals: { credits: number; units: number; calls: number; denials: number; creditsSaved: number };
}

function summary(key: string, query: string) {
  return jsonCall<Summary>(`/v1/usage/summary?${query}`, { headers: bearer(key) });
}

/** Three tagged calls and one untagged, flushed: credits 10, 20, 30 and 40. */
async function taggedUsage() {
  const acct = await setupAccount();
  const calls: [number, string | null][] = [
    [1, "campaign=q4,source=crm"],
    [2, "campaign=q4"],
    [3, "campaign=spring, source=web"],
    [4, null],
  ];
  for (const [n, tags] of calls) {
    const res = await enrichDomains(
      acct.memberKey,
      freshDomains(n),
      tags === null ? {} : { "x-credit-tags": tags },
    );
    expect(res.status).toBe(200);
  }
  await ledger(acct.id).flush();
  return acct;
}

describe("X-Credit-Tags in usage", () => {
  it("records the tags on the event, in JSON pages, NDJSON and CSV alike", async () => {
    const acct = await taggedUsage();
    const pages = await allPages(acct.financeKey, "", 10);
    expect(pages.map((p) => p.tags)).toEqual([
      '{"campaign":"q4","source":"crm"}',
      '{"campaign":"q4"}',
      '{"campaign":"spring","source":"web"}',
      null,
    ]);
    const ndjson = (await exported(acct.financeKey, "", "ndjson")).text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row);
    expect(ndjson.map((e) => e.tags)).toEqual(pages.map((p) => p.tags));
    const csv = csvObjects((await exported(acct.financeKey, "", "csv")).text);
    expect(csv.map((r) => r.tags)).toEqual(pages.map((p) => p.tags ?? ""));
  });

  it("filters the events listing and its exports by tag, every pair of the filter matching", async () => {
    const acct = await taggedUsage();
    const q4 = await allPages(acct.financeKey, "tag=campaign:q4", 1);
    expect(q4.map((e) => e.credits)).toEqual([10, 20]);
    const both = await allPages(acct.financeKey, "tag=campaign:q4,source:crm", 1);
    expect(both.map((e) => e.credits)).toEqual([10]);
    expect(await allPages(acct.financeKey, "tag=campaign:q4,source:web", 1)).toEqual([]);
    expect(await allPages(acct.financeKey, "tag=campaign:Q4", 1)).toEqual([]);
    const csv = csvObjects((await exported(acct.financeKey, "tag=source:web", "csv")).text);
    expect(csv.map((r) => r.credits)).toEqual(["30"]);
    const ndjson = (await exported(acct.financeKey, "tag=campaign:spring", "ndjson")).text;
    expect(ndjson.split("\n").filter(Boolean)).toHaveLength(1);
  });

  it("refuses a cursor made for another tag filter", async () => {
    const acct = await taggedUsage();
    const first = await jsonCall<{ nextCursor: string | null }>(
      "/v1/usage/events?tag=campaign:q4&limit=1",
      { headers: bearer(acct.financeKey) },
    );
    expect(first.body.nextCursor).not.toBeNull();
    const cursor = encodeURIComponent(first.body.nextCursor ?? "");
    const other = await jsonCall<ProblemBody>(
      `/v1/usage/events?tag=campaign:spring&limit=1&cursor=${cursor}`,
      { headers: bearer(acct.financeKey) },
    );
    expect(other.status).toBe(400);
  });

  it("filters the summary by tag and groups it by tag:<key>, calls without the tag in a null group", async () => {
    const acct = await taggedUsage();
    const q4 = await summary(acct.financeKey, "tag=campaign:q4");
    expect(q4.status).toBe(200);
    expect(q4.body.totals).toEqual({
      credits: 30,
      units: 3,
      calls: 2,
      denials: 0,
      creditsSaved: 0,
    });

    const byCampaign = await summary(acct.financeKey, "group_by=tag:campaign");
    expect(byCampaign.status).toBe(200);
    expect(byCampaign.body.groupBy).toEqual(["tag:campaign"]);
    expect(byCampaign.body.groups.map((g) => [g.tags, g.credits])).toEqual([
      [{ campaign: null }, 40],
      [{ campaign: "q4" }, 30],
      [{ campaign: "spring" }, 30],
    ]);

    const mixed = await summary(acct.financeKey, "group_by=action,tag:source,tag:campaign");
    expect(mixed.status).toBe(200);
    const crm = groupWhere(
      mixed.body.groups.map((g) => ({ ...g, key: JSON.stringify(g.tags) })),
      "key",
      JSON.stringify({ source: "crm", campaign: "q4" }),
    );
    expect(crm).toMatchObject({ action: "enrichment.company", credits: 10, calls: 1 });
    expect(mixed.body.totals.credits).toBe(100);

    // A member key reads its own calls by tag too.
    const own = await summary(acct.memberKey, "group_by=tag:source");
    expect(own.body.totals.credits).toBe(100);
  });

  it("counts raw events only when a query filters or groups by tag: archived days keep no tags", async () => {
    const acct = await taggedUsage();
    await env.DB.prepare(
      `INSERT INTO usage_rollups (account_id, day, period_start, team_id, member_id, action,
         category, outcome, events, units, credits)
       VALUES (?, '2026-01-05', '2026-01-01T00:00:00.000Z', ?, ?, 'enrichment.company',
         'enrichment', 'captured', 7, 7, 70)`,
    )
      .bind(acct.id, acct.teamId, acct.memberId)
      .run();
    const all = await summary(acct.financeKey, "");
    expect(all.body.totals.credits).toBe(170);
    const byTag = await summary(acct.financeKey, "group_by=tag:campaign");
    expect(byTag.body.totals.credits).toBe(100);
    expect(byTag.body.groups.map((g) => g.credits)).toEqual([40, 30, 30]);
    const filtered = await summary(acct.financeKey, "tag=campaign:q4&group_by=day");
    expect(filtered.body.totals.credits).toBe(30);
  });

  it("shows the credits dedupe saved, in the totals and per group", async () => {
    const acct = await setupAccount();
    const [a, b, c] = freshDomains(3) as [string, string, string];
    expect((await enrichDomains(acct.memberKey, [a, b])).status).toBe(200);
    // a and b were enriched: only c is charged, 20 credits saved.
    const again = await enrichDomains(acct.memberKey, [a, b, c], { "x-credit-tags": "run=two" });
    expect(again.status).toBe(200);
    expect(again.headers.get("x-credits-charged")).toBe("10");
    await ledger(acct.id).flush();

    const whole = await summary(acct.financeKey, "");
    expect(whole.body.totals).toEqual({
      credits: 30,
      units: 3,
      calls: 2,
      denials: 0,
      creditsSaved: 20,
    });
    const byTag = await summary(acct.financeKey, "group_by=tag:run");
    expect(byTag.body.groups.map((g) => [g.tags, g.credits, g.creditsSaved])).toEqual([
      [{ run: null }, 20, 0],
      [{ run: "two" }, 10, 20],
    ]);
  });

  it("refuses a priced call with bad tags (400 naming the header) and holds, charges and records nothing", async () => {
    const acct = await setupAccount();
    const before = await balance(acct.adminKey);
    for (const tags of [
      "Campaign=q4",
      "campaign",
      "campaign=",
      "campaign=q 4",
      "campaign=q4,campaign=q5",
      "a=1,b=2,c=3,d=4,e=5,f=6",
      "campaign=q4;source=crm",
    ]) {
      const res = await enrichDomains(acct.memberKey, freshDomains(1), { "x-credit-tags": tags });
      expect(res.status, tags).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const body = (await res.json()) as ProblemBody;
      expect(body.field, tags).toBe("X-Credit-Tags");
    }
    const after = await balance(acct.adminKey);
    expect(after.held).toBe(0);
    expect(after.available).toBe(before.available);
    expect(after.capturedThisPeriod).toBe(before.capturedThisPeriod);
    await ledger(acct.id).flush();
    expect(await d1Events(acct.id)).toEqual([]);
  });

  it("refuses a bad tag filter or tag group key with 400 naming the field", async () => {
    const acct = await taggedUsage();
    const cases: [string, string][] = [
      ["/v1/usage/summary?tag=campaign", "tag"],
      ["/v1/usage/summary?tag=Campaign:q4", "tag"],
      ["/v1/usage/summary?tag=campaign:q4,campaign:q5", "tag"],
      ["/v1/usage/summary?tag=campaign:", "tag"],
      ["/v1/usage/summary?tag=campaign:q4&tag=source:crm", "tag"],
      ["/v1/usage/summary?tag=a:1,b:2,c:3,d:4,e:5,f:6", "tag"],
      ["/v1/usage/summary?group_by=tag:", "group_by"],
      ["/v1/usage/summary?group_by=tag:Campaign", "group_by"],
      ["/v1/usage/summary?group_by=tag:campaign,tag:campaign", "group_by"],
      ["/v1/usage/summary?group_by=tags:campaign", "group_by"],
      ["/v1/usage/events?tag=campaign=q4", "tag"],
      ["/v1/usage/events?format=csv&tag=campaign", "tag"],
    ];
    for (const [path, field] of cases) {
      const res = await jsonCall<ProblemBody & { issues: { path: string }[] }>(path, {
        headers: bearer(acct.financeKey),
      });
      expect(res.status, path).toBe(400);
      expect(res.headers.get("content-type"), path).toBe("application/problem+json");
      expect(res.body.code, path).toBe("validation_failed");
      expect(
        res.body.issues.map((i) => i.path),
        path,
      ).toContain(field);
    }
  });
});
