/**
 * The ledger's spend per period and scope as its decisions see it: captured credits from the
 * `counters` table, held credits summed from the holds in flight (ledger V11 keeps no held
 * counter; ledger V13 keeps the account's captured credits as the sum of its action rows and its
 * own), one row per period, scope and id.
 */
export const SPEND_BY_SCOPE = `SELECT period_start, scope, scope_id, SUM(captured) AS captured,
    SUM(held) AS held FROM (
  SELECT period_start, scope, scope_id, captured, held FROM counters
  UNION ALL SELECT period_start, 'account', '*', captured, 0 FROM counters WHERE scope = 'action'
  UNION ALL SELECT h.period_start, s.value,
    CASE s.value WHEN 'account' THEN '*' WHEN 'team' THEN h.team_id
      WHEN 'member' THEN h.member_id ELSE h.action END, 0, h.amount
    FROM holds h, json_each('["account","team","member","action"]') s)
  GROUP BY period_start, scope, scope_id`;
