/**
 * A usage event: the record of one settled, expired or denied call, as the ledger's outbox holds
 * it, D1's `usage_events` stores it and the export gives it. The one list of its columns is
 * here; the flush, the export and the CSV header all read it.
 */

export const OUTCOMES = ["captured", "voided", "denied"] as const;
export type EventOutcome = (typeof OUTCOMES)[number];

export interface UsageEvent {
  id: string;
  accountId: string;
  seq: number;
  occurredAt: string;
  periodStart: string;
  requestId: string;
  teamId: string | null;
  memberId: string | null;
  keyId: string | null;
  action: string;
  category: string;
  outcome: EventOutcome;
  reason: string | null;
  units: number;
  credits: number;
  heldCredits: number;
  grants: string;
  purpose: string | null;
  idempotencyKey: string | null;
  upstreamStatus: number | null;
  durationMs: number | null;
  /** The price the call was admitted at, as JSON; null for events from before prices were kept. */
  price: string | null;
  /** With dedupe (issue 16): records charged and skipped; null for actions without it. */
  recordsCharged: number | null;
  recordsSkipped: number | null;
  /** Credits the skipped records would have cost at the call's price; null without dedupe. */
  creditsSaved: number | null;
  /** The caller's `X-Credit-Tags` as a JSON object, or null. */
  tags: string | null;
  /** Hashes of the keys of the records charged (lib/records.ts), as a JSON array, or null. */
  recordKeys: string | null;
}

/**
 * The event's fields and their D1 columns, in the export's order: the CSV header row, the
 * NDJSON keys and the JSON fields. The order is part of the export's contract.
 */
export const EVENT_COLUMNS = [
  ["id", "id"],
  ["occurredAt", "occurred_at"],
  ["periodStart", "period_start"],
  ["accountId", "account_id"],
  ["teamId", "team_id"],
  ["memberId", "member_id"],
  ["keyId", "key_id"],
  ["requestId", "request_id"],
  ["action", "action"],
  ["category", "category"],
  ["outcome", "outcome"],
  ["reason", "reason"],
  ["units", "units"],
  ["credits", "credits"],
  ["heldCredits", "held_credits"],
  ["upstreamStatus", "upstream_status"],
  ["durationMs", "duration_ms"],
  ["purpose", "purpose"],
  ["idempotencyKey", "idempotency_key"],
  ["grants", "grants"],
  ["seq", "seq"],
  ["price", "price"],
  ["recordsCharged", "records_charged"],
  ["recordsSkipped", "records_skipped"],
  ["creditsSaved", "credits_saved"],
  ["tags", "tags"],
  ["recordKeys", "record_keys"],
] as const satisfies ReadonlyArray<readonly [keyof UsageEvent, string]>;

export type EventField = (typeof EVENT_COLUMNS)[number][0];

// Every field of UsageEvent has a column: this fails to compile if one is left out.
type Missing = Exclude<keyof UsageEvent, EventField>;
const everyField: [Missing] extends [never] ? true : Missing = true;
void everyField;
