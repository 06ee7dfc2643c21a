/**
 * Spike, forecast and denial-burst alerts on synthetic usage histories (issue 6): each fires on
 * the history made to trip it, once, and stays quiet on a steady one. The ledger's clock is
 * moved to lay the history out over days.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../../src/ledger/object";
import {
  bearer,
  call,
  grant,
  jsonCall,
  ledger,
  setupAccount,
  spend,
  type TestAccount,
} from "../support/api";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface AlertRow {
  kind: string;
  requestId: string | null;
  detail: Record<string, unknown>;
}

async function alertsOf(acct: TestAccount, kind: string): Promise<AlertRow[]> {
  const res = await jsonCall<{ data: AlertRow[] }>(`/v1/alerts?kind=${kind}&limit=200`, {
    headers: bearer(acct.financeKey),
  });
  return res.body.data;
}

async function setClock(acct: TestAccount, at: number) {
  await runInDurableObject(ledger(acct.id), (instance: AccountLedger) => {
    instance.clock = () => at;
  });
}

/** Spends `credits` at the ledger time `at` (on_request: captured at admission); its request id. */
async function spendAt(acct: TestAccount, at: number, credits: number): Promise<string> {
  await setClock(acct, at);
  const res = await spend(acct.memberKey, `/v1/test/drain?credits=${credits}`);
  expect(res.status).toBe(200);
  return res.headers.get("x-request-id") ?? "";
}

/** An account whose billing period began today (UTC), so a month of history lies ahead. */
function freshAccount(plan: "starter" | "professional" | "enterprise" = "professional") {
  return setupAccount({ plan, billingAnchorDay: new Date().getUTCDate() });
}

/** A time `days` after now: the history is laid out after the account was made. */
const later = (days: number) => Date.now() + days * DAY;

describe("spike alerts", () => {
  it("stay quiet on a steady day and fire once when the last hour runs far above it", async () => {
    const acct = await freshAccount("enterprise");
    await grant(acct.id, 1_000_000);
    const start = later(0) + 5 * 60_000;
    for (let h = 0; h < 25; h++) await spendAt(acct, start + h * HOUR, 200);
    expect(await alertsOf(acct, "spike")).toEqual([]);
    // The next hour at twice the pace: still under 3x the average.
    await spendAt(acct, start + 25 * HOUR, 400);
    expect(await alertsOf(acct, "spike")).toEqual([]);
    // Then a burst: the last hour at about 6x.
    await spendAt(acct, start + 25 * HOUR + 10 * 60_000, 800);
    const spikes = await alertsOf(acct, "spike");
    expect(spikes).toHaveLength(1);
    const detail = spikes[0]?.detail ?? {};
    expect(detail.factor).toBe(3);
    // About 200 an hour before; the last hour's estimate well above 3x that.
    expect(Number(detail.hourlyAverage)).toBeGreaterThan(150);
    expect(Number(detail.hourlyAverage)).toBeLessThan(250);
    expect(Number(detail.lastHour)).toBeGreaterThan(3 * Number(detail.hourlyAverage));
    await spendAt(acct, start + 25 * HOUR + 20 * 60_000, 800);
    expect(await alertsOf(acct, "spike")).toHaveLength(1);
  });

  it("are decided by the capture that crosses the line, even seconds after the last look", async () => {
    const acct = await freshAccount("enterprise");
    await grant(acct.id, 1_000_000);
    const start = later(0) + 5 * 60_000;
    for (let h = 0; h < 25; h++) await spendAt(acct, start + h * HOUR, 200);
    // A management write in between drops the ledger's cached reads: the hourly buckets are
    // read again from SQLite, and must still add up.
    await grant(acct.id, 1);
    const t = start + 25 * HOUR + 10 * 60_000;
    await spendAt(acct, t, 300);
    expect(await alertsOf(acct, "spike")).toEqual([]);
    const crossing = await spendAt(acct, t + 2_000, 400);
    const spikes = await alertsOf(acct, "spike");
    expect(spikes).toHaveLength(1);
    expect(spikes[0]?.requestId).toBe(crossing);
  });

  it("never fire under the floor, however steep", async () => {
    const acct = await freshAccount();
    const start = later(0);
    await spendAt(acct, start, 1);
    await spendAt(acct, start + 25 * HOUR, 99);
    expect(await alertsOf(acct, "spike")).toEqual([]);
  });
});

describe("forecast alerts", () => {
  it("fire from the capture that sets a pace which runs out before the period ends, once", async () => {
    // Starter: 500 credits; 200 in the first day is a pace that empties it in 2.5 days.
    const acct = await freshAccount("starter");
    await spendAt(acct, later(1), 200);
    const fired = await alertsOf(acct, "forecast");
    expect(fired).toHaveLength(1);
    expect(Date.parse(String(fired[0]?.detail.projectedDepletionAt))).toBeLessThan(later(3));
    expect(fired[0]?.detail.available).toBe(300);
    await spendAt(acct, later(1) + 2 * 60_000, 10);
    expect(await alertsOf(acct, "forecast")).toHaveLength(1);
  });

  it("are decided by the capture that sets the pace, even seconds after the last look", async () => {
    const acct = await freshAccount("starter");
    await spendAt(acct, later(1), 5);
    expect(await alertsOf(acct, "forecast")).toEqual([]);
    const crossing = await spendAt(acct, later(1) + 1_000, 200);
    const fired = await alertsOf(acct, "forecast");
    expect(fired).toHaveLength(1);
    expect(fired[0]?.requestId).toBe(crossing);
  });

  it("wait until the account is a day old: its first hour is no pace", async () => {
    const acct = await freshAccount("starter");
    await spendAt(acct, Date.now() + 60_000, 200);
    await spendAt(acct, Date.now() + 20 * HOUR, 10);
    expect(await alertsOf(acct, "forecast")).toEqual([]);
    await spendAt(acct, later(1) + HOUR, 10);
    expect(await alertsOf(acct, "forecast")).toHaveLength(1);
  });

  it("stay quiet when the pace lasts the period", async () => {
    const acct = await freshAccount("starter");
    for (let d = 1; d <= 7; d++) await spendAt(acct, later(d), 5);
    expect(await alertsOf(acct, "forecast")).toEqual([]);
  });
});

describe("denial-burst alerts", () => {
  it("fire once when denials reach the count within the window, not for scattered ones", async () => {
    const acct = await freshAccount();
    const put = await jsonCall("/v1/alerts/settings", {
      method: "PUT",
      headers: bearer(acct.adminKey),
      json: {
        thresholds: [50, 80, 100],
        spike: { enabled: true, factor: 3, floorCredits: 100 },
        forecast: { enabled: true },
        depleted: { enabled: true },
        deniedBurst: { enabled: true, count: 5, windowMinutes: 5 },
      },
    });
    expect(put.status).toBe(200);
    // A core seat cannot use prospecting: each call is a denial.
    const deny = () => call("/v1/prospecting/intent?limit=1", { headers: bearer(acct.memberKey) });
    // At the start of a 5-minute window: a burst that straddled two windows would fire in each
    // (one alert per window, by design), and this test would fail one run in a hundred.
    const WINDOW = 5 * 60_000;
    const t0 = Math.ceil(later(1) / WINDOW) * WINDOW + 1_000;
    for (let i = 0; i < 4; i++) {
      await setClock(acct, t0 + i * 10 * 60_000);
      expect((await deny()).status).toBe(403);
    }
    expect(await alertsOf(acct, "denied_burst")).toEqual([]);
    const t1 = t0 + 2 * HOUR;
    for (let i = 0; i < 8; i++) {
      await setClock(acct, t1 + i * 1_000);
      expect((await deny()).status).toBe(403);
    }
    const fired = await alertsOf(acct, "denied_burst");
    expect(fired).toHaveLength(1);
    expect(fired[0]?.detail).toMatchObject({ denials: 5, windowMinutes: 5 });
  });
});
