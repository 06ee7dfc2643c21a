/**
 * Hostile HTTP/1.1 over a raw socket against a real `wrangler dev` (SPEC §6 I4, I7): request
 * smuggling shapes, broken framing, injected header lines, odd request targets, slow bodies.
 *
 * The oracle, per shape: every answer is a refusal (the gateway's 4xx problem+json, or the
 * HTTP layer in front of it) or the call was forwarded and priced correctly; every request that
 * reached the upstream was answered to the client with the charge its body is priced at; the
 * account's captured credits move by exactly the charges the client saw; nothing is left held.
 *
 * Which layer answers (wrangler 4.86, workerd 2026-04, locally; on Cloudflare the edge parses
 * first). workerd's HTTP parser refuses NUL in a header with a 400, and throws on a bad
 * Content-Length (two of them, a list, a folded one), a transfer coding other than a final
 * `chunked`, and an absolute-form target: the local stack answers those with a plain-text 500
 * before any worker runs. A bad chunk is found while the body streams: the gateway reads a
 * truncated body and answers 400 (or wrangler's proxy answers 503 "Your worker restarted
 * mid-request"). The parser lets through, to the gateway: Content-Length beside
 * Transfer-Encoding (chunked wins, the connection stays open and the bytes after the chunked
 * body are parsed as the next request), `Transfer-Encoding : chunked`, obs-fold (unfolded),
 * bare CR or LF as line ends, and `#` kept in the path. The 5xx of the dev server's own layers
 * are accepted as refusals here; a 5xx from the gateway fails the test. A test log lists the
 * layer and answer of every shape.
 */
import { mkdtempSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Balance, balanceOf, type SeededAccount, seedAccount } from "./support/api";
import { HOSTILE_SHAPES, stepsFor } from "./support/hostile-shapes";
import { exchange, header, type RawExchange, type RawResponse } from "./support/raw-http";
import type { UpstreamHit, UpstreamReport } from "./support/upstream";
import { DevServer, migrateD1 } from "./support/wrangler";

const ctx = inject("e2e");
const OPERATOR_TOKEN = "e2e-operator-token";
const ACCOUNT = "e2e-hostile";
const PRICE_PER_UNIT = 10;

let server: DevServer | undefined;
let account: SeededAccount;

beforeAll(async () => {
  const persistTo = mkdtempSync(path.join(ctx.tmp, "hostile-"));
  await migrateD1(ctx, persistTo);
  server = await DevServer.start(ctx, {
    label: "hostile",
    configs: [ctx.gatewayConfig, ctx.upstreamConfig],
    persistTo,
    vars: { OPERATOR_TOKEN, DEMO_UPSTREAM_TOKEN: "e2e-upstream-token" },
  });
  // Professional with a sales seat: the GET-priced prospecting route is open to the member.
  account = await seedAccount(server.base, OPERATOR_TOKEN, ACCOUNT, 100_000, {
    plan: "professional",
    seat: "sales",
  });
});

afterAll(async () => {
  await server?.stop();
});

function running(): DevServer {
  if (!server) throw new Error("the server did not start");
  return server;
}

/** What the upstream has seen and what the ledger has captured, at one moment. */
interface Snapshot {
  report: UpstreamReport;
  /** The report is itself a priced call: its request id and charge. */
  reportRequestId: string;
  reportCharged: number;
  /** Report calls the dev server's proxy refused (503) before one got through. */
  proxyRefusals: number;
  balance: Balance;
}

/** Counts report calls. */
let reports = 0;

/**
 * Reads the upstream's record (through a priced call) and the balance. A shape can leave the dev
 * server's proxy in a state where the next request fails with its own 503 before reaching the
 * gateway; that call is retried and counted in `proxyRefusals` (the ledger oracle still checks
 * that it was not charged).
 */
async function snapshot(): Promise<Snapshot> {
  const { base } = running();
  let proxyRefusals = 0;
  for (let attempt = 1; ; attempt++) {
    // A record of its own each time: with dedupe (issue 16) a record enriched already is not
    // forwarded, and the report comes from the upstream.
    reports += 1;
    const res = await fetch(`${base}/v1/enrichment/companies`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${account.memberKey}`,
        "content-type": "application/json",
        "x-e2e-report": "1",
      },
      body: JSON.stringify({ records: [{ domain: `report-${reports}.example` }] }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    if (res.status === 503 && res.headers.get("x-request-id") === null && attempt < 3) {
      proxyRefusals += 1;
      continue;
    }
    expect(res.status, text.slice(0, 300)).toBe(200);
    return {
      report: JSON.parse(text) as UpstreamReport,
      reportRequestId: res.headers.get("x-request-id") ?? "",
      reportCharged: Number(res.headers.get("x-credits-charged")),
      proxyRefusals,
      balance: await balanceOf(base, account),
    };
  }
}

type Layer = "gateway" | "wrangler dev proxy" | "workerd HTTP layer";

function layerOf(response: RawResponse): Layer {
  if (header(response, "x-request-id") !== null) return "gateway";
  if (response.body.startsWith("Your worker restarted mid-request")) return "wrangler dev proxy";
  return "workerd HTTP layer";
}

/** The credits a request that reached the upstream is priced at, from what the upstream got. */
function priceOf(hit: UpstreamHit): number {
  if (hit.method === "POST" && hit.path === "/enrich/companies") {
    const body = JSON.parse(hit.body) as { records: unknown[] };
    return body.records.length * PRICE_PER_UNIT;
  }
  if (hit.method === "GET" && hit.path === "/prospecting/intent") {
    return Number(new URLSearchParams(hit.search).get("limit")) * PRICE_PER_UNIT;
  }
  throw new Error(`an unexpected call reached the upstream: ${hit.method} ${hit.path}`);
}

function codeOf(response: RawResponse): string {
  try {
    const problem = JSON.parse(response.body) as { code?: string; detail?: string };
    return problem.code ? ` ${problem.code}: ${problem.detail}` : "";
  } catch {
    return ` ${response.body.slice(0, 80)}`;
  }
}

function describeOutcome(result: RawExchange): string {
  const answers = result.responses.map(
    (r) =>
      `${r.status} from ${layerOf(r)}${codeOf(r)}${header(r, "x-credits-charged") ? ` (charged ${header(r, "x-credits-charged")})` : ""}`,
  );
  if (answers.length === 0) {
    answers.push(
      result.closedByServer ? "closed without an answer" : "no answer (connection held)",
    );
  }
  return answers.join("; ");
}

describe("hostile HTTP/1.1 on a raw socket", () => {
  const outcomes: string[] = [];
  afterAll(() => {
    console.log(`hostile shapes, by layer:\n${outcomes.join("\n")}`);
  });

  for (const shape of HOSTILE_SHAPES) {
    it(`${shape.name}: refused, or forwarded and priced; never charged unserved`, async () => {
      const live = running();
      const steps = stepsFor(shape, {
        host: `127.0.0.1:${live.port}`,
        memberKey: account.memberKey,
      });

      const before = await snapshot();
      const result = await exchange(live.port, steps, {
        expectResponses: shape.responses,
        deadlineMs: shape.deadlineMs,
      });
      const after = await snapshot();
      // What reached the upstream because of this shape (the two report calls excluded).
      const seenBefore = new Set(before.report.hits.map((h) => h.requestId));
      const hits = after.report.hits.filter(
        (h) =>
          !seenBefore.has(h.requestId) &&
          h.requestId !== before.reportRequestId &&
          h.requestId !== after.reportRequestId,
      );
      const aftermath =
        after.proxyRefusals > 0
          ? `; the next request then got ${after.proxyRefusals} x 503 from the wrangler dev proxy`
          : "";
      const forwarded = hits.map((h) => JSON.stringify(h.suspectHeaders)).filter((h) => h !== "{}");
      const seen = forwarded.length > 0 ? `; upstream saw ${forwarded.join(" ")}` : "";
      outcomes.push(
        `${shape.name} (${shape.attack}): ${describeOutcome(result)}${seen}${aftermath}`,
      );

      // Every answer: a refusal by some layer, or a priced call the gateway answered.
      const served = new Map<string, number>();
      for (const response of result.responses) {
        const layer = layerOf(response);
        if (layer === "gateway") {
          expect(response.status, `gateway answered ${response.body.slice(0, 300)}`).toBeLessThan(
            500,
          );
          const charged = Number(header(response, "x-credits-charged") ?? "0");
          served.set(header(response, "x-request-id") ?? "", charged);
        } else {
          // The dev server's own layers: a refusal, never a success, and nothing of ours.
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(header(response, "x-credits-charged")).toBeNull();
        }
      }

      expect(after.report.total - before.report.total - 1).toBe(hits.length);
      for (const hit of hits) {
        // Forwarded only as a call the client was answered for, at the price of what was forwarded.
        expect(
          served.has(hit.requestId ?? ""),
          `unanswered upstream call ${JSON.stringify(hit)}`,
        ).toBe(true);
        expect(served.get(hit.requestId ?? "")).toBe(priceOf(hit));
        expect(hit.account).toBe(ACCOUNT);
        expect(hit.credentialInjected).toBe(true);
      }
      // Every charge the client saw was for a call the upstream served.
      const hitIds = new Set(hits.map((h) => h.requestId));
      for (const [requestId, charged] of served) {
        if (charged > 0)
          expect(hitIds.has(requestId), `charged ${charged}, never served`).toBe(true);
      }
      // The ledger moved by exactly those charges (plus the second report call), and holds nothing.
      const shapeCharges = [...served.values()].reduce((a, b) => a + b, 0);
      expect(after.balance.capturedThisPeriod - before.balance.capturedThisPeriod).toBe(
        shapeCharges + after.reportCharged,
      );
      expect(after.balance.held).toBe(0);
    });
  }
});
