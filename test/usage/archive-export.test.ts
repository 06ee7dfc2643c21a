/**
 * Exports over archived days (issue 19): `/v1/usage/events` gives the same events in the same
 * order, byte for byte, in JSON pages, NDJSON and CSV, whether they are in D1, in R2, or split
 * between the two (late events of an archived day, several parts of a day), with every filter
 * applied to archived days too; a cursor continues across an archive run; a listing read while
 * an archive run commits loses nothing; a listed part missing from R2 is an error, never a
 * short export.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { archiveDay, listParts, readPart } from "../../src/usage/archive";
import { partKeys } from "../../src/usage/archive-format";
import { type EventSource, eventPages, takeRows } from "../../src/usage/archive-read";
import { EVENT_COLUMNS, type UsageEvent } from "../../src/usage/event";
import { type RawEvent, snapshotOf } from "../../src/usage/events";
import type { UsageFilter } from "../../src/usage/filter";
import { bearer, call, jsonCall, setupAccount, type TestAccount } from "../support/api";
import { everyEventOf } from "./archive-support";
import { DAY, insertEvents, syntheticEvent } from "./outcome-support";

const TODAY = Math.floor(Date.now() / DAY) * DAY;
/** The UTC date `n` days ago. */
const dayAgo = (n: number) => new Date(TODAY - n * DAY).toISOString().slice(0, 10);
const OLD = [130, 129, 128, 110, 100].map(dayAgo);
const HOT = [20, 3, 1].map(dayAgo);
/** Two events of a day share 09:15: their ids decide the order. */
const TIMES = ["00:00:00.000", "09:15:00.000", "09:15:00.000", "17:40:12.345", "23:59:59.999"];
const TAGS = [null, { campaign: "q4" }, { campaign: "q4", source: "crm" }, { source: "web" }];
const PURPOSES = [null, 'Renewal, "Q4" push\nsecond line', '=HYPERLINK("http://x")', "plain"];
const ACTIONS = [
  ["enrichment.company", "enrichment"],
  ["ai.generate", "ai"],
  ["prospecting.intent", "prospecting"],
  ["enrichment.contact", "enrichment"],
  ["ai.generate", "ai"],
] as const;
const OUTCOMES = ["captured", "captured", "voided", "denied"] as const;

let made = 0;
/** An event of `acct` at `at`, its fields cycling through teams, actions, outcomes and tags. */
function event(acct: TestAccount, at: string, id?: string): UsageEvent {
  const i = made++;
  const [action, category] = ACTIONS[i % ACTIONS.length] as (typeof ACTIONS)[number];
  const outcome = OUTCOMES[i % OUTCOMES.length] as (typeof OUTCOMES)[number];
  const credits = outcome === "captured" ? 1 + (i % 7) : 0;
  const tags = TAGS[i % TAGS.length] ?? null;
  return syntheticEvent(acct.id, {
    // Ids run against creation order, so ties at 09:15 are ordered by id, not by seq.
    id: id ?? `evt_${String(100_000 - i).padStart(6, "0")}_${acct.id}`,
    occurredAt: at,
    teamId: [acct.teamId, "team_ops", null][i % 3] ?? null,
    memberId: [acct.memberId, "member_bo", acct.memberId, null][i % 4] ?? null,
    action,
    category,
    outcome,
    reason:
      outcome === "denied" ? "plan_excludes_action" : outcome === "voided" ? "upstream" : null,
    credits,
    heldCredits: outcome === "denied" ? 0 : 7,
    grants: credits ? JSON.stringify([{ grantId: "g_main", amount: credits }]) : "[]",
    upstreamStatus: outcome === "denied" ? null : outcome === "voided" ? 500 : 200,
    purpose: PURPOSES[i % PURPOSES.length] ?? null,
    tags: tags ? JSON.stringify(tags) : null,
  });
}

/** Every time of each day, for each day. */
function eventsOn(acct: TestAccount, days: readonly string[]): UsageEvent[] {
  return days.flatMap((day) => TIMES.map((t) => event(acct, `${day}T${t}Z`)));
}

interface Query {
  q: string;
  keep: (e: UsageEvent) => boolean;
}

const tag = (e: UsageEvent, key: string) =>
  e.tags ? (JSON.parse(e.tags) as Record<string, string>)[key] : undefined;

function queries(acct: TestAccount): Query[] {
  const from = `${OLD[1]}T09:15:00.000Z`;
  const to = `${HOT[1]}T17:40:12.345Z`;
  const inRange = (e: UsageEvent) => e.occurredAt >= from && e.occurredAt < to;
  const [start, end] = [`${OLD[2]}T00:00:00.000Z`, `${OLD[4]}T00:00:00.000Z`];
  return [
    { q: "", keep: () => true },
    { q: `team=${acct.teamId}`, keep: (e) => e.teamId === acct.teamId },
    { q: "member=member_bo", keep: (e) => e.memberId === "member_bo" },
    { q: "action=ai.generate", keep: (e) => e.action === "ai.generate" },
    { q: "category=enrichment", keep: (e) => e.category === "enrichment" },
    { q: "outcome=denied", keep: (e) => e.outcome === "denied" },
    { q: "tag=campaign:q4", keep: (e) => tag(e, "campaign") === "q4" },
    {
      q: "tag=campaign:q4,source:crm",
      keep: (e) => tag(e, "campaign") === "q4" && tag(e, "source") === "crm",
    },
    { q: `from=${from}&to=${to}`, keep: inRange },
    {
      q: `from=${from}&to=${to}&team=${acct.teamId}&outcome=captured`,
      keep: (e) => inRange(e) && e.teamId === acct.teamId && e.outcome === "captured",
    },
    { q: `from=${start}&to=${end}`, keep: (e) => e.occurredAt >= start && e.occurredAt < end },
  ];
}

/** The ids of `events` a query keeps, in export order. */
function expectedIds(events: readonly UsageEvent[], keep: Query["keep"]): string[] {
  return events
    .filter(keep)
    .sort((a, b) =>
      a.occurredAt < b.occurredAt || (a.occurredAt === b.occurredAt && a.id < b.id) ? -1 : 1,
    )
    .map((e) => e.id);
}

async function body(key: string, query: string): Promise<string> {
  const res = await call(`/v1/usage/events?${query}`, { headers: bearer(key) });
  const text = new TextDecoder().decode(await res.arrayBuffer());
  expect(res.status, text).toBe(200);
  return text;
}

/** One query in every format: the JSON pages' bodies (limit 3), NDJSON and CSV. */
async function exportsOf(key: string, q: string, start: string | null = null) {
  const pages: string[] = [];
  const ids: string[] = [];
  let cursor: string | null = start;
  do {
    const text = await body(key, `${q}&limit=3${cursor ? `&cursor=${cursor}` : ""}`);
    pages.push(text);
    const page = JSON.parse(text) as { data: { id: string }[]; nextCursor: string | null };
    ids.push(...page.data.map((e) => e.id));
    cursor = page.nextCursor;
  } while (cursor !== null && pages.length < 200);
  const ndjson = await body(key, `${q}&format=ndjson`);
  const csv = await body(key, `${q}&format=csv`);
  return { ids, pages, ndjson, csv };
}

/** Every query of `acct` (and the member key's own listing) in every format. */
async function everything(acct: TestAccount, events: readonly UsageEvent[]) {
  const out: Record<string, Awaited<ReturnType<typeof exportsOf>>> = {};
  for (const { q, keep } of queries(acct)) {
    const got = await exportsOf(acct.financeKey, q);
    expect(got.ids, q).toEqual(expectedIds(events, keep));
    out[q] = got;
  }
  const own = await exportsOf(acct.memberKey, "");
  expect(own.ids).toEqual(expectedIds(events, (e) => e.memberId === acct.memberId));
  out.member = own;
  return out;
}

async function d1Count(accountId: string, before = "9999"): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM usage_events WHERE account_id = ? AND occurred_at < ?",
  )
    .bind(accountId, before)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function archive(accountId: string, days: readonly string[]) {
  for (const day of days) {
    expect(await archiveDay(env.DB, env.USAGE_ARCHIVE, accountId, day, new Date())).not.toBeNull();
  }
}

/** Puts every archived event back in D1 and unlists the parts: the same events, all in D1. */
async function restoreToD1(accountId: string) {
  const columns = EVENT_COLUMNS.map(([, c]) => c);
  const insert = `INSERT INTO usage_events (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
  const statements: D1PreparedStatement[] = [];
  for (const part of await listParts(env.DB, accountId, null, null)) {
    for (const row of await readPart(env.USAGE_ARCHIVE, accountId, part)) {
      statements.push(env.DB.prepare(insert).bind(...row));
    }
  }
  statements.push(
    env.DB.prepare("DELETE FROM usage_archive_days WHERE account_id = ?").bind(accountId),
  );
  await env.DB.batch(statements);
}

describe("usage export over archived days (issue 19)", () => {
  it("gives the same bytes in every format and filter before and after old days are archived", async () => {
    const acct = await setupAccount();
    const events = eventsOn(acct, [...OLD, ...HOT]);
    await insertEvents(events);
    const before = await everything(acct, events);
    // A cursor into the first archived day, taken before the run.
    const first = await jsonCall<{ nextCursor: string }>("/v1/usage/events?limit=3", {
      headers: bearer(acct.financeKey),
    });

    await archive(acct.id, OLD);
    expect(await d1Count(acct.id, `${HOT[0]}T00:00:00.000Z`)).toBe(0);
    expect(await d1Count(acct.id)).toBe(HOT.length * TIMES.length);
    expect(await listParts(env.DB, acct.id, null, null)).toHaveLength(OLD.length);

    expect(await everything(acct, events)).toEqual(before);
    const rest = await exportsOf(acct.financeKey, "", first.body.nextCursor);
    expect(rest.pages).toEqual(before[""]?.pages.slice(1));
  }, 60_000);

  it("merges a day split between its parts and D1 (late events), and a day of two parts", async () => {
    const acct = await setupAccount();
    const [day, other] = [OLD[0] as string, OLD[1] as string];
    const early = eventsOn(acct, [day, other, HOT[2] as string]);
    await insertEvents(early);
    await archive(acct.id, [day, other]);
    // Late events of the archived day: between, before and after archived ones, and at the
    // same instants with ids that sort on either side.
    const late = [
      event(acct, `${day}T00:00:00.000Z`, `evt_000000_${acct.id}`),
      event(acct, `${day}T09:15:00.000Z`, `evt_099995_${acct.id}`),
      event(acct, `${day}T12:00:00.000Z`),
      event(acct, `${day}T23:59:59.999Z`, `evt_zzz_${acct.id}`),
    ];
    // And a newer hot event, so the snapshot (and the cursors) stay the same throughout.
    const newer = event(acct, `${HOT[2]}T12:00:00.000Z`);
    await insertEvents([...late, newer]);
    expect(await d1Count(acct.id, `${other}T00:00:00.000Z`)).toBe(late.length);
    const events = [...early, ...late, newer];

    const split = await everything(acct, events);
    await archive(acct.id, [day]);
    expect(await listParts(env.DB, acct.id, day, day)).toHaveLength(2);
    expect(await d1Count(acct.id, `${other}T00:00:00.000Z`)).toBe(0);
    expect(await everything(acct, events)).toEqual(split);

    await restoreToD1(acct.id);
    expect(await listParts(env.DB, acct.id, null, null)).toHaveLength(0);
    expect(await everything(acct, events)).toEqual(split);
  }, 60_000);

  it("loses and repeats nothing when an archive run commits while a listing is read", async () => {
    const acct = await setupAccount();
    const events = eventsOn(acct, [...OLD.slice(0, 3), HOT[2] as string]);
    await insertEvents(events);
    const filter: UsageFilter = everyEventOf(acct.id);
    const src: EventSource = {
      db: env.DB,
      bucket: env.USAGE_ARCHIVE,
      filter,
      snapshot: await snapshotOf(env.DB, acct.id),
    };
    const ids = (rows: RawEvent[]) => rows.map((r) => String(r[0]));
    const all = ids(await takeRows(eventPages(src, null, 1000), 1000));
    expect(all).toEqual(expectedIds(events, () => true));
    expect(ids(await takeRows(eventPages({ ...src, bucket: null }, null, 7), 1000))).toEqual(all);

    const pages = eventPages(src, null, 3);
    const got: RawEvent[] = [];
    const first = await pages.next();
    if (!first.done) got.push(...first.value);
    // The run archives the day the listing is in, and the next one, before it reads on.
    await archive(acct.id, OLD.slice(0, 2));
    for await (const page of pages) got.push(...page);
    expect(ids(got)).toEqual(all);
  });

  it("answers an error, never a short export, when a listed part is missing from R2", async () => {
    const acct = await setupAccount();
    const events = eventsOn(acct, [...OLD.slice(0, 3), HOT[2] as string]);
    await insertEvents(events);
    const before = await body(acct.financeKey, "format=csv");
    await archive(acct.id, OLD.slice(0, 3));
    expect(await body(acct.financeKey, "format=csv")).toBe(before);
    const [part] = await listParts(env.DB, acct.id, OLD[1] as string, OLD[1] as string);
    if (!part) throw new Error("no part");
    await env.USAGE_ARCHIVE.delete(partKeys(acct.id, part.day, part).events);

    // A JSON page that would reach the missing day.
    const page = await jsonCall<{ code: string; detail: string }>("/v1/usage/events?limit=100", {
      headers: bearer(acct.financeKey),
    });
    expect(page.status).toBe(500);
    expect(page.body.code).toBe("internal_error");
    expect(page.body.detail).toContain(`Usage archived for ${part.day} could not be read`);
    // A page that ends before it is whole (the 4 first events, and the 5th to know there are more).
    const ok = await jsonCall<{ data: unknown[] }>("/v1/usage/events?limit=4", {
      headers: bearer(acct.financeKey),
    });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toHaveLength(4);

    // A stream that starts there fails before it starts.
    const from = `from=${part.day}T00:00:00.000Z`;
    const refused = await call(`/v1/usage/events?${from}&format=ndjson`, {
      headers: bearer(acct.financeKey),
    });
    expect(refused.status).toBe(500);
    expect(await refused.json()).toMatchObject({ code: "internal_error", day: part.day });

    // A stream that reaches it midway is cut off: the body read fails (a client sees a cut
    // transfer), after the events of the day before.
    const res = await call("/v1/usage/events?format=csv", { headers: bearer(acct.financeKey) });
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow(
      `archived usage of ${part.day} could not be read`,
    );
  });
});
