/**
 * Usage retention (operator): events older than a cutoff leave `usage_events`, one UTC day at a
 * time, each day in one D1 transaction.
 *   archive: rolled up per day, period, team, member, action, category and outcome into
 *            `usage_rollups` first, so summaries and reconciliation keep their exact totals;
 *   delete:  only per-period totals by action and team are kept (`usage_deletions`), enough
 *            for reconciliation to account for every captured credit.
 * Either way each account's archived seq (`usage_archive`) rises to the highest seq removed, so a
 * flush retried after a lost acknowledgement cannot bring them back, and the records they
 * charged (`usage_records`) go with them: an outcome is never attributed to a call that is no
 * longer there. Ledger balances and counters are never touched.
 */
import { DAY_MS } from "../lib/time";
import { archiveOlderThan } from "./archive-runs";
import { archivedSeqSql, ROLLUP_SQL } from "./retention-sql";

export type RetentionMode = "archive" | "delete";

export interface RetentionResult {
  mode: RetentionMode;
  /**
   * Where the raw events went: `r2` (archive mode with a bucket: the events themselves, readable
   * by exports), `d1` (rolled up, or deleted, in D1; the raw rows are gone).
   */
  target: "r2" | "d1";
  /** Why an archive run stopped early (the events of that day stay in D1); else null. */
  error: string | null;
  cutoff: string;
  accountId: string | null;
  dryRun: boolean;
  days: number;
  events: number;
  credits: number;
  /** More days were due than one run processes: call again. */
  more: boolean;
}

/** Days (account days, archiving to R2) processed per request at most; call again for the rest. */
const MAX_DAYS_PER_RUN = 400;

const DELETION_SQL = `INSERT INTO usage_deletions (account_id, period_start, action, team_id, outcome,
    events, credits)
  SELECT account_id, period_start, action, COALESCE(team_id, ''), outcome, COUNT(*), SUM(credits)
  FROM usage_events WHERE {where}
  GROUP BY account_id, period_start, action, COALESCE(team_id, ''), outcome
  ON CONFLICT DO UPDATE SET events = events + excluded.events, credits = credits + excluded.credits`;

/**
 * Applies retention to events that occurred before `cutoff` (an ISO time at a UTC midnight).
 * In `archive` mode with an archive bucket the raw events move to it, one account day at a time
 * (archive-runs.ts); without one they are rolled up in D1 as before.
 */
export async function applyRetention(
  db: D1Database,
  options: { cutoff: string; mode: RetentionMode; accountId: string | null; dryRun: boolean },
  bucket: R2Bucket | null = null,
  now = new Date(),
): Promise<RetentionResult> {
  const { cutoff, mode, accountId, dryRun } = options;
  if (mode === "archive" && bucket) {
    const run = await archiveOlderThan(
      db,
      bucket,
      { cutoff, accountId, dryRun, maxDays: MAX_DAYS_PER_RUN },
      now,
    );
    return { ...options, target: "r2", ...run };
  }
  const scope = accountId === null ? "" : " AND account_id = ?";
  const scopeParams = accountId === null ? [] : [accountId];
  const result: RetentionResult = {
    ...options,
    target: "d1",
    error: null,
    days: 0,
    events: 0,
    credits: 0,
    more: false,
  };

  const days = await db
    .prepare(
      `SELECT substr(occurred_at, 1, 10) AS day, COUNT(*) AS events, SUM(CASE WHEN outcome = 'captured' THEN credits ELSE 0 END) AS credits
       FROM usage_events WHERE occurred_at < ?${scope} GROUP BY day ORDER BY day LIMIT ?`,
    )
    .bind(cutoff, ...scopeParams, MAX_DAYS_PER_RUN)
    .all<{ day: string; events: number; credits: number }>();

  for (const day of days.results) {
    const start = `${day.day}T00:00:00.000Z`;
    const end = new Date(Date.parse(start) + DAY_MS).toISOString();
    // ISO strings of one format order as their times do.
    const upTo = [end, cutoff].sort()[0] ?? cutoff;
    const where = `occurred_at >= ? AND occurred_at < ?${scope}`;
    const params = [start, upTo, ...scopeParams];
    let events = day.events;
    if (!dryRun) {
      const keep = (mode === "archive" ? ROLLUP_SQL : DELETION_SQL).replace("{where}", where);
      // One transaction: what is deleted is exactly what was rolled up.
      const [, , , removed] = await db.batch([
        db.prepare(keep).bind(...params),
        db.prepare(archivedSeqSql(where)).bind(now.toISOString(), ...params),
        db
          .prepare(
            `DELETE FROM usage_records WHERE event_id IN (SELECT id FROM usage_events WHERE ${where})`,
          )
          .bind(...params),
        db.prepare(`DELETE FROM usage_events WHERE ${where}`).bind(...params),
      ]);
      events = removed?.meta.changes ?? 0;
    }
    result.days += 1;
    result.events += events;
    result.credits += Number(day.credits);
  }
  result.more = days.results.length === MAX_DAYS_PER_RUN;
  return result;
}
