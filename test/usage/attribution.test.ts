/**
 * GET /v1/usage/attribution (issue 16): credits, records and outcomes per group, outcomes
 * attributed by request id, else by record to the last touch in the 90 days before them.
 */
import { describe, expect, it } from "vitest";
import type { UsageEvent } from "../../src/usage/event";
import { bearer, jsonCall, ledger, type ProblemBody, setupAccount } from "../support/api";
import {
  attribution,
  DAY,
  daysBefore,
  enrichDomains,
  freshDomains,
  groupWhere,
  hashOf,
  insertEvents,
  reportOutcome,
  syntheticEvent,
} from "./outcome-support";

/** An instant two days ago, whole milliseconds: outcomes happen then, calls before it. */
function outcomeTime(): string {
  return new Date(Date.now() - 2 * DAY).toISOString();
}

async function report(key: string, body: Record<string, unknown>) {
  const res = await reportOutcome(key, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

let ids = 0;
const outcomeId = () => `o-${++ids}-${Math.random().toString(36).slice(2, 8)}`;

describe("GET /v1/usage/attribution", () => {
  it("attributes an outcome with a request id to that call only, by tag", async () => {
    const acct = await setupAccount();
    const other = await setupAccount();
    const tagged = await enrichDomains(acct.memberKey, freshDomains(2), {
      "x-credit-tags": "campaign=q4",
    });
    expect(tagged.status).toBe(200);
    const plainDomains = freshDomains(1);
    expect((await enrichDomains(acct.memberKey, plainDomains)).status).toBe(200);
    const voided = await enrichDomains(acct.memberKey, freshDomains(1), {
      "x-chaos-status": "500",
    });
    expect(voided.status).toBe(500);
    const theirs = await enrichDomains(other.memberKey, freshDomains(1));
    expect(theirs.status).toBe(200);
    await ledger(acct.id).flush();
    await ledger(other.id).flush();
    const requestId = (res: Response) => res.headers.get("x-request-id") ?? "";

    // The request id wins over the record (which the untagged call charged).
    await report(acct.adminKey, {
      id: outcomeId(),
      kind: "meeting_booked",
      requestId: requestId(tagged),
      recordKey: plainDomains[0],
      value: 100,
    });
    // A voided call, another account's call and no call at all: unattributed.
    for (const res of [voided, theirs]) {
      await report(acct.adminKey, {
        id: outcomeId(),
        kind: "meeting_booked",
        requestId: requestId(res),
      });
    }
    await report(acct.adminKey, { id: outcomeId(), kind: "meeting_booked", requestId: "nope" });

    const res = await attribution(acct.financeKey, "group_by=tag:campaign");
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.groupBy).toBe("tag:campaign");
    expect(res.body.windowDays).toBe(90);
    expect(res.body.groups).toEqual([
      {
        tags: { campaign: null },
        credits: 10,
        records: 1,
        outcomes: 0,
        outcomeValue: 0,
        creditsPerOutcome: null,
      },
      {
        tags: { campaign: "q4" },
        credits: 20,
        records: 2,
        outcomes: 1,
        outcomeValue: 100,
        creditsPerOutcome: 20,
      },
    ]);
    expect(res.body.unattributed).toEqual({ outcomes: 3, outcomeValue: 0 });
    // The other account sees its own call and none of these outcomes.
    const theirView = await attribution(other.financeKey, "group_by=action");
    expect(theirView.body.totals).toMatchObject({ credits: 10, outcomes: 0 });
    expect(theirView.body.unattributed).toEqual({ outcomes: 0, outcomeValue: 0 });
  });

  it("attributes an outcome by record to the last captured call that charged it, never another account's", async () => {
    const acct = await setupAccount();
    const other = await setupAccount();
    const at = outcomeTime();
    const acme = JSON.stringify([await hashOf(acct.id, "acme.com")]);
    await insertEvents([
      syntheticEvent(acct.id, { occurredAt: daysBefore(at, 30), recordKeys: acme }),
      // The last touch before the outcome:
      syntheticEvent(acct.id, {
        occurredAt: daysBefore(at, 10),
        action: "record_refresh.company",
        category: "record_refresh",
        credits: 5,
        recordKeys: acme,
      }),
      // Not captured, or after the outcome: not a touch.
      syntheticEvent(acct.id, {
        occurredAt: daysBefore(at, 1),
        action: "enrichment.contact",
        outcome: "voided",
        credits: 0,
        recordKeys: acme,
      }),
      syntheticEvent(acct.id, {
        occurredAt: daysBefore(at, 0, -3_600_000),
        action: "insights.smart_property",
        recordKeys: acme,
      }),
      // Another account's call with the very same hash, later than every touch above.
      syntheticEvent(other.id, {
        occurredAt: daysBefore(at, 1),
        action: "ai.generate",
        recordKeys: acme,
      }),
    ]);
    await report(acct.memberKey, {
      id: outcomeId(),
      kind: "deal_won",
      recordKey: "WWW.ACME.COM",
      occurredAt: at,
      value: 5000,
    });

    const res = await attribution(acct.adminKey, `group_by=action&from=${daysBefore(at, 40)}`);
    expect(res.status).toBe(200);
    const outcomes = Object.fromEntries(res.body.groups.map((g) => [g.action, g.outcomes]));
    // Groups are of captured calls: the voided one makes none.
    expect(outcomes).toEqual({
      "enrichment.company": 0,
      "insights.smart_property": 0,
      "record_refresh.company": 1,
    });
    expect(groupWhere(res.body.groups, "action", "record_refresh.company")).toMatchObject({
      credits: 5,
      records: 1,
      outcomeValue: 5000,
      creditsPerOutcome: 5,
    });
    expect(res.body.unattributed).toEqual({ outcomes: 0, outcomeValue: 0 });
    const theirs = await attribution(other.adminKey, "group_by=action");
    expect(theirs.body.totals.outcomes).toBe(0);
  });

  it("looks back exactly 90 days from the outcome: the first instant in, one millisecond earlier out", async () => {
    const acct = await setupAccount();
    const at = outcomeTime();
    const keys = async (k: string) => JSON.stringify([await hashOf(acct.id, k)]);
    await insertEvents([
      syntheticEvent(acct.id, {
        occurredAt: daysBefore(at, 90),
        action: "enrichment.company",
        recordKeys: await keys("edge.com"),
      }),
      syntheticEvent(acct.id, {
        occurredAt: daysBefore(at, 90, 1),
        action: "enrichment.contact",
        recordKeys: await keys("late.com"),
      }),
    ]);
    await report(acct.adminKey, {
      id: outcomeId(),
      kind: "reply",
      recordKey: "edge.com",
      occurredAt: at,
    });
    await report(acct.adminKey, {
      id: outcomeId(),
      kind: "reply",
      recordKey: "late.com",
      occurredAt: at,
    });
    const res = await attribution(acct.adminKey, "group_by=action");
    expect(res.body.groups.map((g) => [g.action, g.outcomes])).toEqual([
      ["enrichment.company", 1],
      ["enrichment.contact", 0],
    ]);
    expect(res.body.unattributed).toEqual({ outcomes: 1, outcomeValue: 0 });
  });

  it("computes credits, records, outcomes and credits per outcome as by hand, in range and of a kind", async () => {
    const acct = await setupAccount();
    const at = outcomeTime();
    const [k1, k2, k3] = [
      await hashOf(acct.id, "k1.com"),
      await hashOf(acct.id, "k2.com"),
      await hashOf(acct.id, "k3.com"),
    ];
    const contact = { action: "enrichment.contact", category: "enrichment" } as const;
    const events: UsageEvent[] = [
      syntheticEvent(acct.id, {
        occurredAt: daysBefore(at, 6),
        credits: 10,
        recordKeys: JSON.stringify([k1]),
      }),
      syntheticEvent(acct.id, {
        occurredAt: daysBefore(at, 5),
        credits: 15,
        recordKeys: JSON.stringify([k1, k2]),
      }),
      syntheticEvent(acct.id, {
        occurredAt: daysBefore(at, 7),
        credits: 50,
        recordKeys: JSON.stringify([k3, k1]),
        ...contact,
      }),
      // Before the range: its credits do not count, its record is no outcome's last touch.
      syntheticEvent(acct.id, {
        occurredAt: daysBefore(at, 20),
        credits: 1000,
        recordKeys: JSON.stringify([k3]),
        ...contact,
      }),
    ];
    await insertEvents(events);
    const deal = (recordKey: string, value?: number, kind = "deal_won", occurredAt = at) =>
      report(acct.adminKey, {
        id: outcomeId(),
        kind,
        recordKey,
        occurredAt,
        ...(value === undefined ? {} : { value }),
      });
    await deal("k1.com", 100); // last touch of k1: the company call 5 days before
    await deal("k2.com", 0);
    await deal("k2.com");
    await deal("k3.com", 7.5); // last touch of k3: the contact call 7 days before
    await deal("nobody.com", 9); // no call charged it
    await deal("k1.com", 1, "reply"); // another kind
    await deal("k1.com", 1, "deal_won", daysBefore(at, 11)); // before the range

    const range = `from=${daysBefore(at, 10)}&to=${daysBefore(at, 0, -1)}`;
    const res = await attribution(acct.financeKey, `group_by=action&kind=deal_won&${range}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.groups).toEqual([
      {
        action: "enrichment.company",
        credits: 25,
        records: 2,
        outcomes: 3,
        outcomeValue: 100,
        creditsPerOutcome: 8.33,
      },
      {
        action: "enrichment.contact",
        credits: 50,
        records: 2,
        outcomes: 1,
        outcomeValue: 7.5,
        creditsPerOutcome: 50,
      },
    ]);
    // k1 counts once though both actions charged it.
    expect(res.body.totals).toEqual({
      credits: 75,
      records: 3,
      outcomes: 4,
      outcomeValue: 107.5,
      creditsPerOutcome: 18.75,
    });
    expect(res.body.unattributed).toEqual({ outcomes: 1, outcomeValue: 9 });

    const everyKind = await attribution(acct.financeKey, `group_by=action&${range}`);
    expect(everyKind.body.totals.outcomes).toBe(5);
  });

  it("shows a member key only its own calls and the outcomes attributed to them", async () => {
    const acct = await setupAccount();
    const at = outcomeTime();
    const mine = JSON.stringify([await hashOf(acct.id, "mine.com")]);
    const theirs = JSON.stringify([await hashOf(acct.id, "theirs.com")]);
    await insertEvents([
      syntheticEvent(acct.id, {
        occurredAt: daysBefore(at, 1),
        memberId: acct.memberId,
        credits: 30,
        recordKeys: mine,
      }),
      syntheticEvent(acct.id, {
        occurredAt: daysBefore(at, 1),
        memberId: "member_else",
        credits: 70,
        recordKeys: theirs,
      }),
    ]);
    for (const recordKey of ["mine.com", "theirs.com", "nobody.com"]) {
      await report(acct.adminKey, { id: outcomeId(), kind: "reply", recordKey, occurredAt: at });
    }
    const own = await attribution(acct.memberKey, "group_by=member");
    expect(own.status).toBe(200);
    expect(own.body.groups).toEqual([
      {
        memberId: acct.memberId,
        credits: 30,
        records: 1,
        outcomes: 1,
        outcomeValue: 0,
        creditsPerOutcome: 30,
      },
    ]);
    expect(own.body.unattributed).toBeNull();
    const all = await attribution(acct.adminKey, "group_by=member");
    expect(all.body.groups.map((g) => [g.memberId, g.outcomes])).toEqual(
      [
        [acct.memberId, 1],
        ["member_else", 1],
      ].sort(),
    );
    expect(all.body.unattributed).toEqual({ outcomes: 1, outcomeValue: 0 });
  });

  it("refuses a bad group_by, kind or range with 400 naming the field", async () => {
    const acct = await setupAccount();
    const cases: [string, string][] = [
      ["group_by=day", "group_by"],
      ["group_by=category", "group_by"],
      ["group_by=action,team", "group_by"],
      ["group_by=", "group_by"],
      ["group_by=tag:", "group_by"],
      ["group_by=tag:Campaign", "group_by"],
      ["group_by=tag:a-b", "group_by"],
      ["kind=Deal", "kind"],
      ["from=2026-02-01&to=2026-01-01", "from"],
      ["from=yesterday", "from"],
      ["member=someone", ""],
    ];
    for (const [query, field] of cases) {
      const res = await jsonCall<ProblemBody & { issues: { path: string }[] }>(
        `/v1/usage/attribution?${query}`,
        { headers: bearer(acct.financeKey) },
      );
      expect(res.status, query).toBe(400);
      expect(res.body.code, query).toBe("validation_failed");
      if (field)
        expect(
          res.body.issues.map((i) => i.path),
          query,
        ).toContain(field);
    }
  });
});
