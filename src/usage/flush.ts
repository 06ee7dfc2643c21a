/**
 * Copies usage events from a ledger's outbox into D1. Each statement inserts up to
 * EVENTS_PER_STATEMENT events from one JSON parameter (D1 caps bound parameters per statement),
 * and all statements of a flush go in one `batch`, one round trip. `ON CONFLICT DO NOTHING` on
 * the event id makes a repeated flush harmless (I5: exactly once in D1), and so does its
 * account's archived seq once retention or the archive has moved it out of usage_events. With each chunk of events go
 * the `usage_records` rows of the captured ones (one per record key hash they charged), in the
 * same batch and as idempotent, so a record's last touch is in D1 exactly when its event is.
 */
import { EVENT_COLUMNS, type UsageEvent } from "./event";

const EVENTS_PER_STATEMENT = 100;

/**
 * The event (a JSON value of the batch) has not left D1 already: its seq is above its account's
 * archived seq (usage_archive, issue 19), and it has no tombstone from before that table.
 */
function notRemoved(value: string): string {
  return `json_extract(${value}, '$.seq') > COALESCE((SELECT a.archived_seq FROM usage_archive a
    WHERE a.account_id = json_extract(${value}, '$.accountId')), 0)
  AND NOT EXISTS (SELECT 1 FROM usage_tombstones t WHERE t.id = json_extract(${value}, '$.id'))`;
}
export const EVENTS_PER_FLUSH = 1000;

const INSERT_SQL = `INSERT INTO usage_events (${EVENT_COLUMNS.map(([, c]) => c).join(", ")})
SELECT ${EVENT_COLUMNS.map(([f]) => `json_extract(value, '$.${f}')`).join(", ")}
FROM json_each(?)
WHERE ${notRemoved("value")}
ON CONFLICT(id) DO NOTHING`;

// Keys that are not an array of strings (never written by the ledger) add no rows rather than
// failing the batch: a malformed event must not stall the account's outbox.
const RECORDS_SQL = `INSERT INTO usage_records (account_id, record_key, occurred_at, event_id)
SELECT json_extract(e.value, '$.accountId'), k.value, json_extract(e.value, '$.occurredAt'),
  json_extract(e.value, '$.id')
FROM json_each(?) AS e,
  json_each(CASE WHEN json_valid(json_extract(e.value, '$.recordKeys')) THEN
    CASE WHEN json_type(json_extract(e.value, '$.recordKeys')) = 'array'
      THEN json_extract(e.value, '$.recordKeys') END END) AS k
WHERE json_extract(e.value, '$.outcome') = 'captured' AND k.type = 'text'
  AND ${notRemoved("e.value")}
ON CONFLICT DO NOTHING`;

/** D1 rows a write wrote and read (`meta.rows_written` / `meta.rows_read`, indexes included). */
export interface D1Rows {
  written: number;
  read: number;
}

function rowsOf(results: readonly D1Result[]): D1Rows {
  let written = 0;
  let read = 0;
  for (const r of results) {
    written += r.meta?.rows_written ?? 0;
    read += r.meta?.rows_read ?? 0;
  }
  return { written, read };
}

/**
 * Inserts the events into D1 in one round trip and says how many rows that wrote and read.
 * Throws if D1 refuses; then nothing is lost.
 */
export async function insertUsageEvents(
  db: D1Database,
  events: readonly UsageEvent[],
): Promise<D1Rows> {
  if (events.length === 0) return { written: 0, read: 0 };
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < events.length; i += EVENTS_PER_STATEMENT) {
    const chunk = events.slice(i, i + EVENTS_PER_STATEMENT);
    const json = JSON.stringify(chunk);
    statements.push(db.prepare(INSERT_SQL).bind(json));
    if (chunk.some(chargedRecords)) statements.push(db.prepare(RECORDS_SQL).bind(json));
  }
  return rowsOf(await db.batch(statements));
}

/** Whether a captured event names records it charged (a JSON array that is not empty). */
function chargedRecords(event: UsageEvent): boolean {
  return event.outcome === "captured" && event.recordKeys !== null && event.recordKeys !== "[]";
}

/** Alerts as the ledger lists them, with their account: what D1's `alerts` table holds. */
export interface AlertCopy {
  id: string;
  accountId: string;
  kind: string;
  scope: string;
  scopeId: string;
  threshold: number | null;
  periodStart: string;
  firedAt: string;
  requestId: string | null;
  detail: Record<string, unknown>;
}

const ALERT_SQL = `INSERT INTO alerts (id, account_id, kind, scope, scope_id, threshold, period_start,
  fired_at, request_id, detail)
SELECT json_extract(value, '$.id'), json_extract(value, '$.accountId'), json_extract(value, '$.kind'),
  json_extract(value, '$.scope'), json_extract(value, '$.scopeId'), json_extract(value, '$.threshold'),
  json_extract(value, '$.periodStart'), json_extract(value, '$.firedAt'),
  json_extract(value, '$.requestId'), json(json_extract(value, '$.detail'))
FROM json_each(?) WHERE true
ON CONFLICT(id) DO NOTHING`;

/** Copies alerts into D1 in one statement; a repeat inserts nothing twice. Its D1 rows. */
export async function insertAlerts(db: D1Database, alerts: readonly AlertCopy[]): Promise<D1Rows> {
  if (alerts.length === 0) return { written: 0, read: 0 };
  return rowsOf([await db.prepare(ALERT_SQL).bind(JSON.stringify(alerts)).run()]);
}
