/**
 * An object written by the release before plans (schema version 5, accounts on a `tier`) opens
 * under this one: the column becomes `plan` with the same value, and its balance, holds, entries
 * and outbox survive, so calls in flight settle and new ones are decided by the plan.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../../src/ledger/object";
import { spendOf } from "../../src/ledger/store/counters";
import type { EventFields } from "../../src/ledger/store/events";
import { acknowledge, appendEvent } from "../../src/ledger/store/outbox";
import { migrate } from "../../src/ledger/store/schema";
import { ledger, uniqueAccountId } from "../support/api";

const NOW = Date.now();
const month = new Date(NOW);
const PERIOD_START = Date.UTC(month.getUTCFullYear(), month.getUTCMonth(), 1);
const PERIOD_END = Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1);

/** What the previous release had written: an account, its people, grants, a hold, history. */
function writeAsRelease5(sql: SqlStorage, accountId: string) {
  const run = (query: string, ...values: SqlStorageValue[]) => sql.exec(query, ...values);
  run(
    `INSERT INTO account (id, name, tier, billing_anchor_day, period_start, period_end, created_at, updated_at)
     VALUES (?, 'Old Co', 'professional', 1, ?, ?, ?, ?)`,
    accountId,
    PERIOD_START,
    PERIOD_END,
    PERIOD_START,
    PERIOD_START,
  );
  run("INSERT INTO teams (id, name, created_at) VALUES ('team_old', 'Sales', ?)", PERIOD_START);
  run(
    "INSERT INTO members (id, name, team_id, seat, created_at) VALUES ('member_old', 'Ada', 'team_old', 'sales', ?)",
    PERIOD_START,
  );
  run(
    "INSERT INTO api_keys (id, hash, prefix, role, member_id, created_at) VALUES ('key_old', 'hash-old', 'p', 'member', 'member_old', ?)",
    PERIOD_START,
  );
  // The period's included grant: 100 captured, 20 held by a call in flight.
  run(
    `INSERT INTO grants (id, seq, source, priority, amount, remaining, held, captured, effective_at, expires_at, period_start, note, created_at)
     VALUES ('grant_inc', 1, 'included', 0, 3000, 2880, 20, 100, ?, ?, ?, 'included, professional tier', ?)`,
    PERIOD_START,
    PERIOD_END,
    PERIOD_START,
    PERIOD_START,
  );
  const entry = (kind: string, amount: number, hold: string | null) =>
    run(
      "INSERT INTO entries (at, kind, grant_id, hold_id, amount) VALUES (?, ?, 'grant_inc', ?, ?)",
      PERIOD_START,
      kind,
      hold,
      amount,
    );
  entry("issue", 3000, null);
  entry("hold", 100, "hold_done");
  entry("capture", 100, "hold_done");
  entry("hold", 20, "hold_live");
  run(
    `INSERT INTO holds (id, request_id, action, category, settlement, units, amount, allocations, key_id,
       member_id, team_id, period_start, created_at, expires_at)
     VALUES ('hold_live', 'req-live', 'enrichment.company', 'enrichment', 'on_success', 2, 20,
       '[{"grantId":"grant_inc","amount":20}]', 'key_old', 'member_old', 'team_old', ?, ?, ?)`,
    PERIOD_START,
    NOW,
    NOW + 3_600_000,
  );
  for (const [scope, id] of [
    ["account", "*"],
    ["team", "team_old"],
    ["member", "member_old"],
    ["action", "enrichment.company"],
  ]) {
    run(
      "INSERT INTO counters (period_start, scope, scope_id, captured, held) VALUES (?, ?, ?, 100, 20)",
      PERIOD_START,
      scope ?? "",
      id ?? "",
    );
  }
  run(
    "INSERT INTO outbox (id, occurred_at, payload) VALUES ('evt_old', ?, ?)",
    PERIOD_START,
    JSON.stringify({ id: "evt_old", accountId, outcome: "captured", credits: 100 }),
  );
}

describe("an object of the release before plans", () => {
  it("opens on the plan of its tier, with its balance, hold, entries and outbox intact", async () => {
    const accountId = uniqueAccountId("release5");
    await runInDurableObject(ledger(accountId), (_: AccountLedger, state) => {
      const sql = state.storage.sql;
      const tables = sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
        )
        .toArray();
      for (const { name } of tables) sql.exec(`DROP TABLE "${name}"`);
      migrate(sql, 5);
      writeAsRelease5(sql, accountId);
    });
    // Restarted: the constructor migrates what it finds.
    await runInDurableObject(ledger(accountId), (_, state) => state.abort("evict")).catch(() => {});
    const stub = ledger(accountId);

    expect((await stub.getAccount())?.plan).toBe("professional");
    const balance = await stub.balance();
    expect(balance).toMatchObject({ available: 2880, held: 20, capturedThisPeriod: 100 });
    expect(balance?.holds.count).toBe(1);
    expect((await stub.outboxStats()).pending).toBe(1);

    // The call in flight settles as it would have.
    const settled = await stub.settle({
      holdId: "hold_live",
      idempotencyKey: null,
      decision: "capture",
      credits: 20,
      units: 2,
      upstreamStatus: 200,
      failure: null,
      durationMs: 5,
    });
    expect(settled).toMatchObject({ settled: true, charged: 20 });
    // A new call is decided by the plan: professional includes prospecting, not insights.
    const admit = (id: string, category: string, plans: string[]) =>
      stub.admit({
        keyHash: "hash-old",
        requestId: crypto.randomUUID(),
        action: {
          id,
          category,
          plans,
          seat: null,
          settlement: "on_success",
          units: 1,
          holdCredits: 10,
          price: { credits: 10 },
        },
        purpose: null,
        idempotency: null,
        dryRun: false,
      });
    expect((await admit("prospecting.intent", "prospecting", ["professional"])).kind).toBe(
      "admitted",
    );
    const refused = await admit("insights.smart_property", "insights", ["enterprise"]);
    expect(refused.kind === "denied" && refused.problem.code).toBe("plan_excludes_action");
    const [grant] = await stub.allGrants();
    expect(grant).toMatchObject({ id: "grant_inc", amount: 3000, captured: 120, held: 10 });
  });
});

describe("the outbox rebuilt without its id index (ledger V12) and AUTOINCREMENT (V13)", () => {
  /** Builds an object at V11 with `written` events, the first `flushed` of them acknowledged. */
  function outboxAtV11(sql: SqlStorage, written: number, flushed: number) {
    const tables = sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
      )
      .toArray();
    for (const { name } of tables) sql.exec(`DROP TABLE "${name}"`);
    migrate(sql, 11);
    for (let i = 1; i <= written; i++) {
      sql.exec(
        "INSERT INTO outbox (id, occurred_at, payload) VALUES (?, ?, '{}')",
        `evt_${i}`,
        NOW + i,
      );
    }
    sql.exec("DELETE FROM outbox WHERE seq <= ?", flushed);
  }

  /** Writes one event the way the ledger does and returns its seq. */
  const nextSeq = (sql: SqlStorage) => {
    appendEvent(sql, "acct", {} as EventFields, NOW, NOW);
    return sql.exec<{ seq: number }>("SELECT MAX(seq) AS seq FROM outbox").one().seq;
  };

  it("continues the event sequence after an outbox flushed empty: no seq is ever reused", async () => {
    await runInDurableObject(ledger(uniqueAccountId("v12-empty")), (_: AccountLedger, state) => {
      const sql = state.storage.sql;
      outboxAtV11(sql, 3, 3);
      migrate(sql);
      expect(nextSeq(sql)).toBe(4);
      const indexes = sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'")
        .toArray();
      expect(indexes).toEqual([]);
    });
  });

  it("keeps the events still waiting, with their seqs, and goes on after the last", async () => {
    await runInDurableObject(ledger(uniqueAccountId("v12-waiting")), (_: AccountLedger, state) => {
      const sql = state.storage.sql;
      outboxAtV11(sql, 5, 2);
      migrate(sql);
      const waiting = sql
        .exec<{ seq: number; id: string }>("SELECT seq, id FROM outbox ORDER BY seq")
        .toArray()
        .map((r) => [r.seq, r.id]);
      expect(waiting).toEqual([
        [3, "evt_3"],
        [4, "evt_4"],
        [5, "evt_5"],
      ]);
      expect(nextSeq(sql)).toBe(6);
    });
  });
});

describe("the outbox's seq once AUTOINCREMENT is gone (ledger V13)", () => {
  it("goes on after the last seq D1 confirmed, however often the outbox empties", async () => {
    await runInDurableObject(ledger(uniqueAccountId("v13-seq")), (_: AccountLedger, state) => {
      const sql = state.storage.sql;
      const seqs: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 2; i++) appendEvent(sql, "acct", {} as EventFields, NOW, NOW);
        const waiting = sql
          .exec<{ seq: number }>("SELECT seq FROM outbox ORDER BY seq")
          .toArray()
          .map((r) => r.seq);
        seqs.push(...waiting);
        acknowledge(sql, waiting, 1, NOW);
        expect(sql.exec("SELECT 1 FROM outbox").toArray()).toEqual([]);
      }
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
      expect(sql.exec("SELECT name FROM sqlite_sequence WHERE name = 'outbox'").toArray()).toEqual(
        [],
      );
    });
  });
});

describe("the account's captured credits as the sum of its action counters (ledger V13)", () => {
  it("keeps each period's total: what the action rows hold leaves the account row", async () => {
    await runInDurableObject(ledger(uniqueAccountId("v13-counters")), (_: AccountLedger, state) => {
      const sql = state.storage.sql;
      for (const { name } of sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
        )
        .toArray()) {
        sql.exec(`DROP TABLE "${name}"`);
      }
      migrate(sql, 12);
      const counter = (period: number, scope: string, id: string, captured: number) =>
        sql.exec(
          "INSERT INTO counters (period_start, scope, scope_id, captured) VALUES (?, ?, ?, ?)",
          period,
          scope,
          id,
          captured,
        );
      // A period from before action counters: the account row alone.
      counter(1, "account", "*", 500);
      // A period of this release's making: the account equals its actions.
      counter(2, "account", "*", 70);
      counter(2, "action", "enrich", 50);
      counter(2, "action", "summarize", 20);
      counter(2, "team", "team_a", 70);
      // Action counters that began mid-period: the account row keeps the difference.
      counter(3, "account", "*", 90);
      counter(3, "action", "enrich", 30);
      migrate(sql);
      const account = (period: number) => spendOf(sql, period, "account", "*").captured;
      expect([account(1), account(2), account(3)]).toEqual([500, 70, 90]);
      const rows = sql
        .exec<{ period_start: number; captured: number }>(
          "SELECT period_start, captured FROM counters WHERE scope = 'account' ORDER BY period_start",
        )
        .toArray();
      expect(rows).toEqual([
        { period_start: 1, captured: 500 },
        { period_start: 3, captured: 60 },
      ]);
      expect(spendOf(sql, 2, "action", "enrich").captured).toBe(50);
      expect(spendOf(sql, 2, "team", "team_a").captured).toBe(70);
    });
  });
});
