/**
 * Archive runs (issue 19): every account day older than a cutoff that still has events in D1 is
 * moved to the archive bucket, oldest first, one `archiveDay` each, at most `maxDays` (and
 * MAX_PARTS_PER_RUN parts) per run. A day that fails stays in D1 and the run goes on with the
 * next; the run reports the last error.
 * The Cron Trigger runs it by itself (`scheduledArchive`) and the operator's retention route on
 * demand. Where a run stopped needs no bookmark: what is left is what D1 still holds before the
 * cutoff. Each run's progress and its last error are kept in `usage_archive_runs` for the
 * operator (`archiveStatus`).
 */
import { DAY_MS } from "../lib/time";
import { ArchiveBusy, type ArchiveHooks, archiveDay, MAX_PART_EVENTS } from "./archive";

/**
 * Parts one run writes at most: each costs about ten D1 and R2 calls, and an invocation has a
 * bounded number of them. The rest waits for the next run (`more`).
 */
const MAX_PARTS_PER_RUN = 50;
/** A run stops after this many failing days in a row (R2 or D1 is down: no use going on). */
const MAX_FAILURES_IN_A_ROW = 3;

export interface ArchiveRunResult {
  days: number;
  events: number;
  credits: number;
  /** Account days left before the cutoff after this run (it stopped at its slice or an error). */
  more: boolean;
  /** Why the run stopped early; null when it did not fail. */
  error: string | null;
}

interface DueDay {
  account_id: string;
  day: string;
  events: number;
  credits: number;
}

/** The account days before `cutoff` with events in D1, oldest first (at most `limit`). */
async function dueDays(
  db: D1Database,
  cutoff: string,
  accountId: string | null,
  limit: number,
): Promise<DueDay[]> {
  const scope = accountId === null ? "" : " AND account_id = ?";
  const rows = await db
    .prepare(
      `SELECT account_id, substr(occurred_at, 1, 10) AS day, COUNT(*) AS events,
         COALESCE(SUM(CASE WHEN outcome = 'captured' THEN credits END), 0) AS credits
       FROM usage_events WHERE occurred_at < ?${scope}
       GROUP BY account_id, day ORDER BY day, account_id LIMIT ?`,
    )
    .bind(cutoff, ...(accountId === null ? [] : [accountId]), limit)
    .all<DueDay>();
  return rows.results;
}

/** Archives up to `maxDays` account days before `cutoff` (a UTC midnight); dry: counts them. */
export async function archiveOlderThan(
  db: D1Database,
  bucket: R2Bucket,
  options: { cutoff: string; accountId: string | null; dryRun: boolean; maxDays: number },
  now: Date,
  hooks: ArchiveHooks = {},
): Promise<ArchiveRunResult> {
  // Leases a run could not give back (it died) lapse; their rows go here, so the table keeps
  // only the days being archived now.
  if (!options.dryRun) {
    await db
      .prepare("DELETE FROM usage_archive_leases WHERE expires_at <= ?")
      .bind(now.toISOString())
      .run();
  }
  const due = await dueDays(db, options.cutoff, options.accountId, options.maxDays + 1);
  const slice = due.slice(0, options.maxDays);
  const result: ArchiveRunResult = {
    days: 0,
    events: 0,
    credits: 0,
    more: due.length > slice.length,
    error: null,
  };
  let parts = 0;
  let failures = 0;
  for (const d of slice) {
    if (options.dryRun) {
      result.days += 1;
      result.events += d.events;
      result.credits += d.credits;
      continue;
    }
    if (parts >= MAX_PARTS_PER_RUN) {
      result.more = true;
      break;
    }
    try {
      // A day bigger than one part takes several, one after the other.
      let moved = false;
      for (;;) {
        const part = await archiveDay(db, bucket, d.account_id, d.day, now, hooks);
        if (!part) break;
        moved = true;
        parts += 1;
        result.events += part.events;
        result.credits += part.capturedCredits;
        if (part.events < (hooks.maxPartEvents ?? MAX_PART_EVENTS)) break;
        if (parts >= MAX_PARTS_PER_RUN) {
          result.more = true;
          break;
        }
      }
      if (moved) result.days += 1;
      failures = 0;
    } catch (error) {
      // That day stays in D1 for a later run; the others go on, so one bad day blocks none.
      result.more = true;
      if (error instanceof ArchiveBusy) continue;
      result.error = `${d.account_id} ${d.day}: ${error instanceof Error ? error.message : String(error)}`;
      failures += 1;
      if (failures >= MAX_FAILURES_IN_A_ROW) break;
    }
  }
  if (!options.dryRun) await recordRun(db, result, now);
  return result;
}

/** Adds a run to `usage_archive_runs` (one row): totals, when, and its error or none. */
async function recordRun(db: D1Database, run: ArchiveRunResult, now: Date) {
  const at = now.toISOString();
  await db
    .prepare(
      `INSERT INTO usage_archive_runs (id, last_run_at, last_completed_at, days, events, last_error, last_error_at)
       VALUES (1, ?1, CASE WHEN ?2 THEN ?1 END, ?3, ?4, ?5, CASE WHEN ?5 IS NOT NULL THEN ?1 END)
       ON CONFLICT(id) DO UPDATE SET last_run_at = ?1,
         last_completed_at = CASE WHEN ?2 THEN ?1 ELSE last_completed_at END,
         days = days + ?3, events = events + ?4,
         last_error = CASE WHEN ?5 IS NOT NULL THEN ?5 ELSE last_error END,
         last_error_at = CASE WHEN ?5 IS NOT NULL THEN ?1 ELSE last_error_at END`,
    )
    .bind(at, run.more ? 0 : 1, run.days, run.events, run.error)
    .run();
}

/** The UTC midnight `days` days before `now`: events before it are due for the archive. */
export function cutoffBefore(now: Date, days: number): string {
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  return new Date(today - days * DAY_MS).toISOString();
}

/**
 * One scheduled run (the Cron Trigger): the slice of the backlog older than the hot window.
 * Without a bucket it does nothing: retention then keeps rolling old days up in D1 on demand.
 */
export async function scheduledArchive(
  db: D1Database,
  bucket: R2Bucket | null,
  settings: { usageHotDays: number; archiveSliceDays: number },
  now: Date,
): Promise<ArchiveRunResult | null> {
  if (!bucket) return null;
  return archiveOlderThan(
    db,
    bucket,
    {
      cutoff: cutoffBefore(now, settings.usageHotDays),
      accountId: null,
      dryRun: false,
      maxDays: settings.archiveSliceDays,
    },
    now,
  );
}

export interface ArchiveStatus {
  /** Whether this Worker has an archive bucket; without one, raw events stay in D1. */
  bucket: boolean;
  hotDays: number;
  sliceDays: number;
  cutoff: string;
  lastRunAt: string | null;
  lastCompletedAt: string | null;
  /** Account days and events moved by all runs so far. */
  days: number;
  events: number;
  lastError: string | null;
  lastErrorAt: string | null;
  /** What D1 still holds before the cutoff: the next runs' work. */
  backlog: { days: number; events: number };
  /** What the archive holds. */
  archived: { parts: number; events: number };
}

/** The archive as the operator sees it. */
export async function archiveStatus(
  db: D1Database,
  hasBucket: boolean,
  settings: { usageHotDays: number; archiveSliceDays: number },
  now: Date,
): Promise<ArchiveStatus> {
  const cutoff = cutoffBefore(now, settings.usageHotDays);
  const [runs, backlog, archived] = await db.batch([
    db.prepare("SELECT * FROM usage_archive_runs WHERE id = 1"),
    db
      .prepare(
        `SELECT COUNT(*) AS days, COALESCE(SUM(n), 0) AS events FROM (SELECT COUNT(*) AS n
           FROM usage_events WHERE occurred_at < ? GROUP BY account_id, substr(occurred_at, 1, 10))`,
      )
      .bind(cutoff),
    db.prepare(
      "SELECT COUNT(*) AS parts, COALESCE(SUM(events), 0) AS events FROM usage_archive_days",
    ),
  ]);
  const run = runs?.results[0] as
    | {
        last_run_at: string | null;
        last_completed_at: string | null;
        days: number;
        events: number;
        last_error: string | null;
        last_error_at: string | null;
      }
    | undefined;
  const b = backlog?.results[0] as { days: number; events: number } | undefined;
  const a = archived?.results[0] as { parts: number; events: number } | undefined;
  return {
    bucket: hasBucket,
    hotDays: settings.usageHotDays,
    sliceDays: settings.archiveSliceDays,
    cutoff,
    lastRunAt: run?.last_run_at ?? null,
    lastCompletedAt: run?.last_completed_at ?? null,
    days: run?.days ?? 0,
    events: run?.events ?? 0,
    lastError: run?.last_error ?? null,
    lastErrorAt: run?.last_error_at ?? null,
    backlog: { days: b?.days ?? 0, events: b?.events ?? 0 },
    archived: { parts: a?.parts ?? 0, events: a?.events ?? 0 },
  };
}
