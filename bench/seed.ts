/**
 * The bench's accounts, made through the gateway's HTTP API, and what the gateway says about
 * them afterwards: outbox totals (events flushed to D1, flush writes) and ledger totals
 * (credits captured and still held).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { type Balance, expectApi, type OutboxState } from "../test/e2e/support/api";
import { sleep } from "../test/e2e/support/wrangler";
import { CONFIG, log, OPERATOR_TOKEN, ROOT } from "./config";

export interface Account {
  id: string;
  adminKey: string;
  memberKey: string;
  teamId: string;
}

/** Runs `fn` over the items, `size` at a time. */
export async function inBatches<T, R>(
  items: T[],
  size: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  }
  return out;
}

/**
 * One account: plan professional, a team, a member, an admin and a member key, and a pack of
 * CONFIG.grantCredits.
 */
async function seedAccount(base: string, index: number): Promise<Account> {
  const id = `bench-${String(index + 1).padStart(3, "0")}`;
  const op = <T>(route: string, body: unknown) =>
    expectApi<T>(201, base, "POST", route, OPERATOR_TOKEN, body);
  await op("/admin/v1/accounts", {
    id,
    name: `Bench ${id}`,
    plan: "professional",
    billingAnchorDay: 1,
  });
  const admin = await op<{ key: string }>(`/admin/v1/accounts/${id}/keys`, {
    role: "admin",
    name: "bench admin",
  });
  const as = <T>(route: string, body: unknown) =>
    expectApi<T>(201, base, "POST", route, admin.key, body);
  const team = await as<{ id: string }>("/v1/teams", { name: "Bench" });
  const member = await as<{ id: string }>("/v1/members", {
    name: "Bench member",
    teamId: team.id,
    seat: "core",
  });
  const key = await as<{ key: string }>("/v1/keys", {
    role: "member",
    memberId: member.id,
    name: "bench",
  });
  await op(`/admin/v1/accounts/${id}/grants`, {
    amount: CONFIG.grantCredits,
    source: "pack",
    note: "bench",
  });
  return { id, adminKey: admin.key, memberKey: key.key, teamId: team.id };
}

export function seedAccounts(base: string, count = CONFIG.accounts): Promise<Account[]> {
  const indexes = Array.from({ length: count }, (_, i) => i);
  return inBatches(indexes, 5, (i) => seedAccount(base, i));
}

export interface OutboxTotals {
  pending: number;
  flushedEvents: number;
  flushWrites: number;
  failures: number;
  lastErrors: string[];
  byAccount: Record<string, { flushedEvents: number; flushWrites: number }>;
}

export async function outboxTotals(base: string, accounts: Account[]): Promise<OutboxTotals> {
  const details = await inBatches(accounts, 10, (a) =>
    expectApi<{ id: string; outbox: OutboxState }>(
      200,
      base,
      "GET",
      `/admin/v1/accounts/${a.id}`,
      OPERATOR_TOKEN,
    ),
  );
  const totals: OutboxTotals = {
    pending: 0,
    flushedEvents: 0,
    flushWrites: 0,
    failures: 0,
    lastErrors: [],
    byAccount: {},
  };
  for (const { id, outbox } of details) {
    totals.byAccount[id] = { flushedEvents: outbox.flushedEvents, flushWrites: outbox.flushWrites };
    totals.pending += outbox.pending;
    totals.flushedEvents += outbox.flushedEvents;
    totals.flushWrites += outbox.flushWrites;
    totals.failures += outbox.failures;
    if (outbox.lastError) totals.lastErrors.push(`${id}: ${outbox.lastError}`);
  }
  return totals;
}

export interface LedgerTotals {
  captured: number;
  held: number;
}

export async function ledgerTotals(base: string, accounts: Account[]): Promise<LedgerTotals> {
  const balances = await inBatches(accounts, 10, (a) =>
    expectApi<Balance>(200, base, "GET", "/v1/balance", a.adminKey),
  );
  let captured = 0;
  let held = 0;
  for (const b of balances) {
    captured += b.capturedThisPeriod;
    held += b.held;
  }
  return { captured, held };
}

/** The gateway's outbox flush delay, from wrangler.toml. */
export function flushDelayMs(): number {
  const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  return Number(/^\s*OUTBOX_FLUSH_DELAY_MS\s*=\s*"?(\d+)"?/m.exec(toml)?.[1] ?? 1000);
}

/** How long to wait for the outboxes: the gateway's flush delay plus 20 s. */
export function flushWaitMs(): number {
  return Math.min(120_000, Math.max(30_000, flushDelayMs() + 20_000));
}

/** Waits until every outbox is empty and the flushed count stops moving. */
export async function awaitFlush(
  base: string,
  accounts: Account[],
  expectedEvents: number,
  waitMs: number,
): Promise<OutboxTotals & { timedOut: boolean }> {
  const deadline = Date.now() + waitMs;
  let last: OutboxTotals | null = null;
  while (Date.now() < deadline) {
    await sleep(1000);
    const totals = await outboxTotals(base, accounts);
    const settled =
      totals.pending === 0 &&
      last !== null &&
      last.flushedEvents === totals.flushedEvents &&
      totals.flushedEvents >= expectedEvents;
    last = totals;
    if (settled) return { ...totals, timedOut: false };
    log(`outbox: ${totals.pending} pending, ${totals.flushedEvents} flushed`);
  }
  return { ...(last ?? (await outboxTotals(base, accounts))), timedOut: true };
}
