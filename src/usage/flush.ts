/**
 * Copies usage events from a ledger's outbox into D1. Each statement inserts up to
 * EVENTS_PER_STATEMENT events from one JSON parameter (D1 caps bound parameters per statement),
 * and all statements of a flush go in one `batch`, one round trip. `ON CONFLICT DO NOTHING` on
 * the event id makes a repeated flush harmless (I5: exactly once in D1), and so does the tombstone
 * of an event that retention has already moved out of usage_events.
 */
import { EVENT_COLUMNS, type UsageEvent } from "./event";

const EVENTS_PER_STATEMENT = 100;
export const EVENTS_PER_FLUSH = 1000;

const INSERT_SQL = `INSERT INTO usage_events (${EVENT_COLUMNS.map(([, c]) => c).join(", ")})
SELECT ${EVENT_COLUMNS.map(([f]) => `json_extract(value, '$.${f}')`).join(", ")}
FROM json_each(?)
WHERE NOT EXISTS (SELECT 1 FROM usage_tombstones t WHERE t.id = json_extract(value, '$.id'))
ON CONFLICT(id) DO NOTHING`;

/** Inserts the events into D1 in one round trip. Throws if D1 refuses; then nothing is lost. */
export async function insertUsageEvents(
  db: D1Database,
  events: readonly UsageEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < events.length; i += EVENTS_PER_STATEMENT) {
    const chunk = events.slice(i, i + EVENTS_PER_STATEMENT);
    statements.push(db.prepare(INSERT_SQL).bind(JSON.stringify(chunk)));
  }
  await db.batch(statements);
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

/** Copies alerts into D1 in one statement; a repeat inserts nothing twice. */
export async function insertAlerts(db: D1Database, alerts: readonly AlertCopy[]): Promise<void> {
  if (alerts.length === 0) return;
  await db.prepare(ALERT_SQL).bind(JSON.stringify(alerts)).run();
}
