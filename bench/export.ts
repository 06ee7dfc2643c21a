/**
 * The usage-export part of `npm run bench` (issue 5): how fast `GET /v1/usage/events?format=csv`
 * streams, and whether workerd's memory stays flat while it does.
 *
 * serve.ts writes the events straight into D1 before the gateway serves (one SQL statement; the
 * export reads D1, so how the rows got there does not matter). This module then makes the
 * account and a finance key through the HTTP API, reads the CSV of the full range and of its
 * first half, counts rows and credits, and samples workerd's resident memory (VmRSS) every 25 ms
 * while each export runs. A buffering export would grow with the range; a streaming one does not.
 *
 * serve.ts imports this module: it must stay free of side effects (no knobs read, no processes).
 */
import { readFileSync } from "node:fs";
import { expectApi } from "../test/e2e/support/api";

export const EXPORT_ACCOUNT = "bench-export";
export const EXPORT_CREDITS_PER_EVENT = 3;
const EXPORT_FROM = Date.parse("2026-01-01T00:00:00.000Z");
const EXPORT_STEP_MS = 10;
const CSV_COLUMNS =
  "id,occurredAt,periodStart,accountId,teamId,memberId,keyId,requestId,action,category,outcome,reason,units,credits";

/** Where and how densely seeded events lie: by default the export's account, 10 ms apart. */
export interface SeedShape {
  accountId?: string;
  /** The first event's time (ms since the epoch). */
  from?: number;
  stepMs?: number;
}

/** The statement serve.ts runs: `count` captured events of one account, `stepMs` apart. */
export function seedUsageSql(
  count: number,
  shape: SeedShape = {},
): { sql: string; params: (string | number)[] } {
  return {
    sql: `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?2)
      INSERT INTO usage_events (id, account_id, seq, occurred_at, period_start, request_id,
        team_id, member_id, key_id, action, category, outcome, reason, units, credits,
        held_credits, grants, purpose, idempotency_key, upstream_status, duration_ms)
      SELECT printf('evt_bench_%08d', i), ?1, i + 1,
        strftime('%Y-%m-%dT%H:%M:%fZ', (?3 + i * ?4) / 1000.0, 'unixepoch'),
        '2026-01-01T00:00:00.000Z', 'req-bench-' || i, 'team_bench', 'member_bench', 'key_bench',
        'enrichment.company', 'enrichment', 'captured', NULL, 1, ?5, ?5,
        '[{"grantId":"grant_bench","amount":' || CAST(?5 AS INTEGER) || '}]', 'bench export', NULL, 200, 3
      FROM n`,
    params: [
      shape.accountId ?? EXPORT_ACCOUNT,
      count,
      shape.from ?? EXPORT_FROM,
      shape.stepMs ?? EXPORT_STEP_MS,
      EXPORT_CREDITS_PER_EVENT,
    ],
  };
}

/** Resident memory of a process in MiB, or null (not Linux, or gone). */
function rssMb(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return line ? Number(line[1]) / 1024 : null;
  } catch {
    return null;
  }
}

interface ExportRead {
  rows: number;
  credits: number;
  bytes: number;
  seconds: number;
  rssBeforeMb: number | null;
  rssPeakMb: number | null;
  rssGrowthMb: number | null;
}

/** Reads one CSV export to the end: rows, credits, bytes, seconds and workerd's memory meanwhile. */
async function readExport(
  base: string,
  key: string,
  query: string,
  pid: number | null,
): Promise<ExportRead> {
  const creditsAt = CSV_COLUMNS.split(",").indexOf("credits");
  const before = rssMb(pid);
  let peak = before;
  const sampler = setInterval(() => {
    const now = rssMb(pid);
    if (now !== null && (peak === null || now > peak)) peak = now;
  }, 25);
  const started = performance.now();
  try {
    const res = await fetch(`${base}/v1/usage/events?format=csv${query}`, {
      headers: { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(120_000),
    });
    if (res.status !== 200 || !res.body)
      throw new Error(`export: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    const decoder = new TextDecoder();
    let rest = "";
    let rows = -1; // the header row
    let credits = 0;
    let bytes = 0;
    for await (const chunk of res.body as ReadableStream<Uint8Array>) {
      bytes += chunk.byteLength;
      const lines = (rest + decoder.decode(chunk, { stream: true })).split("\r\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        rows += 1;
        if (rows > 0) credits += Number(line.split(",")[creditsAt]);
      }
    }
    if (rest !== "") throw new Error("export: the CSV did not end with CRLF");
    const seconds = (performance.now() - started) / 1000;
    return {
      rows,
      credits,
      bytes,
      seconds,
      rssBeforeMb: before,
      rssPeakMb: peak,
      rssGrowthMb: before !== null && peak !== null ? peak - before : null,
    };
  } finally {
    clearInterval(sampler);
  }
}

export interface ExportResult {
  events: number;
  seconds: number;
  eventsPerSec: number;
  megabytes: number;
  workerdRssMb: { before: number | null; peak: number | null; growth: number | null };
  halfRange: { events: number; eventsPerSec: number; workerdRssGrowthMb: number | null };
  problems: string[];
}

export interface ExportOptions {
  base: string;
  /** The gateway's workerd, whose resident memory is sampled (null: not sampled). */
  workerdPid: number | null;
  operatorToken: string;
  /** Events serve.ts seeded. */
  count: number;
}

/** Exports the seeded account's events as CSV, the first half of the range and then all of it. */
export async function measureExport(options: ExportOptions): Promise<ExportResult> {
  const { base, workerdPid: pid, operatorToken, count } = options;
  await expectApi(201, base, "POST", "/admin/v1/accounts", operatorToken, {
    id: EXPORT_ACCOUNT,
    name: "Bench export",
    plan: "starter",
  });
  const finance = await expectApi<{ key: string }>(
    201,
    base,
    "POST",
    `/admin/v1/accounts/${EXPORT_ACCOUNT}/keys`,
    operatorToken,
    { role: "finance", name: "bench export" },
  );
  const half = Math.floor(count / 2);
  const at = (events: number) =>
    encodeURIComponent(new Date(EXPORT_FROM + events * EXPORT_STEP_MS).toISOString());
  // Warm up the route (and D1's page cache) on a small range first.
  await readExport(base, finance.key, `&to=${at(1000)}`, pid);
  const firstHalf = await readExport(base, finance.key, `&to=${at(half)}`, pid);
  const whole = await readExport(base, finance.key, "", pid);
  const problems: string[] = [];
  if (whole.rows !== count) problems.push(`export: ${whole.rows} rows of ${count} seeded events`);
  if (whole.credits !== count * EXPORT_CREDITS_PER_EVENT)
    problems.push(`export: ${whole.credits} credits, not ${count * EXPORT_CREDITS_PER_EVENT}`);
  if (firstHalf.rows !== half)
    problems.push(`export of the first half: ${firstHalf.rows} rows of ${half}`);
  return {
    events: whole.rows,
    seconds: whole.seconds,
    eventsPerSec: whole.rows / whole.seconds,
    megabytes: whole.bytes / 1024 / 1024,
    workerdRssMb: { before: whole.rssBeforeMb, peak: whole.rssPeakMb, growth: whole.rssGrowthMb },
    halfRange: {
      events: firstHalf.rows,
      eventsPerSec: firstHalf.rows / firstHalf.seconds,
      workerdRssGrowthMb: firstHalf.rssGrowthMb,
    },
    problems,
  };
}
