/**
 * The ledger's spend per period and scope as its decisions see it: captured credits from the
 * `counters` table, held credits summed from the holds in flight (ledger V11 keeps no held
 * counter), one row per period, scope and id.
 */
export const SPEND_BY_SCOPE = `SELECT period_start, scope, scope_id, SUM(captured) AS captured,
    SUM(held) AS held FROM (
  SELECT period_start, scope, scope_id, captured, held FROM counters
  UNION ALL SELECT period_start, 'account', '*', 0, amount FROM holds
  UNION ALL SELECT period_start, 'team', team_id, 0, amount FROM holds
  UNION ALL SELECT period_start, 'member', member_id, 0, amount FROM holds
  UNION ALL SELECT period_start, 'action', action, 0, amount FROM holds)
  GROUP BY period_start, scope, scope_id`;
