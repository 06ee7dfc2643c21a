import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_ALERT_SETTINGS,
  depletedAlert,
  isSpike,
  reachedThresholds,
} from "../../src/ledger/core/alerts";
import {
  bearer,
  call,
  jsonCall,
  ledger,
  type ProblemBody,
  setupAccount,
  spend,
  type TestAccount,
} from "../support/api";

interface AlertRow {
  id: string;
  kind: string;
  scope: string;
  scopeId: string;
  threshold: number | null;
  requestId: string | null;
  firedAt: string;
  detail: Record<string, unknown>;
}

/**
 * The account's alerts. Spending a starter account's credits in seconds also sets a pace that
 * runs out before the period ends: the forecast alert (test/alerts/kinds.test.ts) is left out
 * unless asked for.
 */
/** Restarts the account's ledger object: storage stays, memory (the read cache) goes. */
async function restart(acct: TestAccount): Promise<void> {
  await runInDurableObject(ledger(acct.id), (_, state) => state.abort("evict")).catch(() => {});
}

async function alerts(acct: TestAccount, query = "", withForecast = false): Promise<AlertRow[]> {
  const res = await jsonCall<{ data: AlertRow[]; nextCursor: string | null }>(
    `/v1/alerts?limit=200${query}`,
    { headers: bearer(acct.financeKey) },
  );
  expect(res.status).toBe(200);
  return res.body.data.filter((a) => withForecast || a.kind !== "forecast");
}

/** Spends `credits` at once through the test catalog's on_request action. */
const drain = (acct: TestAccount, credits: number) =>
  spend(acct.memberKey, `/v1/test/drain?credits=${credits}`);

describe("threshold rules (pure)", () => {
  it("reaches a line when usage after a debit is at or above it", () => {
    const step = (after: number, limit = 200) => ({
      scope: "account" as const,
      scopeId: "a",
      limit,
      before: 0,
      after,
    });
    expect(reachedThresholds(step(99), [50, 80, 100])).toEqual([]);
    expect(reachedThresholds(step(100), [50, 80, 100])).toEqual([50]);
    expect(reachedThresholds(step(160), [50, 80, 100])).toEqual([50, 80]);
    expect(reachedThresholds(step(500), [50, 80, 100])).toEqual([50, 80, 100]);
    expect(reachedThresholds(step(3, 0), [50])).toEqual([]);
    // 1/3 of 3: integer arithmetic, no rounding edge.
    expect(reachedThresholds(step(1, 3), [33, 34])).toEqual([33]);
  });

  it("over any sequence of debits and voids, fires each line once, exactly those reached", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(fc.integer({ min: -2_000, max: 3_000 }), { maxLength: 40 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { maxLength: 5 }),
        (limit, changes, thresholds) => {
          // The alerts table: a line fires once; a debit (a positive change) checks the lines.
          let used = 0;
          let peak = 0;
          const fired: number[] = [];
          for (const change of changes) {
            used = Math.max(0, used + change);
            if (change <= 0) continue;
            peak = Math.max(peak, used);
            const step = { scope: "team" as const, scopeId: "t", limit, before: 0, after: used };
            for (const t of reachedThresholds(step, thresholds))
              if (!fired.includes(t)) fired.push(t);
          }
          const reached = thresholds.filter((t) => peak * 100 >= t * limit).sort((a, b) => a - b);
          expect([...fired].sort((a, b) => a - b)).toEqual(reached);
        },
      ),
    );
  });

  it("depletion fires when a debit leaves nothing to spend; spikes need the factor and the floor", () => {
    const s = DEFAULT_ALERT_SETTINGS;
    expect(depletedAlert("a", 0, s)?.kind).toBe("depleted");
    expect(depletedAlert("a", 1, s)).toBeNull();
    expect(depletedAlert("a", 0, { ...s, depleted: { enabled: false } })).toBeNull();
    // 10 an hour for a day, then 31: over 3x the average, but under the floor of 100.
    expect(isSpike(31, 240, s)).toBe(false);
    // 1,000 an hour for a day, then 800: no spike.
    expect(isSpike(800, 24_000, s)).toBe(false);
    // 100 an hour for a day: 301 is over 3x, 300 is not.
    expect(isSpike(301, 2_400, s)).toBe(true);
    expect(isSpike(300, 2_400, s)).toBe(false);
  });
});

describe("threshold alerts from the debit path (SPEC §8)", () => {
  it("fires 50, 80 and 100 % and depletion exactly once each under concurrent load", async () => {
    // Starter: the 500-credit included grant is all there is.
    const acct = await setupAccount({ plan: "starter" });
    const results = await Promise.all(Array.from({ length: 25 }, () => drain(acct, 20)));
    expect(results.map((r) => r.status)).toEqual(Array(25).fill(200));
    // And a few more that are refused: nothing left, nothing fires again.
    const refused = await Promise.all(Array.from({ length: 5 }, () => drain(acct, 20)));
    expect(refused.map((r) => r.status)).toEqual(Array(5).fill(402));

    const fired = await alerts(acct);
    const lines = fired.map((a) => `${a.kind}:${a.scope}:${a.threshold}`).sort();
    expect(lines).toEqual([
      "depleted:account:null",
      "threshold:account:100",
      "threshold:account:50",
      "threshold:account:80",
    ]);
    expect(fired.every((a) => a.scopeId === acct.id && a.requestId !== null)).toBe(true);
    const at80 = fired.find((a) => a.threshold === 80);
    expect(at80?.detail).toMatchObject({ limit: 500, percent: 80 });
    expect(Number(at80?.detail.used)).toBeGreaterThanOrEqual(400);
    expect(Number(at80?.detail.used)).toBeLessThan(420);
  });

  it("fires a line once per period even when a voided hold lets usage reach it again", async () => {
    const acct = await setupAccount({ plan: "starter" });
    expect((await drain(acct, 249)).status).toBe(200);
    // The hold takes usage to 250 (50 %), then the upstream fails and the hold is voided.
    expect((await spend(acct.memberKey, "/v1/test/one", { "x-chaos-status": "500" })).status).toBe(
      500,
    );
    expect((await alerts(acct)).map((a) => a.threshold)).toEqual([50]);
    // Back at 249; the next call reaches 50 % again: no second alert, from the cache...
    expect((await spend(acct.memberKey, "/v1/test/one")).status).toBe(200);
    expect((await alerts(acct)).map((a) => a.threshold)).toEqual([50]);
    // ...nor from the table alone, as in a restarted object (its read cache starts empty).
    await restart(acct);
    expect((await spend(acct.memberKey, "/v1/test/one")).status).toBe(200);
    expect((await alerts(acct)).map((a) => a.threshold)).toEqual([50]);
  });

  it("fires for a team budget and a member budget, each at its own lines", async () => {
    const acct = await setupAccount();
    const rules = await jsonCall(`/v1/teams/${acct.teamId}/rules`, {
      method: "PUT",
      headers: bearer(acct.adminKey),
      json: {
        allowedActions: null,
        allowedCategories: null,
        purpose: { required: false, allowed: null },
        memberRateLimitPerMinute: null,
        teamBudget: 100,
        memberBudget: 200,
      },
    });
    expect(rules.status).toBe(200);
    for (let i = 0; i < 6; i++) expect((await drain(acct, 10)).status).toBe(200);
    const fired = (await alerts(acct)).filter((a) => a.scope !== "account");
    expect(fired.map((a) => `${a.scope}:${a.threshold}`).sort()).toEqual(["team:50"]);
    for (let i = 0; i < 4; i++) expect((await drain(acct, 10)).status).toBe(200);
    const later = (await alerts(acct)).filter((a) => a.scope !== "account");
    expect(later.map((a) => `${a.scope}:${a.threshold}`).sort()).toEqual([
      "member:50",
      "team:100",
      "team:50",
      "team:80",
    ]);
    expect(later.find((a) => a.scope === "team")?.scopeId).toBe(acct.teamId);
    expect(later.find((a) => a.scope === "member")?.scopeId).toBe(acct.memberId);
  });

  it("follows the settings: other lines, none, or no depletion alert", async () => {
    const acct = await setupAccount({ plan: "starter" });
    const defaults = await jsonCall<typeof DEFAULT_ALERT_SETTINGS>("/v1/alerts/settings", {
      headers: bearer(acct.financeKey),
    });
    expect(defaults.body).toEqual(DEFAULT_ALERT_SETTINGS);
    const put = await jsonCall("/v1/alerts/settings", {
      method: "PUT",
      headers: bearer(acct.adminKey),
      json: { ...DEFAULT_ALERT_SETTINGS, thresholds: [90, 10], depleted: { enabled: false } },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ thresholds: [10, 90] });
    for (let i = 0; i < 5; i++) expect((await drain(acct, 100)).status).toBe(200);
    const lines = (await alerts(acct)).map((a) => `${a.kind}:${a.threshold}`).sort();
    expect(lines).toEqual(["threshold:10", "threshold:90"]);
  });

  it("pages alerts newest first with a cursor, and filters by kind", async () => {
    const acct = await setupAccount({ plan: "starter" });
    expect((await drain(acct, 500)).status).toBe(200);
    const all = await alerts(acct, "", true);
    // All at once leaves nothing to forecast: depletion and the three lines.
    expect(all.map((a) => a.kind).sort()).toEqual([
      "depleted",
      "threshold",
      "threshold",
      "threshold",
    ]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/v1/alerts?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page: { body: { data: AlertRow[]; nextCursor: string | null } } = await jsonCall(q, {
        headers: bearer(acct.adminKey),
      });
      seen.push(...page.body.data.map((a) => a.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((a) => a.id));
    expect((await alerts(acct, "&kind=depleted")).map((a) => a.kind)).toEqual(["depleted"]);
  });

  it("filters by scope, scope id and the time fired, and refuses bad filters", async () => {
    const acct = await setupAccount({ plan: "starter" });
    expect((await drain(acct, 500)).status).toBe(200);
    const all = await alerts(acct, "", true);
    const firedAt = all[0]?.firedAt ?? "";
    const ids = async (query: string) => (await alerts(acct, query, true)).map((a) => a.id).sort();
    const allIds = all.map((a) => a.id).sort();
    expect(await ids("&scope=account")).toEqual(allIds);
    expect(await ids("&scope=team")).toEqual([]);
    expect(await ids(`&scopeId=${acct.id}`)).toEqual(allIds);
    expect(await ids("&scopeId=team_other")).toEqual([]);
    expect(await ids(`&from=${encodeURIComponent(firedAt)}`)).toEqual(allIds);
    expect(await ids(`&to=${encodeURIComponent(firedAt)}`)).toEqual([]);
    const after = new Date(Date.parse(firedAt) + 1).toISOString();
    expect(await ids(`&from=${after}`)).toEqual([]);
    expect(await ids(`&to=${after}&kind=threshold&scope=account`)).toHaveLength(3);
    for (const bad of [
      "scope=action",
      "scopeId=a/b",
      "from=tomorrow",
      `from=${after}&to=${encodeURIComponent(firedAt)}`,
    ]) {
      const res = await jsonCall<ProblemBody>(`/v1/alerts?${bad}`, {
        headers: bearer(acct.adminKey),
      });
      expect(res.status, bad).toBe(400);
      expect(res.headers.get("content-type"), bad).toContain("application/problem+json");
    }
  });

  it("copies alerts to D1 with the outbox flush, each once, also after a failed copy", async () => {
    const acct = await setupAccount({ plan: "starter" });
    expect((await drain(acct, 500)).status).toBe(200);
    const fired = await alerts(acct, "", true);
    const inD1 = async () =>
      (
        await env.DB.prepare(
          "SELECT id, kind, threshold, detail FROM alerts WHERE account_id = ? ORDER BY id",
        )
          .bind(acct.id)
          .all<{ id: string; kind: string; threshold: number; detail: string }>()
      ).results;
    expect(await inD1()).toEqual([]);
    await env.DB.exec(
      "CREATE TRIGGER IF NOT EXISTS fail_alerts BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'injected'); END;",
    );
    try {
      expect((await ledger(acct.id).flush()).error).toMatch(/alerts: .*injected/);
    } finally {
      await env.DB.exec("DROP TRIGGER IF EXISTS fail_alerts;");
    }
    expect(await inD1()).toEqual([]);
    expect((await ledger(acct.id).flush()).error).toBeNull();
    await ledger(acct.id).flush();
    const copied = await inD1();
    expect(copied.map((a) => a.id)).toEqual(fired.map((a) => a.id).sort());
    const at80 = copied.find((a) => a.threshold === 80);
    expect(JSON.parse(at80?.detail ?? "{}")).toMatchObject({ limit: 500, percent: 80 });
  });

  it("refuses bad settings and the wrong roles with problem+json, changing nothing", async () => {
    const acct = await setupAccount();
    const bad = [
      { ...DEFAULT_ALERT_SETTINGS, thresholds: [0] },
      { ...DEFAULT_ALERT_SETTINGS, thresholds: [101] },
      { ...DEFAULT_ALERT_SETTINGS, thresholds: [50, 50] },
      { ...DEFAULT_ALERT_SETTINGS, thresholds: [50.5] },
      { ...DEFAULT_ALERT_SETTINGS, spike: { enabled: true, factor: 1, floorCredits: 0 } },
      { ...DEFAULT_ALERT_SETTINGS, deniedBurst: { enabled: true, count: 1, windowMinutes: 5 } },
      { ...DEFAULT_ALERT_SETTINGS, extra: true },
      { thresholds: [50] },
    ];
    for (const json of bad) {
      const res = await jsonCall<ProblemBody>("/v1/alerts/settings", {
        method: "PUT",
        headers: bearer(acct.adminKey),
        json,
      });
      expect(res.status, JSON.stringify(json)).toBe(400);
    }
    for (const key of [acct.financeKey, acct.memberKey]) {
      const res = await jsonCall<ProblemBody>("/v1/alerts/settings", {
        method: "PUT",
        headers: bearer(key),
        json: DEFAULT_ALERT_SETTINGS,
      });
      expect([res.status, res.body.code]).toEqual([403, "forbidden"]);
    }
    const memberRead = await call("/v1/alerts", { headers: bearer(acct.memberKey) });
    expect(memberRead.status).toBe(403);
    const badCursor = await call("/v1/alerts?cursor=zzz", { headers: bearer(acct.adminKey) });
    expect(badCursor.status).toBe(400);
    const now = await jsonCall("/v1/alerts/settings", { headers: bearer(acct.adminKey) });
    expect(now.body).toEqual(DEFAULT_ALERT_SETTINGS);
  });
});
