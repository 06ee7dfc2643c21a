/**
 * The AccountLedger's own SQLite schema. Each entry of MIGRATIONS runs once, in order, inside
 * the object's start-up; `meta.schema_version` records how far an object has come.
 *
 * CHECK constraints restate I1 and I2 so that a bug which would break them aborts the whole
 * transaction instead of writing a wrong balance.
 */
const V1 = `
CREATE TABLE account (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  tier TEXT NOT NULL,
  billing_anchor_day INTEGER NOT NULL CHECK (billing_anchor_day BETWEEN 1 AND 31),
  overage_policy TEXT NOT NULL DEFAULT 'block',
  period_start INTEGER,
  period_end INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE teams (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE members (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  team_id TEXT NOT NULL REFERENCES teams(id),
  seat TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  role TEXT NOT NULL,
  member_id TEXT REFERENCES members(id),
  name TEXT,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  source TEXT NOT NULL,
  priority INTEGER NOT NULL,
  amount INTEGER NOT NULL CHECK (amount >= 0),
  remaining INTEGER NOT NULL CHECK (remaining >= 0),
  held INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
  captured INTEGER NOT NULL DEFAULT 0 CHECK (captured >= 0),
  expired INTEGER NOT NULL DEFAULT 0 CHECK (expired >= 0),
  effective_at INTEGER NOT NULL,
  expires_at INTEGER,
  period_start INTEGER,
  note TEXT,
  created_at INTEGER NOT NULL,
  CHECK (amount = remaining + held + captured + expired)
);
CREATE INDEX grants_spendable ON grants (remaining) WHERE remaining > 0;
CREATE UNIQUE INDEX grants_included_period ON grants (period_start) WHERE source = 'included';
CREATE TABLE holds (
  id TEXT PRIMARY KEY,
  request_id TEXT NOT NULL,
  action TEXT NOT NULL,
  category TEXT NOT NULL,
  settlement TEXT NOT NULL,
  units INTEGER NOT NULL,
  amount INTEGER NOT NULL CHECK (amount >= 0),
  allocations TEXT NOT NULL,
  key_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  team_id TEXT NOT NULL,
  purpose TEXT,
  idempotency_key TEXT,
  period_start INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX holds_expiry ON holds (expires_at);
CREATE TABLE entries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('issue','hold','capture','void','expire','adjust')),
  grant_id TEXT NOT NULL,
  hold_id TEXT,
  amount INTEGER NOT NULL CHECK (amount >= 0),
  reason TEXT,
  request_id TEXT
);
CREATE INDEX entries_kind_at ON entries (kind, at);
CREATE TRIGGER entries_append_only_update BEFORE UPDATE ON entries
  BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries
  BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TABLE period_totals (
  period_start INTEGER PRIMARY KEY,
  captured INTEGER NOT NULL DEFAULT 0 CHECK (captured >= 0)
);
CREATE TABLE idempotency (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_flight','settled')),
  hold_id TEXT,
  outcome TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX idempotency_expiry ON idempotency (expires_at);
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  occurred_at INTEGER NOT NULL,
  payload TEXT NOT NULL
);
CREATE TABLE flush_stats (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  events INTEGER NOT NULL DEFAULT 0,
  writes INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  last_flush_at INTEGER
);
INSERT INTO flush_stats (id) VALUES (1);
`;

/** Rules, budgets and account policy (issue 3): counters per period and scope replace period_totals. */
const V2 = `
ALTER TABLE account ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';
ALTER TABLE teams ADD COLUMN rules TEXT NOT NULL DEFAULT '{}';
ALTER TABLE teams ADD COLUMN deleted_at INTEGER;
ALTER TABLE members ADD COLUMN budget INTEGER;
ALTER TABLE members ADD COLUMN deleted_at INTEGER;
CREATE TABLE counters (
  period_start INTEGER NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('account','team','member','action')),
  scope_id TEXT NOT NULL,
  captured INTEGER NOT NULL DEFAULT 0 CHECK (captured >= 0),
  held INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
  PRIMARY KEY (period_start, scope, scope_id)
);
INSERT INTO counters (period_start, scope, scope_id, captured)
  SELECT period_start, 'account', '*', captured FROM period_totals;
DROP TABLE period_totals;
CREATE TABLE rate_events (member_id TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX rate_events_member_at ON rate_events (member_id, at);
`;

/**
 * Alerts (issue 6): one row per kind, scope, line and period, so each fires at most once; the
 * row is written in the transaction of the debit that fired it. Settings live on the account.
 */
const V3 = `
ALTER TABLE account ADD COLUMN alert_settings TEXT NOT NULL DEFAULT '{}';
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  period_start INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('threshold','spike','forecast','depleted','denied_burst')),
  scope TEXT NOT NULL CHECK (scope IN ('account','team','member')),
  scope_id TEXT NOT NULL,
  threshold INTEGER NOT NULL DEFAULT 0,
  fired_at INTEGER NOT NULL,
  request_id TEXT,
  detail TEXT NOT NULL,
  copied INTEGER NOT NULL DEFAULT 0,
  UNIQUE (period_start, kind, scope, scope_id, threshold)
);
CREATE INDEX alerts_fired ON alerts (fired_at, id);
CREATE INDEX alerts_to_copy ON alerts (fired_at) WHERE copied = 0;
`;

/**
 * Webhooks (issue 6): the account's endpoint and signing secret, and one delivery per fired
 * alert, queued in the alert's transaction and sent by the alarm until it succeeds or gives up.
 * Spend per clock hour and recent denials feed the spike, forecast and denial-burst alerts.
 */
const V4 = `
ALTER TABLE account ADD COLUMN webhook_url TEXT;
ALTER TABLE account ADD COLUMN webhook_secret TEXT;
ALTER TABLE account ADD COLUMN webhook_updated_at INTEGER;
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  alert_id TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','delivered','failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_attempt_at INTEGER,
  last_status INTEGER,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at, id);
CREATE TABLE spend_hours (hour INTEGER PRIMARY KEY, captured INTEGER NOT NULL DEFAULT 0);
CREATE TABLE denials (at INTEGER NOT NULL);
CREATE INDEX denials_at ON denials (at);
`;

/** The account's overage policy lives in `policy` (V2); V1's own column was never read. */
const V5 = `
ALTER TABLE account DROP COLUMN overage_policy;
`;

/**
 * Plans from the configuration (issue 15): an account's tier was always one of the plans of the
 * same id, so the column is renamed and every value stays as it is.
 */
const V6 = `
ALTER TABLE account RENAME COLUMN tier TO plan;
`;

/** Scheduled prices (issue 15): a hold keeps the price it was admitted at, for its event. */
const V7 = `
ALTER TABLE holds ADD COLUMN price TEXT;
`;

/** Plan changes (issue 15): a plan with fewer included credits waits for the next period. */
const V8 = `
ALTER TABLE account ADD COLUMN pending_plan TEXT;
`;

/**
 * Recurring add-ons (issue 15): what the account holds, and on each of their grants which add-on
 * it is for, so a period issues each add-on's credits once.
 */
const V9 = `
CREATE TABLE add_ons (id TEXT PRIMARY KEY, quantity INTEGER NOT NULL CHECK (quantity > 0));
ALTER TABLE grants ADD COLUMN add_on TEXT;
CREATE INDEX grants_add_on_period ON grants (add_on, period_start) WHERE add_on IS NOT NULL;
`;

/**
 * Issue 16: enriched records per dedupe group (hashed keys; a key a call in flight has taken
 * names its hold), what a hold took and the caller's tags (for its event), and the account's
 * own value settings (hourly cost, currency, credit price).
 */
const V10 = `
CREATE TABLE dedupe_keys (
  grp TEXT NOT NULL,
  record TEXT NOT NULL,
  enriched_at INTEGER,
  hold_id TEXT,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (grp, record)
) WITHOUT ROWID;
ALTER TABLE holds ADD COLUMN dedupe TEXT;
ALTER TABLE holds ADD COLUMN tags TEXT;
ALTER TABLE account ADD COLUMN value_settings TEXT;
`;

/**
 * Issue 18: fewer rows written per call, each cut with its reason.
 * - `grants_spendable` goes: an account has a handful of grants, read whole at admission, so the
 *   index saved no read, while each hold rewrote its entry (remaining changes).
 * - `entries_kind_at` becomes an index of captures only: the forecast is its only reader, and it
 *   reads captures; hold, void and expire entries no longer write an index entry.
 * - `entries` loses AUTOINCREMENT: entries are never deleted (the append-only triggers), so the
 *   next rowid is always max + 1 and seq stays strictly increasing without `sqlite_sequence`,
 *   which AUTOINCREMENT rewrote on every insert.
 * - `holds` is keyed by its id WITHOUT ROWID, with no expiry index: the holds in flight are few
 *   (bounded by concurrency and the hold TTL), so the alarm's scan for expired ones reads a few
 *   rows, while each hold wrote three (row, id index, expiry index) and now writes one.
 * - `counters` stop counting held credits: a hold and its settlement rewrote the four scope rows
 *   twice; now a capture writes them once and the credits held are summed from `holds`.
 * `outbox` keeps AUTOINCREMENT: its seq is the event's sequence number, which must never be
 * reused after the rows below it are flushed and deleted.
 */
const V11 = `
DROP INDEX grants_spendable;
DROP INDEX entries_kind_at;
CREATE TABLE entries_v11 (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('issue','hold','capture','void','expire','adjust')),
  grant_id TEXT NOT NULL,
  hold_id TEXT,
  amount INTEGER NOT NULL CHECK (amount >= 0),
  reason TEXT,
  request_id TEXT
);
INSERT INTO entries_v11 (seq, at, kind, grant_id, hold_id, amount, reason, request_id)
  SELECT seq, at, kind, grant_id, hold_id, amount, reason, request_id FROM entries ORDER BY seq;
DROP TABLE entries;
ALTER TABLE entries_v11 RENAME TO entries;
CREATE INDEX entries_captures_at ON entries (at) WHERE kind = 'capture';
CREATE TRIGGER entries_append_only_update BEFORE UPDATE ON entries
  BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER entries_append_only_delete BEFORE DELETE ON entries
  BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TABLE holds_v11 (
  id TEXT NOT NULL PRIMARY KEY,
  request_id TEXT NOT NULL,
  action TEXT NOT NULL,
  category TEXT NOT NULL,
  settlement TEXT NOT NULL,
  units INTEGER NOT NULL,
  amount INTEGER NOT NULL CHECK (amount >= 0),
  allocations TEXT NOT NULL,
  key_id TEXT NOT NULL,
  member_id TEXT NOT NULL,
  team_id TEXT NOT NULL,
  purpose TEXT,
  idempotency_key TEXT,
  period_start INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  price TEXT,
  dedupe TEXT,
  tags TEXT
) WITHOUT ROWID;
INSERT INTO holds_v11 SELECT id, request_id, action, category, settlement, units, amount,
  allocations, key_id, member_id, team_id, purpose, idempotency_key, period_start, created_at,
  expires_at, price, dedupe, tags FROM holds;
DROP TABLE holds;
ALTER TABLE holds_v11 RENAME TO holds;
UPDATE counters SET held = 0;
`;

/**
 * Issue 18: the outbox without its UNIQUE index on the event id, which every event wrote and only
 * the flush's acknowledgement read (it now deletes by seq, the row's own key). AUTOINCREMENT
 * stays, and the sequence is carried over: an event's seq must continue after the last one ever
 * written, even when the outbox is empty.
 */
const V12 = `
CREATE TABLE outbox_sequence_v12 AS SELECT seq FROM sqlite_sequence WHERE name = 'outbox';
CREATE TABLE outbox_v12 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  payload TEXT NOT NULL
);
INSERT INTO outbox_v12 (seq, id, occurred_at, payload)
  SELECT seq, id, occurred_at, payload FROM outbox ORDER BY seq;
DROP TABLE outbox;
ALTER TABLE outbox_v12 RENAME TO outbox;
DELETE FROM sqlite_sequence WHERE name IN ('outbox', 'outbox_v12');
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'outbox', MAX(COALESCE((SELECT MAX(seq) FROM outbox_sequence_v12), 0),
                       COALESCE((SELECT MAX(seq) FROM outbox), 0));
DROP TABLE outbox_sequence_v12;
`;

/**
 * Issue 18, three rows fewer per capture:
 * - The account's captured credits are the sum of its action counters (every capture writes
 *   both), so the account row keeps only what no action row holds: credits captured before
 *   action counters existed (V2 moved the old period totals into account rows alone). A capture
 *   no longer writes it.
 * - The outbox's seq no longer comes from AUTOINCREMENT, which wrote `sqlite_sequence` with
 *   every event: the next seq follows the last one waiting, or the last one D1 confirmed
 *   (`flush_stats.last_seq`, written by the flush), so none is ever reused.
 * - The captures-only index on entries goes: the forecast reads the hourly spend instead.
 */
const V13 = `
DROP INDEX entries_captures_at;
UPDATE counters SET captured = MAX(0, captured - (
  SELECT COALESCE(SUM(a.captured), 0) FROM counters a
  WHERE a.period_start = counters.period_start AND a.scope = 'action'))
  WHERE scope = 'account';
DELETE FROM counters WHERE scope = 'account' AND captured = 0;
ALTER TABLE flush_stats ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
UPDATE flush_stats SET last_seq = COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0);
CREATE TABLE outbox_v13 (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  payload TEXT NOT NULL
);
INSERT INTO outbox_v13 (seq, id, occurred_at, payload)
  SELECT seq, id, occurred_at, payload FROM outbox ORDER BY seq;
DROP TABLE outbox;
ALTER TABLE outbox_v13 RENAME TO outbox;
DELETE FROM sqlite_sequence WHERE name = 'outbox';
`;

const MIGRATIONS: readonly string[] = [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13];

/**
 * Brings the object's tables up to the current schema version (or `to`, which only tests use to
 * build an object as an earlier release left it). Synchronous; run at start-up.
 */
export function migrate(sql: SqlStorage, to = MIGRATIONS.length): void {
  sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const row = sql
    .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'")
    .toArray()[0];
  const version = row ? Number(row.value) : 0;
  for (let v = version; v < Math.min(to, MIGRATIONS.length); v++) {
    sql.exec(MIGRATIONS[v] ?? "");
    sql.exec(
      "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      String(v + 1),
    );
  }
}
