/**
 * Reconciliation: the ledger's captured credits for a period beside D1's, per action and per
 * team. The ledger is the source of truth; D1 is complete once the outbox is empty (I5), so a
 * difference that the outbox explains is "pending", and anything else is a defect to report.
 */

/** Captured credits of one period, in total and per action and per team. */
export interface CapturedTotals {
  credits: number;
  byAction: Record<string, number>;
  byTeam: Record<string, number>;
}

export const emptyTotals = (): CapturedTotals => ({ credits: 0, byAction: {}, byTeam: {} });

/** Adds `credits` for one (action, team) pair; a missing team is counted as "". */
export function addTo(t: CapturedTotals, action: string, team: string | null, credits: number) {
  t.credits += credits;
  t.byAction[action] = (t.byAction[action] ?? 0) + credits;
  const key = team ?? "";
  t.byTeam[key] = (t.byTeam[key] ?? 0) + credits;
}

/**
 * Captured credits of one account (?1) and period (?2) by action and team: its raw events below
 * a seq (?3), then the period's rollups and deletions. Raw events are found through the
 * account's seq index (`seq < ?3`), so this reads every raw event of the account that D1 still
 * holds, at most `USAGE_HOT_DAYS` of them (older ones are archived or rolled up), and keeps
 * those of the period. An index on the period would narrow that read, but cost every event one
 * more D1 row written (issue 18); reconciliation is an occasional read, and a row read costs a
 * thousandth of a row written.
 */
export const D1_CAPTURED_SQL = `SELECT action, team, SUM(credits) AS credits FROM (
    SELECT action, team_id AS team, credits FROM usage_events
      WHERE account_id = ?1 AND seq < ?3 AND period_start = ?2 AND outcome = 'captured'
    UNION ALL
    SELECT action, NULLIF(team_id, '') AS team, credits FROM usage_rollups
      WHERE account_id = ?1 AND period_start = ?2 AND outcome = 'captured'
    UNION ALL
    SELECT action, NULLIF(team_id, '') AS team, credits FROM usage_deletions
      WHERE account_id = ?1 AND period_start = ?2 AND outcome = 'captured'
  ) GROUP BY action, team`;

/**
 * D1's captured credits of one account and period: raw events, archived days and what
 * retention deleted (it keeps the per-period totals of what it removes for exactly this).
 */
export async function d1Captured(
  db: D1Database,
  accountId: string,
  periodStart: string,
  /** Only raw events with a smaller seq: the ones the ledger knows D1 has (see ledger/reconcile.ts). */
  seqBelow: number,
): Promise<CapturedTotals> {
  const { results } = await db
    .prepare(D1_CAPTURED_SQL)
    .bind(accountId, periodStart, seqBelow)
    .all<{ action: string; team: string | null; credits: number }>();
  const totals = emptyTotals();
  for (const r of results) addTo(totals, r.action, r.team, Number(r.credits));
  return totals;
}

export type Verdict = "balanced" | "pending" | "mismatch";

export interface ReconcileLine {
  ledger: number;
  d1: number;
  pending: number;
  /** ledger - d1 - pending: 0 when the books agree. */
  unexplained: number;
}

export interface Comparison {
  verdict: Verdict;
  total: ReconcileLine;
  byAction: ({ action: string } & ReconcileLine)[];
  byTeam: ({ teamId: string | null } & ReconcileLine)[];
}

function line(ledger: number, d1: number, pending: number): ReconcileLine {
  return { ledger, d1, pending, unexplained: ledger - d1 - pending };
}

function lines(
  ledger: Record<string, number>,
  d1: Record<string, number>,
  pending: Record<string, number>,
): [string, ReconcileLine][] {
  const keys = [...new Set([...Object.keys(ledger), ...Object.keys(d1), ...Object.keys(pending)])];
  return keys
    .sort()
    .map((k) => [k, line(ledger[k] ?? 0, d1[k] ?? 0, pending[k] ?? 0)] as [string, ReconcileLine])
    .filter(([, l]) => l.ledger !== 0 || l.d1 !== 0 || l.pending !== 0);
}

/**
 * Compares the three sets of totals. `balanced`: D1 equals the ledger everywhere. `pending`:
 * it does once the outbox's events arrive. `mismatch`: some difference is not explained by the
 * outbox, on any line.
 */
export function compare(
  ledger: CapturedTotals,
  d1: CapturedTotals,
  pending: CapturedTotals,
): Comparison {
  const byAction = lines(ledger.byAction, d1.byAction, pending.byAction).map(([action, l]) => ({
    action,
    ...l,
  }));
  const byTeam = lines(ledger.byTeam, d1.byTeam, pending.byTeam).map(([team, l]) => ({
    teamId: team === "" ? null : team,
    ...l,
  }));
  const total = line(ledger.credits, d1.credits, pending.credits);
  const all = [total, ...byAction, ...byTeam];
  const verdict: Verdict = all.some((l) => l.unexplained !== 0)
    ? "mismatch"
    : all.some((l) => l.pending !== 0)
      ? "pending"
      : "balanced";
  return { verdict, total, byAction, byTeam };
}
