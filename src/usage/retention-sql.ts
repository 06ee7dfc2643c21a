/**
 * The SQL that retention and the archive share when events leave `usage_events`: the daily
 * rollups summaries keep reading, and each account's archived seq, which keeps a retried flush
 * from bringing the events back.
 */

/** Rolls the events matching `{where}` up per day, period, who, what and outcome. */
export const ROLLUP_SQL = `INSERT INTO usage_rollups (account_id, day, period_start, team_id, member_id, action,
    category, outcome, events, units, credits)
  SELECT account_id, substr(occurred_at, 1, 10), period_start, COALESCE(team_id, ''),
    COALESCE(member_id, ''), action, category, outcome, COUNT(*), SUM(units), SUM(credits)
  FROM usage_events WHERE {where}
  GROUP BY account_id, substr(occurred_at, 1, 10), period_start, COALESCE(team_id, ''),
    COALESCE(member_id, ''), action, category, outcome
  ON CONFLICT DO UPDATE SET events = events + excluded.events, units = units + excluded.units,
    credits = credits + excluded.credits`;

/**
 * Raises each account's archived seq to the highest seq of its events matching `where`, in the
 * batch that deletes them (bind: the time now, then `where`'s parameters). D1 holds an account's
 * events as a prefix of its seqs (the ledger flushes in seq order and its seqs only grow), so
 * everything at or below that seq was in D1 and has left it or is still there: a retried flush
 * skips it either way (usage/flush.ts).
 */
export function archivedSeqSql(where: string): string {
  return `INSERT INTO usage_archive (account_id, archived_seq, updated_at)
  SELECT account_id, MAX(seq), ? FROM usage_events WHERE ${where} GROUP BY account_id
  ON CONFLICT(account_id) DO UPDATE SET archived_seq = MAX(archived_seq, excluded.archived_seq),
    updated_at = excluded.updated_at`;
}
