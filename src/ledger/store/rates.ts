/**
 * Members' recent admissions, for per-minute rate limits that survive restarts. Each admission
 * of a rate-limited member prunes that member's admissions older than the window, and the alarm
 * prunes everyone's, so the table holds at most the last minute's admissions.
 */
import { RATE_WINDOW_MS } from "../core/rules";

/** Admissions of the member in the last minute, oldest first. */
export function recentAdmissions(sql: SqlStorage, memberId: string, now: number): number[] {
  return sql
    .exec<{ at: number }>(
      "SELECT at FROM rate_events WHERE member_id = ? AND at > ? ORDER BY at",
      memberId,
      now - RATE_WINDOW_MS,
    )
    .toArray()
    .map((r) => r.at);
}

/** Records an admission and forgets the member's admissions that left the window. */
export function recordAdmission(sql: SqlStorage, memberId: string, now: number) {
  sql.exec(
    "DELETE FROM rate_events WHERE member_id = ? AND at <= ?",
    memberId,
    now - RATE_WINDOW_MS,
  );
  sql.exec("INSERT INTO rate_events (member_id, at) VALUES (?, ?)", memberId, now);
}

/** Forgets every member's admissions older than the window (the alarm's sweep). */
export function pruneAdmissions(sql: SqlStorage, now: number) {
  sql.exec("DELETE FROM rate_events WHERE at <= ?", now - RATE_WINDOW_MS);
}
