import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** The account directory: what the operator lists. Enforcement config lives in the ledger. */
export const accounts = sqliteTable("accounts", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  plan: text("plan").notNull(),
  /** A smaller plan waiting for the period's end, and when it takes over (ISO); else null. */
  pendingPlan: text("pending_plan"),
  pendingFrom: text("pending_from"),
  billingAnchorDay: integer("billing_anchor_day").notNull(),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/**
 * One row per settled or denied call, copied from the ledger's outbox. The primary key is the
 * event id the ledger assigned, so a repeated flush inserts nothing twice.
 */
export const usageEvents = sqliteTable(
  "usage_events",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    seq: integer("seq").notNull(),
    occurredAt: text("occurred_at").notNull(),
    periodStart: text("period_start").notNull(),
    requestId: text("request_id").notNull(),
    teamId: text("team_id"),
    memberId: text("member_id"),
    keyId: text("key_id"),
    action: text("action").notNull(),
    category: text("category").notNull(),
    outcome: text("outcome", { enum: ["captured", "voided", "denied"] }).notNull(),
    reason: text("reason"),
    units: integer("units").notNull(),
    credits: integer("credits").notNull(),
    heldCredits: integer("held_credits").notNull(),
    grants: text("grants").notNull(),
    purpose: text("purpose"),
    idempotencyKey: text("idempotency_key"),
    upstreamStatus: integer("upstream_status"),
    durationMs: integer("duration_ms"),
    /** The price the call was admitted at (JSON), as the configuration had it then. */
    price: text("price"),
    recordsCharged: integer("records_charged"),
    recordsSkipped: integer("records_skipped"),
    creditsSaved: integer("credits_saved"),
    /** The caller's tags (JSON object), filtered and grouped with json_extract. */
    tags: text("tags"),
    /** Hashes of the records charged (JSON array); usage_records indexes them. */
    recordKeys: text("record_keys"),
  },
  (t) => [
    // Exports and summaries read an account's events by time. (Reconciliation had an index on
    // the period; it now finds the account's events through the seq index below, which saves
    // every event an index row: a D1 row written per call, issue 18.)
    index("usage_events_account_time").on(t.accountId, t.occurredAt, t.id),
    // An export's snapshot is "every event of the account up to seq S": the ledger flushes in
    // seq order, so the events at or below the largest seq D1 holds never change.
    index("usage_events_account_seq").on(t.accountId, t.seq),
    // Retention over every account cuts by time alone.
    index("usage_events_time").on(t.occurredAt),
    // An outcome reported with a request id is attributed to that call's event.
    index("usage_events_account_request").on(t.accountId, t.requestId),
  ],
);

/**
 * The records each captured call charged (issue 16), one row per record key hash and event,
 * copied with the events: what attributes an outcome reported by record to its last touch.
 */
export const usageRecords = sqliteTable(
  "usage_records",
  {
    accountId: text("account_id").notNull(),
    recordKey: text("record_key").notNull(),
    occurredAt: text("occurred_at").notNull(),
    eventId: text("event_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.recordKey, t.occurredAt, t.eventId] }),
    index("usage_records_event").on(t.eventId),
  ],
);

/**
 * Outcomes the account's CRM reports (issue 16): a meeting booked, a deal won. `id` is the
 * caller's and makes a report idempotent; `fingerprint` is the body's, to refuse a changed repeat.
 */
export const outcomes = sqliteTable(
  "outcomes",
  {
    accountId: text("account_id").notNull(),
    id: text("id").notNull(),
    kind: text("kind").notNull(),
    recordKey: text("record_key"),
    requestId: text("request_id"),
    value: real("value"),
    occurredAt: text("occurred_at").notNull(),
    receivedAt: text("received_at").notNull(),
    fingerprint: text("fingerprint").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.id] }),
    index("outcomes_account_time").on(t.accountId, t.occurredAt),
  ],
);

/**
 * Ids of events retention removed before issue 19. A flush retried after a lost acknowledgement
 * sends events D1 already took; the flush still skips the ids here, but nothing adds to it any
 * more: `usage_archive`'s per-account seq does that job in one row per account.
 */
export const usageTombstones = sqliteTable("usage_tombstones", {
  id: text("id").primaryKey(),
});

/**
 * Per account, the seq below which usage events have left `usage_events` for good (archived to
 * R2 or deleted by retention; issue 19). D1 holds each account's events as a prefix of its seqs
 * (the ledger flushes in seq order), so every event at or below this seq was in D1 when it left:
 * a flush retried later skips it. One row per account, however much is archived: it replaces
 * the tombstone table, which kept an id per removed event (and is read, no longer written).
 */
export const usageArchive = sqliteTable("usage_archive", {
  accountId: text("account_id").primaryKey(),
  archivedSeq: integer("archived_seq").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/**
 * The archive objects (issue 19): one row per part of an account's day in the archive bucket,
 * with its manifest's figures. A day is normally one part; events that reach D1 after their day
 * was archived (a ledger that could not flush for that long) become another part, named by its
 * first seq. Exports read the parts listed here from R2 instead of D1; the operator sees them.
 */
export const usageArchiveDays = sqliteTable(
  "usage_archive_days",
  {
    accountId: text("account_id").notNull(),
    /** The UTC date, YYYY-MM-DD. */
    day: text("day").notNull(),
    events: integer("events").notNull(),
    capturedCredits: integer("captured_credits").notNull(),
    firstSeq: integer("first_seq").notNull(),
    lastSeq: integer("last_seq").notNull(),
    /** The part's first and last event times: parts whose spans overlap are read merged. */
    firstAt: text("first_at").notNull(),
    lastAt: text("last_at").notNull(),
    sha256: text("sha256").notNull(),
    bytes: integer("bytes").notNull(),
    compressedBytes: integer("compressed_bytes").notNull(),
    archivedAt: text("archived_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.day, t.firstSeq] })],
);

/**
 * Who is archiving an account day now: a run takes the day's lease before it reads, and its
 * commit only lists a part while it still holds it, so two runs (the cron and the operator's)
 * never write the same day at once.
 */
export const usageArchiveLeases = sqliteTable(
  "usage_archive_leases",
  {
    accountId: text("account_id").notNull(),
    day: text("day").notNull(),
    holder: text("holder").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.day] })],
);

/** The archiver's own progress (one row): where the scheduled runs are, and the last error. */
export const usageArchiveRuns = sqliteTable("usage_archive_runs", {
  id: integer("id").primaryKey(),
  lastRunAt: text("last_run_at"),
  lastCompletedAt: text("last_completed_at"),
  days: integer("days").notNull().default(0),
  events: integer("events").notNull().default(0),
  lastError: text("last_error"),
  lastErrorAt: text("last_error_at"),
});

/**
 * Archived usage: events older than the retention age, rolled up per day, period and
 * who/what/outcome before the raw rows are deleted, so summaries and reconciliation keep their
 * exact totals. A missing team or member is stored as ''.
 */
export const usageRollups = sqliteTable(
  "usage_rollups",
  {
    accountId: text("account_id").notNull(),
    day: text("day").notNull(),
    periodStart: text("period_start").notNull(),
    teamId: text("team_id").notNull().default(""),
    memberId: text("member_id").notNull().default(""),
    action: text("action").notNull(),
    category: text("category").notNull(),
    outcome: text("outcome", { enum: ["captured", "voided", "denied"] }).notNull(),
    events: integer("events").notNull(),
    units: integer("units").notNull(),
    credits: integer("credits").notNull(),
  },
  (t) => [
    primaryKey({
      columns: [
        t.accountId,
        t.day,
        t.periodStart,
        t.teamId,
        t.memberId,
        t.action,
        t.category,
        t.outcome,
      ],
    }),
    index("usage_rollups_account_period").on(t.accountId, t.periodStart),
  ],
);

/**
 * Deleted usage: what retention in `delete` mode removed, per period, action and team, so
 * reconciliation still accounts for every captured credit. Summaries no longer see it.
 */
export const usageDeletions = sqliteTable(
  "usage_deletions",
  {
    accountId: text("account_id").notNull(),
    periodStart: text("period_start").notNull(),
    action: text("action").notNull(),
    teamId: text("team_id").notNull().default(""),
    outcome: text("outcome", { enum: ["captured", "voided", "denied"] }).notNull(),
    events: integer("events").notNull(),
    credits: integer("credits").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.periodStart, t.action, t.teamId, t.outcome] })],
);

/**
 * Alerts as the ledgers fired them (issue 6), copied from each ledger by its alarm like usage
 * events: exactly once, by id. `GET /v1/alerts` reads the ledger itself; this is for finance
 * and operators querying across time and accounts.
 */
export const alerts = sqliteTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    kind: text("kind").notNull(),
    scope: text("scope").notNull(),
    scopeId: text("scope_id").notNull(),
    threshold: integer("threshold"),
    periodStart: text("period_start").notNull(),
    firedAt: text("fired_at").notNull(),
    requestId: text("request_id"),
    detail: text("detail").notNull(),
  },
  (t) => [index("alerts_account_time").on(t.accountId, t.firedAt)],
);

/** Who changed what in an account's configuration, and when. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    actor: text("actor").notNull(),
    operation: text("operation").notNull(),
    target: text("target"),
    detail: text("detail").notNull(),
    at: text("at").notNull(),
  },
  (t) => [index("audit_log_account_time").on(t.accountId, t.at)],
);
