/** Members' recent admissions, for per-minute rate limits that survive restarts. */
export const RATE_WINDOW_MS = 60_000;

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

export function recordAdmission(sql: SqlStorage, memberId: string, now: number) {
  sql.exec("INSERT INTO rate_events (member_id, at) VALUES (?, ?)", memberId, now);
}

/** Forgets admissions older than the window. */
export function pruneAdmissions(sql: SqlStorage, now: number) {
  sql.exec("DELETE FROM rate_events WHERE at <= ?", now - RATE_WINDOW_MS);
}
