/**
 * The account's webhook and its deliveries (schema V4). A delivery is queued in the transaction
 * that fires its alert; the alarm sends it (background.ts) and records each attempt here. Its id is
 * the `webhook-id` of every attempt, so a receiver can drop repeats (at-least-once delivery).
 */
import { newId } from "../../lib/ids";
import { iso } from "../../lib/time";
import { retryDelayMs, WEBHOOK_MAX_ATTEMPTS } from "../../webhooks/deliver";
import type { AlertView, DeliveryQuery, DeliveryView } from "../contract";

export interface WebhookConfig {
  url: string;
  secret: string;
  updatedAt: number;
}

interface DeliveryRow {
  id: string;
  alert_id: string;
  type: string;
  payload: string;
  state: DeliveryView["state"];
  attempts: number;
  next_attempt_at: number | null;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
  [key: string]: SqlStorageValue;
}

export function webhookOf(sql: SqlStorage): WebhookConfig | null {
  const row = sql
    .exec<{ url: string | null; secret: string | null; at: number | null }>(
      "SELECT webhook_url AS url, webhook_secret AS secret, webhook_updated_at AS at FROM account",
    )
    .toArray()[0];
  if (!row?.url || !row.secret) return null;
  return { url: row.url, secret: row.secret, updatedAt: row.at ?? 0 };
}

export function setWebhook(
  sql: SqlStorage,
  hook: { url: string; secret: string } | null,
  now: number,
) {
  sql.exec(
    "UPDATE account SET webhook_url = ?, webhook_secret = ?, webhook_updated_at = ?",
    hook?.url ?? null,
    hook?.secret ?? null,
    now,
  );
}

/** The body every attempt of a delivery sends: the alert, as `GET /v1/alerts` shows it. */
function alertPayload(alert: AlertView): { type: string; body: string } {
  const type = `alert.${alert.kind}`;
  return { type, body: JSON.stringify({ type, timestamp: alert.firedAt, data: alert }) };
}

/** Queues a delivery of a fired alert, due at once (in the firing transaction). */
export function queueDelivery(sql: SqlStorage, alert: AlertView, now: number) {
  const { type, body } = alertPayload(alert);
  sql.exec(
    `INSERT INTO webhook_deliveries (id, alert_id, type, payload, state, next_attempt_at, created_at)
     VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
    newId("msg"),
    alert.id,
    type,
    body,
    now,
    now,
  );
}

export interface DueDelivery {
  id: string;
  payload: string;
  attempts: number;
}

export function dueDeliveries(sql: SqlStorage, now: number, limit: number): DueDelivery[] {
  return sql
    .exec<{ id: string; payload: string; attempts: number }>(
      `SELECT id, payload, attempts FROM webhook_deliveries
       WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
      now,
      limit,
    )
    .toArray();
}

export function nextDeliveryAt(sql: SqlStorage): number | null {
  return sql
    .exec<{ at: number | null }>(
      "SELECT MIN(next_attempt_at) AS at FROM webhook_deliveries WHERE state = 'pending'",
    )
    .one().at;
}

/**
 * Records one attempt: delivered on a 2xx; otherwise due again after the backoff, or failed
 * for good after WEBHOOK_MAX_ATTEMPTS.
 */
export function recordAttempt(
  sql: SqlStorage,
  id: string,
  result: { ok: boolean; status: number | null; error: string | null },
  now: number,
  random: () => number = Math.random,
) {
  const row = sql
    .exec<{ attempts: number }>(
      "SELECT attempts FROM webhook_deliveries WHERE id = ? AND state = 'pending'",
      id,
    )
    .toArray()[0];
  if (!row) return;
  const attempts = row.attempts + 1;
  const state = result.ok ? "delivered" : attempts >= WEBHOOK_MAX_ATTEMPTS ? "failed" : "pending";
  sql.exec(
    `UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_attempt_at = ?,
       last_status = ?, last_error = ?, finished_at = ? WHERE id = ?`,
    state,
    attempts,
    state === "pending" ? now + retryDelayMs(attempts, random) : null,
    now,
    result.status,
    result.error,
    state === "pending" ? null : now,
    id,
  );
}

export function listDeliveries(sql: SqlStorage, options: DeliveryQuery): DeliveryView[] {
  const page = options.before
    ? sql.exec<DeliveryRow>(
        `SELECT * FROM webhook_deliveries WHERE created_at < ? OR (created_at = ? AND id < ?)
         ORDER BY created_at DESC, id DESC LIMIT ?`,
        options.before.at,
        options.before.at,
        options.before.id,
        options.limit,
      )
    : sql.exec<DeliveryRow>(
        "SELECT * FROM webhook_deliveries ORDER BY created_at DESC, id DESC LIMIT ?",
        options.limit,
      );
  return page.toArray().map((r) => ({
    id: r.id,
    alertId: r.alert_id,
    type: r.type,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at === null ? null : iso(r.next_attempt_at),
    lastAttemptAt: r.last_attempt_at === null ? null : iso(r.last_attempt_at),
    lastStatus: r.last_status,
    lastError: r.last_error,
    createdAt: iso(r.created_at),
    finishedAt: r.finished_at === null ? null : iso(r.finished_at),
  }));
}
