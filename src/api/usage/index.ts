/**
 * The usage API under /v1/usage (SPEC §5): events (JSON pages, or CSV and NDJSON streams),
 * summaries, attribution of outcomes to calls, and reconciliation. `admin` and `finance` keys
 * read the whole account; a `member` key reads only its own events. The account always comes
 * from the key (I6).
 */
import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { MAX_TAGS } from "../../lib/formats";
import { Problem } from "../../lib/problem";
import {
  ArchiveUnreadable,
  type EventSource,
  eventPages,
  startedPages,
  takeRows,
} from "../../usage/archive-read";
import { ATTRIBUTION_WINDOW_DAYS, type AttributionKey, attribute } from "../../usage/attribution";
import { decodeCursor, encodeCursor } from "../../usage/cursor";
import { EXPORT_PAGE, eventObject, exportStream, positionOf, snapshotOf } from "../../usage/events";
import { filterDigest, parseTagFilter, type UsageFilter } from "../../usage/filter";
import { type GroupKey, MAX_GROUPS, summarize } from "../../usage/summary";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { isoInstant, json, problemResponses } from "../schemas";
import { validationHook } from "../validation";
import {
  Attribution,
  AttributionQuery,
  EventPage,
  EventsQuery,
  ReconcileQuery,
  Reconciliation,
  Summary,
  SummaryQuery,
} from "./schemas";

const readers = accountAuth("admin", "finance", "member");
const books = accountAuth("admin", "finance");

const events = createRoute({
  method: "get",
  path: "/usage/events",
  operationId: "listUsageEvents",
  tags: ["usage"],
  summary: "Usage events, oldest first: JSON pages, or the whole range as CSV or NDJSON",
  description:
    "A listing is a snapshot of the events in D1 when its first page was read; `nextCursor` " +
    "continues that snapshot, so pages lose and repeat nothing while new events arrive. " +
    "Events of days archived to R2 are listed beside D1's, in the same order and form. " +
    "`format=csv` (RFC 4180, header row) and `format=ndjson` stream the whole range; if the " +
    "archive cannot be read midway the transfer is cut off, never silently short.",
  middleware: [readers] as const,
  request: { query: EventsQuery },
  responses: {
    200: {
      description: "A page of events (JSON) or the whole range (CSV, NDJSON)",
      content: {
        "application/json": { schema: EventPage },
        "text/csv": { schema: { type: "string" as const } },
        "application/x-ndjson": { schema: { type: "string" as const } },
      },
    },
    ...problemResponses,
  },
});

const summary = createRoute({
  method: "get",
  path: "/usage/summary",
  operationId: "getUsageSummary",
  tags: ["usage"],
  summary:
    "Credits, units, calls, denials and credits saved, grouped by day, team, member, action, category or tag",
  description:
    "Archived days (usage retention's rollups) count alongside the raw events, so retention " +
    "changes no total but `creditsSaved` (rollups keep none). Rollups keep no tags either: a " +
    "query that filters by `tag` or groups by `tag:<key>` counts raw events only.",
  middleware: [readers] as const,
  request: { query: SummaryQuery },
  responses: { 200: json(Summary, "The totals"), ...problemResponses },
});

const attribution = createRoute({
  method: "get",
  path: "/usage/attribution",
  operationId: "getUsageAttribution",
  tags: ["usage"],
  summary: "Credits, records charged and outcomes per action, team, member or tag",
  description:
    "Per group: the credits captured in `[from, to)`, the distinct records they charged, and the " +
    "outcomes (`POST /v1/outcomes`) that occurred in `[from, to)` attributed to the group's calls. " +
    "An outcome with a `requestId` is attributed to the captured call with that request id, and " +
    `to nothing else; one with only a \`recordKey\` to the last captured call that charged that record in the ${ATTRIBUTION_WINDOW_DAYS} days up to the outcome's \`occurredAt\` (last touch). ` +
    "The attributed call may lie before `from`. Outcomes attributed to no call are counted in " +
    "`unattributed`. A member key sees only its own calls and the outcomes attributed to them. " +
    "Raw events only: calls of archived days are not counted.",
  middleware: [readers] as const,
  request: { query: AttributionQuery },
  responses: { 200: json(Attribution, "The groups and their totals"), ...problemResponses },
});

const reconcile = createRoute({
  method: "get",
  path: "/usage/reconcile",
  operationId: "getUsageReconciliation",
  tags: ["usage"],
  summary: "The ledger's captured credits for a period beside D1's, with the outbox watermark",
  middleware: [books] as const,
  request: { query: ReconcileQuery },
  responses: { 200: json(Reconciliation, "The comparison and its verdict"), ...problemResponses },
});

/** The member a caller may read: its own for a member key, else the one it asks for. */
function memberFor(c: Context<AppEnv>, asked: string | null): string | null {
  const principal = c.get("principal");
  if (principal.role !== "member") return asked;
  if (principal.memberId === null) throw new Problem("forbidden", "This key has no member.");
  if (asked !== null && asked !== principal.memberId) {
    throw new Problem("forbidden", "A member key reads only its own usage.");
  }
  return principal.memberId;
}

/** The filter a caller may use: a member key is held to its own events. */
function filterFor(
  c: Context<AppEnv>,
  q: z.infer<typeof EventsQuery> | z.infer<typeof SummaryQuery>,
): UsageFilter {
  const member = memberFor(c, q.member ?? null);
  const tags =
    q.tag === undefined ? { ok: true as const, tags: [] } : parseTagFilter(q.tag, MAX_TAGS);
  // The schema has checked it; this only narrows the type.
  if (!tags.ok) throw new Problem("validation_failed", `tag: ${tags.detail}`, { field: "tag" });
  return {
    accountId: c.get("accountId"),
    from: isoInstant(q.from, "from"),
    to: isoInstant(q.to, "to"),
    team: q.team ?? null,
    member,
    action: q.action ?? null,
    category: q.category ?? null,
    outcome: q.outcome ?? null,
    tags: tags.tags,
  };
}

/** What a listing of `filter` reads: D1, and the usage archive when one is bound. */
function sourceOf(c: Context<AppEnv>, filter: UsageFilter, snapshot: number): EventSource {
  return { db: c.env.DB, bucket: c.env.USAGE_ARCHIVE ?? null, filter, snapshot };
}

/** Reads a listing; an archived part that cannot be read is an error answer, not a short one. */
async function readable<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof ArchiveUnreadable)) throw error;
    throw new Problem(
      "internal_error",
      `Usage archived for ${error.day} could not be read, so the listing would be incomplete; quote the request id.`,
      { day: error.day },
    ).causedBy(error);
  }
}

export function usageRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(events, async (c) => {
    const q = c.req.valid("query");
    const filter = filterFor(c, q);
    const digest = filterDigest(filter);
    if (q.format !== "json") {
      if (q.cursor !== undefined || c.req.query("limit") !== undefined) {
        throw new Problem(
          "bad_request",
          "`cursor` and `limit` page JSON; CSV and NDJSON stream the whole range.",
        );
      }
      const snapshot = await snapshotOf(c.env.DB, filter.accountId);
      const csv = q.format === "csv";
      const name = `usage-${filter.accountId}-${snapshot}.${csv ? "csv" : "ndjson"}`;
      const pages = await readable(() => startedPages(sourceOf(c, filter, snapshot), EXPORT_PAGE));
      return c.body(exportStream(pages, q.format), 200, {
        "content-type": csv ? "text/csv; charset=utf-8; header=present" : "application/x-ndjson",
        "content-disposition": `attachment; filename="${name}"`,
        "cache-control": "no-store",
        "x-usage-snapshot": String(snapshot),
      });
    }
    let snapshot: number;
    let after = null;
    if (q.cursor !== undefined) {
      const cursor = decodeCursor(q.cursor);
      if (!cursor) throw new Problem("bad_request", "The cursor is not valid.");
      if (cursor.query !== digest) {
        throw new Problem("bad_request", "The cursor belongs to a query with other filters.");
      }
      snapshot = cursor.snapshot;
      after = { at: cursor.at, id: cursor.id };
    } else {
      snapshot = await snapshotOf(c.env.DB, filter.accountId);
    }
    const source = sourceOf(c, filter, snapshot);
    const rows = await readable(() =>
      takeRows(eventPages(source, after, q.limit + 1), q.limit + 1),
    );
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    const nextCursor =
      rows.length > q.limit && last
        ? encodeCursor({ snapshot, query: digest, ...positionOf(last) })
        : null;
    c.header("cache-control", "no-store");
    return c.json({ data: page.map(eventObject), nextCursor } as z.infer<typeof EventPage>, 200);
  });

  app.openapi(summary, async (c) => {
    const q = c.req.valid("query");
    const filter = filterFor(c, q);
    const groupBy = (q.group_by ? q.group_by.split(",") : []) as GroupKey[];
    const result = await summarize(c.env.DB, filter, groupBy);
    if (result.tooMany) {
      throw new Problem(
        "bad_request",
        `More than ${MAX_GROUPS} groups: narrow the range or group by fewer keys.`,
      );
    }
    return c.json(
      {
        groupBy,
        from: filter.from,
        to: filter.to,
        groups: result.groups as z.infer<typeof Summary>["groups"],
        totals: result.totals,
      },
      200,
    );
  });

  app.openapi(attribution, async (c) => {
    const q = c.req.valid("query");
    const query = {
      accountId: c.get("accountId"),
      groupBy: q.group_by as AttributionKey,
      from: isoInstant(q.from, "from"),
      to: isoInstant(q.to, "to"),
      kind: q.kind ?? null,
      member: memberFor(c, null),
    };
    const result = await attribute(c.env.DB, query);
    if (result.tooMany) {
      throw new Problem("bad_request", `More than ${MAX_GROUPS} groups: narrow the range.`);
    }
    c.header("cache-control", "no-store");
    return c.json(
      {
        groupBy: query.groupBy,
        from: query.from,
        to: query.to,
        kind: query.kind,
        windowDays: ATTRIBUTION_WINDOW_DAYS,
        groups: result.groups as z.infer<typeof Attribution>["groups"],
        totals: result.totals,
        unattributed: result.unattributed,
      },
      200,
    );
  });

  app.openapi(reconcile, async (c) => {
    const q = c.req.valid("query");
    const choice =
      q.period === "current" || q.period === "previous"
        ? q.period
        : { at: Date.parse(isoInstant(q.period, "period") ?? "") };
    const view = await c.var.ledger.reconcile(choice, q.flush === "true");
    if (!view) throw new Problem("not_found", "Account not found.");
    return c.json(view, 200);
  });

  return app;
}
