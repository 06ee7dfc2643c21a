/**
 * `npm run bench:archive` (issue 19): what raw usage history costs in D1, how fast it moves to the
 * archive bucket, and how fast it exports from there against from D1.
 *
 * It serves the bundled gateway with Miniflare (bench/serve.ts, on 127.0.0.1), which writes
 * BENCH_ARCHIVE_EVENTS usage events (default 100,000) of one account into D1 over 20 UTC days of
 * January 2026 before serving, and reports D1's size before and after. Then, through the HTTP
 * API: a CSV export of the whole range (from D1), archive runs (`POST /admin/v1/usage/retention`
 * in `archive` mode, repeated while `more`), and the same export again (now from R2), whose bytes
 * must equal the first's. It prints the figures and how many days D1's 10 GB would hold at 10,
 * 100 and 1,000 calls a second, and writes them to bench/archive-results.json.
 */
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { expectApi } from "../test/e2e/support/api";
import { stopAll } from "../test/e2e/support/wrangler";
import { log, OPERATOR_TOKEN, ROOT } from "./config";
import { createWorkspace, serveGateway } from "./servers";

const ACCOUNT = "bench-archive";
const DAYS = 20;
const FROM = Date.parse("2026-01-01T00:00:00.000Z");
/** D1's largest database (Workers Paid). */
const D1_MAX_BYTES = 10 * 1000 ** 3;
const RESULTS_FILE = path.join(ROOT, "bench", "archive-results.json");

function eventsFromEnv(): number {
  const raw = process.env.BENCH_ARCHIVE_EVENTS;
  const n = raw ? Number(raw) : 100_000;
  if (!Number.isInteger(n) || n < 1_000 || n > 1_000_000) {
    throw new Error(`BENCH_ARCHIVE_EVENTS must be an integer from 1000 to 1000000, got ${raw}`);
  }
  return n;
}

/** Reads a CSV export to the end: its rows (header excluded), bytes, SHA-256 and seconds. */
async function exportCsv(base: string, key: string) {
  const started = performance.now();
  const res = await fetch(`${base}/v1/usage/events?format=csv`, {
    headers: { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(300_000),
  });
  if (res.status !== 200 || !res.body) throw new Error(`export: HTTP ${res.status}`);
  const hash = createHash("sha256");
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body as ReadableStream<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.byteLength;
    for (const b of chunk) if (b === 10) lines += 1;
  }
  return {
    rows: lines - 1,
    bytes,
    sha256: hash.digest("hex"),
    seconds: (performance.now() - started) / 1000,
  };
}

const perSec = (n: number, seconds: number) => Math.round(n / seconds);

async function main() {
  const events = eventsFromEnv();
  const ws = createWorkspace();
  try {
    log(`serving, with ${events} events of ${ACCOUNT} over ${DAYS} days written into D1`);
    const server = await serveGateway(ws, {
      label: "archive",
      persistTo: path.join(ws.tmp, "archive-state"),
      seedUsage: {
        count: events,
        accountId: ACCOUNT,
        from: FROM,
        stepMs: Math.floor((DAYS * 86_400_000) / events),
      },
    });
    const size = /^d1-size (\d+) (\d+)$/m.exec(readFileSync(server.started.stdout, "utf8"));
    if (!size) throw new Error("serve.ts did not report D1's size");
    const bytesPerEvent = (Number(size[2]) - Number(size[1])) / events;

    const base = server.base;
    await expectApi(201, base, "POST", "/admin/v1/accounts", OPERATOR_TOKEN, {
      id: ACCOUNT,
      name: "Bench archive",
      plan: "starter",
    });
    const finance = await expectApi<{ key: string }>(
      201,
      base,
      "POST",
      `/admin/v1/accounts/${ACCOUNT}/keys`,
      OPERATOR_TOKEN,
      { role: "finance" },
    );

    log("exporting from D1");
    const fromD1 = await exportCsv(base, finance.key);
    if (fromD1.rows !== events) throw new Error(`D1 export: ${fromD1.rows} rows of ${events}`);

    log("archiving to R2");
    let archived = 0;
    let days = 0;
    const started = performance.now();
    for (let run = 0; run < 100; run++) {
      const result = await expectApi<{
        events: number;
        days: number;
        more: boolean;
        error: string | null;
      }>(200, base, "POST", "/admin/v1/usage/retention", OPERATOR_TOKEN, {
        olderThanDays: 62,
        mode: "archive",
        accountId: ACCOUNT,
      });
      if (result.error) throw new Error(`archive: ${result.error}`);
      archived += result.events;
      days += result.days;
      if (!result.more) break;
    }
    const archiveSeconds = (performance.now() - started) / 1000;
    if (archived !== events) throw new Error(`archive moved ${archived} of ${events}`);

    log("exporting from R2");
    const fromR2 = await exportCsv(base, finance.key);
    const identical = fromR2.sha256 === fromD1.sha256 && fromR2.bytes === fromD1.bytes;
    if (!identical) throw new Error("the export from R2 differs from the export from D1");

    const daysHeld = Object.fromEntries(
      [10, 100, 1000].map((rate) => [
        `${rate}/s`,
        Number((D1_MAX_BYTES / bytesPerEvent / (rate * 86_400)).toFixed(1)),
      ]),
    );
    const results = {
      when: new Date().toISOString(),
      events,
      d1: { bytesPerEvent: Math.round(bytesPerEvent), daysHeldIn10GB: daysHeld },
      archive: {
        days,
        events: archived,
        seconds: archiveSeconds,
        eventsPerSec: perSec(archived, archiveSeconds),
      },
      export: {
        fromD1: {
          eventsPerSec: perSec(events, fromD1.seconds),
          seconds: fromD1.seconds,
          bytes: fromD1.bytes,
        },
        fromR2: {
          eventsPerSec: perSec(events, fromR2.seconds),
          seconds: fromR2.seconds,
          bytes: fromR2.bytes,
        },
        r2OverD1: Number((fromD1.seconds / fromR2.seconds).toFixed(2)),
        identical,
      },
    };
    writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
    console.log(
      `\ncreditgate archive bench  ${results.when}  (${events} events, ${DAYS} days, one account)`,
    );
    console.log(`D1 bytes per event (indexes included): ${results.d1.bytesPerEvent}`);
    console.log("days of raw history D1's 10 GB holds:");
    for (const [rate, held] of Object.entries(daysHeld))
      console.log(`  ${rate.padStart(7)}  ${held} days`);
    console.log(
      `archive to R2: ${archived} events, ${days} account days in ${archiveSeconds.toFixed(1)} s = ${results.archive.eventsPerSec} events/s`,
    );
    console.log(
      `CSV export from D1: ${results.export.fromD1.eventsPerSec} events/s; from R2: ${results.export.fromR2.eventsPerSec} events/s (R2 / D1 speed ${results.export.r2OverD1}); bytes identical: ${identical}`,
    );
    console.log(`results written to ${path.relative(ROOT, RESULTS_FILE)}`);
  } finally {
    await stopAll();
    rmSync(ws.tmp, { recursive: true, force: true });
  }
}

await main();
