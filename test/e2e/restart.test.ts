/**
 * Killing `wrangler dev` mid-load and starting it again (issue 4; SPEC §6 I2, I4, I5): a real
 * gateway and demo upstream under concurrent priced calls (fast ones; slow ones, held while the
 * upstream thinks; and ones captured whose body is still streaming), SIGKILLed as a whole
 * process group, restarted on the same persist dir. Then, with nothing but the ledger's own
 * alarm at work: holds left in flight expire after HOLD_TTL_MS and are voided, the outbox
 * reaches D1, and
 * - every call the client saw succeed is captured exactly once, at its price;
 * - every call cut off is captured or voided, never both (or never admitted);
 * - grants balance: issued = remaining + held + captured + expired, nothing left held;
 * - D1 holds exactly one event per settled call, and its captured credits sum to the ledger's.
 */
import { mkdtempSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import {
  type Balance,
  balanceOf,
  type OutboxState,
  outboxOf,
  type SeededAccount,
  seedAccount,
} from "./support/api";
import { DevServer, d1Query, migrateD1, sleep } from "./support/wrangler";

const ctx = inject("e2e");
const OPERATOR_TOKEN = "e2e-operator-token";
const ACCOUNT = "e2e-restart";
const PACK = 1_000_000;
/** The starter plan's included grant (SPEC §2), issued at the first request of the period. */
const INCLUDED = 500;
const ISSUED = PACK + INCLUDED;
const PRICE_PER_RECORD = 10;
/** Longer than any call takes here (the slow ones wait SLOW_MS upstream), short enough to wait out. */
const HOLD_TTL_MS = 10_000;
const OUTBOX_FLUSH_DELAY_MS = 500;
/** How late an alarm may run on a loaded machine, past the time it was set for. */
const ALARM_SLACK_MS = 3_000;
/** Concurrent loops of calls, by kind: fast; slow upstream (held meanwhile); slow body (captured). */
const LOOPS = { fast: 8, slow: 3, slowBody: 3 } as const;
type Kind = keyof typeof LOOPS;
const SLOW_MS = 2_000;

const VARS = {
  OPERATOR_TOKEN,
  DEMO_UPSTREAM_TOKEN: "e2e-upstream-token",
  HOLD_TTL_MS: String(HOLD_TTL_MS),
  OUTBOX_FLUSH_DELAY_MS: String(OUTBOX_FLUSH_DELAY_MS),
};

/** One priced call as the client lived it. */
interface Call {
  /** Sent as X-Credit-Purpose, so its usage event can be found in D1. */
  tag: string;
  records: number;
  kind: Kind;
  startedAt: number;
  /** The status line, if one arrived, and when. */
  status: number | null;
  statusAt: number | null;
  charged: number | null;
  requestId: string | null;
  /** The whole answer arrived. */
  complete: boolean;
  error: string | null;
}

interface UsageRow {
  id: string;
  request_id: string;
  purpose: string | null;
  outcome: string;
  reason: string | null;
  credits: number;
  held_credits: number;
  /** JSON provenance: [{ grantId, amount }]. */
  grants: string;
}

interface GrantShare {
  grantId: string;
  amount: number;
}

let persistTo = "";
const servers: DevServer[] = [];

beforeAll(async () => {
  persistTo = mkdtempSync(path.join(ctx.tmp, "restart-"));
  await migrateD1(ctx, persistTo);
});

afterAll(async () => {
  for (const server of servers) await server.stop();
});

async function startGateway(label: string): Promise<DevServer> {
  const server = await DevServer.start(ctx, {
    label,
    configs: [ctx.gatewayConfig, ctx.upstreamConfig],
    persistTo,
    vars: VARS,
  });
  servers.push(server);
  return server;
}

function newCall(tag: string, records: number, kind: Kind): Call {
  return {
    tag,
    records,
    kind,
    startedAt: Date.now(),
    status: null,
    statusAt: null,
    charged: null,
    requestId: null,
    complete: false,
    error: null,
  };
}

const KIND_HEADERS: Record<Kind, Record<string, string>> = {
  fast: {},
  slow: { "x-e2e-delay-ms": String(SLOW_MS) },
  slowBody: { "x-e2e-body-delay-ms": String(SLOW_MS) },
};

async function priced(base: string, key: string, call: Call): Promise<void> {
  const records = Array.from({ length: call.records }, (_, i) => ({
    domain: `${call.tag}-${i}.example`,
  }));
  try {
    const res = await fetch(`${base}/v1/enrichment/companies`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        "x-credit-purpose": call.tag,
        ...KIND_HEADERS[call.kind],
      },
      body: JSON.stringify({ records }),
      signal: AbortSignal.timeout(30_000),
    });
    call.status = res.status;
    call.statusAt = Date.now();
    call.charged = Number(res.headers.get("x-credits-charged") ?? "NaN");
    call.requestId = res.headers.get("x-request-id");
    await res.arrayBuffer();
    call.complete = true;
  } catch (error) {
    call.error = error instanceof Error ? error.message : String(error);
  }
}

/** Concurrent loops of priced calls of every kind, until `finish`. */
function load(base: string, key: string) {
  const calls: Call[] = [];
  const current = new Map<string, Call>();
  let stop = false;
  const loop = async (name: string, kind: Kind) => {
    for (let n = 0; !stop; n++) {
      const call = newCall(`${name}-${n}`, kind === "fast" ? 1 + (n % 3) : 1, kind);
      calls.push(call);
      current.set(name, call);
      await priced(base, key, call);
    }
  };
  const loops = (Object.keys(LOOPS) as Kind[]).flatMap((kind) =>
    Array.from({ length: LOOPS[kind] }, (_, i) => loop(`${kind}${i}`, kind)),
  );
  const inFlight = (kind: Kind) => [...current.values()].filter((c) => c.kind === kind);
  return {
    calls,
    /**
     * True when every slow loop has a call admitted and waiting on the upstream (in flight for
     * `ms`), and every slow-body loop a call answered and captured whose body is still coming.
     */
    readyToKill(ms: number): boolean {
      const now = Date.now();
      const slow = inFlight("slow");
      const slowBody = inFlight("slowBody");
      return (
        slow.length === LOOPS.slow &&
        slow.every((c) => c.status === null && now - c.startedAt >= ms) &&
        slowBody.length === LOOPS.slowBody &&
        slowBody.every((c) => !c.complete && c.statusAt !== null && now - c.statusAt >= ms)
      );
    },
    completedFast: () => calls.filter((c) => c.kind === "fast" && c.complete).length,
    async finish() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

/** Polls the operator's outbox view (it moves no money and sets no alarm) until `done`. */
async function waitForOutbox(
  base: string,
  done: (state: OutboxState) => boolean,
  timeoutMs: number,
  what: string,
): Promise<OutboxState> {
  const deadline = Date.now() + timeoutMs;
  let state = await outboxOf(base, OPERATOR_TOKEN, ACCOUNT);
  while (!done(state)) {
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs / 1000} s; outbox ${JSON.stringify(state)}`);
    }
    await sleep(500);
    state = await outboxOf(base, OPERATOR_TOKEN, ACCOUNT);
  }
  return state;
}

/**
 * I2 over HTTP. `/v1/balance` lists only grants with credits left or held, so a spent grant (the
 * included one, spent first) drops out of the list: per grant, issued = remaining + held +
 * captured + expired for those listed; for the account, what can still be spent plus what is
 * held plus what was captured is what was issued (nothing here expires).
 */
function expectConservation(balance: Balance, account: SeededAccount) {
  for (const g of balance.grants) {
    expect(g.remaining + g.held + g.captured + g.expired, `grant ${g.id}`).toBe(g.amount);
    expect(g.remaining).toBeGreaterThanOrEqual(0);
  }
  expect(balance.grants.find((g) => g.id === account.packId)?.amount).toBe(PACK);
  expect(balance.grants.reduce((total, g) => total + g.held, 0)).toBe(balance.held);
  expect(balance.available + balance.held + balance.capturedThisPeriod).toBe(ISSUED);
}

/** I5: D1 holds each flushed event once, and its credits (per grant too) are the ledger's. */
function expectD1MatchesLedger(rows: UsageRow[], balance: Balance, outbox: OutboxState) {
  expect(rows.length).toBe(outbox.flushedEvents);
  expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  expect(new Set(rows.map((r) => r.request_id)).size).toBe(rows.length);
  const capturedInD1 = rows
    .filter((r) => r.outcome === "captured")
    .reduce((total, r) => total + r.credits, 0);
  expect(capturedInD1).toBe(balance.capturedThisPeriod);
  // Per grant, D1's provenance is what the ledger says each grant paid; a grant the balance no
  // longer lists was spent to the last credit.
  const paidBy = new Map<string, number>();
  for (const row of rows) {
    for (const { grantId, amount } of JSON.parse(row.grants) as GrantShare[]) {
      paidBy.set(grantId, (paidBy.get(grantId) ?? 0) + amount);
    }
  }
  let listedAmount = 0;
  for (const g of balance.grants) {
    listedAmount += g.amount;
    expect(paidBy.get(g.id) ?? 0, `grant ${g.id} in D1`).toBe(g.captured);
    paidBy.delete(g.id);
  }
  expect([...paidBy.values()].reduce((a, b) => a + b, 0)).toBe(ISSUED - listedAmount);
}

/** Each call is settled at most once, and as the client saw it: returns how they ended. */
function expectEachCallSettledOnce(calls: Call[], rows: UsageRow[]) {
  const byTag = new Map<string, UsageRow[]>();
  for (const row of rows) {
    expect(row.purpose, `an event no call of ours explains: ${JSON.stringify(row)}`).not.toBeNull();
    byTag.set(row.purpose ?? "", [...(byTag.get(row.purpose ?? "") ?? []), row]);
  }
  const known = new Set(calls.map((c) => c.tag));
  for (const tag of byTag.keys())
    expect(known.has(tag), `event for unknown call ${tag}`).toBe(true);

  const tally = {
    served: 0,
    servedCutMidBody: 0,
    refused: 0,
    cutCaptured: 0,
    cutVoided: 0,
    cutNoEvent: 0,
  };
  for (const call of calls) {
    const events = byTag.get(call.tag) ?? [];
    const price = call.records * PRICE_PER_RECORD;
    expect(events.length, `${call.tag}: ${JSON.stringify(events)}`).toBeLessThanOrEqual(1);
    const event = events[0];
    if (call.status !== null && call.status >= 200 && call.status < 300) {
      // Seen to succeed (the body may have been cut by the kill): captured once, at its price.
      if (call.complete) tally.served += 1;
      else tally.servedCutMidBody += 1;
      expect(event?.outcome, `${call.tag} succeeded for the client`).toBe("captured");
      expect(event?.credits).toBe(price);
      expect(call.charged).toBe(price);
      expect(event?.request_id).toBe(call.requestId);
    } else if (call.status !== null) {
      // Refused or failed with an answer: never charged (I4).
      tally.refused += 1;
      expect(event?.outcome ?? "none", `${call.tag} answered ${call.status}`).not.toBe("captured");
    } else if (event === undefined) {
      tally.cutNoEvent += 1;
    } else if (event.outcome === "captured") {
      // Served upstream and settled; the kill took the answer.
      tally.cutCaptured += 1;
      expect(event.credits).toBe(price);
    } else {
      // Admitted, then killed before settling: the hold expired and was voided.
      tally.cutVoided += 1;
      expect(event.outcome).toBe("voided");
      expect(event.reason).toBe("hold_expired");
      expect(event.credits).toBe(0);
      expect(event.held_credits).toBe(price);
    }
  }
  for (const row of rows.filter((r) => r.outcome === "voided")) {
    expect(row.reason, "only the restart voids anything here").toBe("hold_expired");
  }
  return tally;
}

it("loses no captured credit and no usage event when killed mid-load; holds in flight expire and are voided", async () => {
  const first = await startGateway("gateway");
  const account = await seedAccount(first.base, OPERATOR_TOKEN, ACCOUNT, PACK);

  // Load until fast calls have settled in numbers (or for long enough), every slow loop has a
  // call held while the upstream thinks (the holds the kill leaves in flight) and every
  // slow-body loop a call captured whose body is still streaming to the client.
  const traffic = load(first.base, account.memberKey);
  const loadStarted = Date.now();
  const enough = () => traffic.completedFast() >= 200 || Date.now() - loadStarted > 20_000;
  while (!(enough() && traffic.readyToKill(300))) {
    if (Date.now() - loadStarted > 40_000)
      throw new Error("the slow calls never lined up for the kill");
    await sleep(20);
  }
  const killedAt = Date.now();
  const stopping = traffic.finish();
  await first.kill();
  await stopping;
  const calls = traffic.calls;

  // Restart on the same state; from here only the alarm may void the holds left in flight.
  const second = await startGateway("gateway restarted");
  let last = -1;
  await waitForOutbox(
    second.base,
    (s) => {
      const settled =
        Date.now() > killedAt + HOLD_TTL_MS + ALARM_SLACK_MS &&
        s.pending === 0 &&
        s.flushedEvents === last;
      last = s.flushedEvents;
      return settled;
    },
    HOLD_TTL_MS + 30_000,
    "holds expired and their events flushed",
  );
  // Reading the balance voids any lapsed hold itself: if it had to, the alarm had not.
  const afterExpiry = await balanceOf(second.base, account);
  expect(afterExpiry.held, "credits still held after HOLD_TTL_MS").toBe(0);
  expect(afterExpiry.holds.count, "holds left after HOLD_TTL_MS").toBe(0);
  expect(
    (await outboxOf(second.base, OPERATOR_TOKEN, ACCOUNT)).pending,
    "the balance read found holds the alarm had not voided",
  ).toBe(0);
  expectConservation(afterExpiry, account);

  // The restarted gateway serves and settles as before.
  for (let n = 0; n < 3; n++) {
    const call = newCall(`after-${n}`, 1, "fast");
    await priced(second.base, account.memberKey, call);
    expect(call.status, call.error ?? "").toBe(200);
    calls.push(call);
  }
  const outbox = await waitForOutbox(second.base, (s) => s.pending === 0, 30_000, "outbox drained");
  const balance = await balanceOf(second.base, account);
  expect(balance.held, "credits held once the restarted gateway's calls settled").toBe(0);
  expectConservation(balance, account);
  await second.stop();

  const rows = await d1Query<UsageRow>(
    ctx,
    persistTo,
    `SELECT id, request_id, purpose, outcome, reason, credits, held_credits, grants FROM usage_events WHERE account_id = '${ACCOUNT}'`,
  );

  expectD1MatchesLedger(rows, balance, outbox);
  const tally = expectEachCallSettledOnce(calls, rows);
  console.log(
    `restart: ${calls.length} calls; ${tally.served} served and captured, ` +
      `${tally.servedCutMidBody} answered 200 and captured but cut mid-body, ${tally.refused} refused; ` +
      `cut off by the kill: ${tally.cutCaptured} captured, ${tally.cutVoided} held then voided by expiry, ` +
      `${tally.cutNoEvent} never admitted; ${rows.length} events in D1, ${balance.capturedThisPeriod} credits captured`,
  );
  // The kill must have caught holds in flight, or this test proved nothing about expiry.
  expect(tally.cutVoided).toBeGreaterThan(0);
  expect(tally.servedCutMidBody).toBeGreaterThan(0);
  expect(tally.served).toBeGreaterThan(0);
});
