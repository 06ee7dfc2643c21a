/**
 * Credits tied to outcomes (issue 16): per action, team, member or tag value, the credits
 * charged in a range, the distinct records they charged, and the outcomes reported in the range
 * that are attributed to the group's calls.
 *
 * The attribution rule: an outcome reported with a `requestId` belongs to the captured call with
 * that request id (of the same account), and to nothing else; one reported with only a record key
 * belongs to the last captured call that charged that record in the ATTRIBUTION_WINDOW_DAYS up to
 * the outcome's time (last touch, the window's first instant included). Anything else is
 * unattributed. Records are hashed per account, so another account's record never matches.
 *
 * All reads go in one D1 batch (one transaction, so they agree with each other) and follow the
 * indexes: events by (account, time) and (account, request id), usage_records by (account,
 * record, time), outcomes by (account, time).
 */
import { eventDimension, type GroupKey, groupKeys, MAX_GROUPS, tagOfGroupKey } from "./summary";

/** The group keys attribution accepts: `action`, `team`, `member` or `tag:<key>`. */
export const ATTRIBUTION_KEYS = ["action", "team", "member"] as const;
export type AttributionKey = (typeof ATTRIBUTION_KEYS)[number] | `tag:${string}`;

export function isAttributionKey(key: string): key is AttributionKey {
  return (ATTRIBUTION_KEYS as readonly string[]).includes(key) || tagOfGroupKey(key) !== null;
}

/** How far back from an outcome its record's last touch may be. */
export const ATTRIBUTION_WINDOW_DAYS = 90;

export interface AttributionQuery {
  accountId: string;
  groupBy: AttributionKey;
  /** Inclusive start and exclusive end of the range, for calls and outcomes alike; null: open. */
  from: string | null;
  to: string | null;
  /** Only outcomes of this kind; null: every kind. */
  kind: string | null;
  /** Only this member's calls (a member key); then the unattributed are not shown. */
  member: string | null;
}

export interface Measures {
  credits: number;
  records: number;
  outcomes: number;
  outcomeValue: number;
  creditsPerOutcome: number | null;
}

export type AttributionGroup = Record<string, unknown> & Measures;

export interface Attribution {
  groups: AttributionGroup[];
  totals: Measures;
  /** Outcomes in range attributed to no call; null when the query is held to one member. */
  unattributed: { outcomes: number; outcomeValue: number } | null;
  /** More than MAX_GROUPS groups: then nothing else is meaningful. */
  tooMany: boolean;
}

/** Credits per outcome, to 2 decimals; null without outcomes. */
export function creditsPerOutcome(credits: number, outcomes: number): number | null {
  return outcomes === 0 ? null : Math.round((credits / outcomes) * 100) / 100;
}

/** Conditions and their parameters, in order, for one statement. */
class Where {
  readonly parts: string[] = [];
  readonly params: (string | number)[] = [];
  add(condition: string, ...values: (string | number)[]): this {
    this.parts.push(condition);
    this.params.push(...values);
    return this;
  }
  when(value: string | null, condition: string): this {
    return value === null ? this : this.add(condition, value);
  }
  get sql(): string {
    return this.parts.join(" AND ");
  }
}

/** The account's captured calls in range (and of the member), on usage_events. */
function capturedCalls(q: AttributionQuery): Where {
  return new Where()
    .add("account_id = ?", q.accountId)
    .add("outcome = 'captured'")
    .when(q.from, "occurred_at >= ?")
    .when(q.to, "occurred_at < ?")
    .when(q.member, "member_id = ?");
}

// Records charged, from each event's own list (the same hashes usage_records holds), so the
// range is read through the events' (account, time) index. A list that is not an array adds none.
const RECORD_KEYS = `json_each(CASE WHEN json_valid(record_keys) THEN
  CASE WHEN json_type(record_keys) = 'array' THEN record_keys END END) AS k`;

/**
 * The outcomes in range with the event each is attributed to (`o_event`, null: none), as a
 * materialized CTE `attributed`: the outer query reads `o_event` several times, and inlined, each
 * read would run the correlated lookups again.
 */
function attributedOutcomes(q: AttributionQuery): { sql: string; params: (string | number)[] } {
  const o = new Where()
    .add("account_id = ?", q.accountId)
    .when(q.from, "occurred_at >= ?")
    .when(q.to, "occurred_at < ?")
    .when(q.kind, "kind = ?");
  // Inside each subquery unqualified columns are the subquery's table's; o_* are the outcome's.
  // A request id names one call: `+` keeps the planner on the (account, request id) index rather
  // than walking the account's events in time order to skip a sort of one or two rows.
  const sql = `WITH attributed AS MATERIALIZED (
    SELECT o_value, CASE
      WHEN o_request IS NOT NULL THEN (
        SELECT id FROM usage_events
        WHERE account_id = ? AND request_id = o_request AND outcome = 'captured'
        ORDER BY +occurred_at DESC, +id DESC LIMIT 1)
      WHEN o_record IS NOT NULL THEN (
        SELECT event_id FROM usage_records
        WHERE account_id = ? AND record_key = o_record AND occurred_at <= o_at
          AND occurred_at >= strftime('%Y-%m-%dT%H:%M:%fZ', o_at, '-${ATTRIBUTION_WINDOW_DAYS} days')
        ORDER BY occurred_at DESC, event_id DESC LIMIT 1)
    END AS o_event
    FROM (SELECT value AS o_value, occurred_at AS o_at, record_key AS o_record,
            request_id AS o_request
          FROM outcomes WHERE ${o.sql}))`;
  return { sql, params: [q.accountId, q.accountId, ...o.params] };
}

type Row = Record<string, string | number | null>;

/** The attribution report of one account over a range. */
export async function attribute(db: D1Database, q: AttributionQuery): Promise<Attribution> {
  const dim = eventDimension(q.groupBy as GroupKey);
  const calls = capturedCalls(q);
  const limit = MAX_GROUPS + 1;
  const attributed = attributedOutcomes(q);
  const memberOnly = q.member === null ? "" : "WHERE o_event IS NOT NULL AND member_id = ?";
  const [credits, records, allRecords, outcomes] = await db.batch<Row>([
    db
      .prepare(
        `SELECT ${dim} AS g, SUM(credits) AS credits FROM usage_events
         WHERE ${calls.sql} GROUP BY g LIMIT ${limit}`,
      )
      .bind(...calls.params),
    db
      .prepare(
        `SELECT ${dim} AS g, COUNT(DISTINCT k.value) AS records FROM usage_events, ${RECORD_KEYS}
         WHERE ${calls.sql} AND record_keys IS NOT NULL AND k.type = 'text'
         GROUP BY g LIMIT ${limit}`,
      )
      .bind(...calls.params),
    db
      .prepare(
        `SELECT COUNT(DISTINCT k.value) AS records FROM usage_events, ${RECORD_KEYS}
         WHERE ${calls.sql} AND record_keys IS NOT NULL AND k.type = 'text'`,
      )
      .bind(...calls.params),
    db
      .prepare(
        `${attributed.sql}
         SELECT CASE WHEN o_event IS NULL THEN NULL ELSE ${dim} END AS g,
           o_event IS NULL AS unattributed, COUNT(*) AS outcomes,
           COALESCE(SUM(o_value), 0) AS value
         FROM attributed LEFT JOIN usage_events ON usage_events.id = o_event
         ${memberOnly}
         GROUP BY unattributed, g LIMIT ${limit + 1}`,
      )
      .bind(...attributed.params, ...(q.member === null ? [] : [q.member])),
  ]);

  const groups = new Map<string, { g: string | null } & Measures>();
  const groupOf = (g: string | number | null | undefined) => {
    const value = g === null || g === undefined ? null : String(g);
    const id = JSON.stringify(value);
    let group = groups.get(id);
    if (!group) {
      group = {
        g: value,
        credits: 0,
        records: 0,
        outcomes: 0,
        outcomeValue: 0,
        creditsPerOutcome: null,
      };
      groups.set(id, group);
    }
    return group;
  };
  for (const row of credits?.results ?? []) groupOf(row.g).credits = Number(row.credits);
  for (const row of records?.results ?? []) groupOf(row.g).records = Number(row.records);
  const unattributed = { outcomes: 0, outcomeValue: 0 };
  for (const row of outcomes?.results ?? []) {
    if (Number(row.unattributed) === 1) {
      unattributed.outcomes = Number(row.outcomes);
      unattributed.outcomeValue = Number(row.value);
      continue;
    }
    const group = groupOf(row.g);
    group.outcomes = Number(row.outcomes);
    group.outcomeValue = Number(row.value);
  }

  const totals: Measures = {
    credits: 0,
    records: Number(allRecords?.results[0]?.records ?? 0),
    outcomes: 0,
    outcomeValue: 0,
    creditsPerOutcome: null,
  };
  const list: AttributionGroup[] = [];
  // Ordered by the group's value, the calls without one (null) first, as the summary orders.
  const ordered = [...groups.values()].sort((a, b) =>
    a.g === b.g ? 0 : a.g === null ? -1 : b.g === null ? 1 : a.g < b.g ? -1 : 1,
  );
  for (const { g, ...m } of ordered) {
    m.creditsPerOutcome = creditsPerOutcome(m.credits, m.outcomes);
    totals.credits += m.credits;
    totals.outcomes += m.outcomes;
    totals.outcomeValue += m.outcomeValue;
    list.push({ ...groupKeys([q.groupBy as GroupKey], [g]), ...m });
  }
  totals.creditsPerOutcome = creditsPerOutcome(totals.credits, totals.outcomes);
  return {
    groups: list.length > MAX_GROUPS ? [] : list,
    totals,
    unattributed: q.member === null ? unattributed : null,
    tooMany: list.length > MAX_GROUPS,
  };
}
