/**
 * The ledger's opt-in meter (src/ledger/meter.ts), which `npm run bench` reads: it counts the
 * statements and the rows SQLite's cursors report, each cursor read once it is consumed; it
 * counts RPC calls as Durable Object requests (its own reading excluded) and a flush's D1 rows;
 * and without LEDGER_METER=true (the pool's worker, like production) it is off.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LedgerMeter } from "../../src/ledger/meter";
import { AccountLedger } from "../../src/ledger/object";
import { terms } from "../rules/ledger-harness";
import { ledger, uniqueAccountId } from "../support/api";

describe("ledger meter", () => {
  it("is off without LEDGER_METER=true", async () => {
    const stub = ledger(uniqueAccountId("meter"));
    expect(await stub.getAccount()).toBeNull();
    expect(await stub.meter()).toBeNull();
  });

  it("counts a known statement's rows from its cursor, index entries included", async () => {
    await runInDurableObject(ledger(uniqueAccountId("meter")), (_instance, state) => {
      const meter = new LedgerMeter();
      const sql = meter.wrap(state.storage.sql);
      sql.exec("CREATE TABLE meter_t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
      sql.exec("CREATE INDEX meter_t_v ON meter_t (v)");
      const before = meter.reading();

      // Three inserts: each writes its row and its index entry.
      for (const v of ["a", "b", "c"]) sql.exec("INSERT INTO meter_t (v) VALUES (?)", v);
      // The cursor's rowsRead grows as it is iterated: the meter reads it later, not at exec.
      const cursor = sql.exec<{ v: string }>("SELECT v FROM meter_t ORDER BY id");
      expect([...cursor].map((r) => r.v)).toEqual(["a", "b", "c"]);
      // One update of two rows whose indexed column changes: it writes each row and its index
      // entry, and reads three rows (a range scan reads the row past its end to stop there).
      const update = "UPDATE meter_t SET v = v || 'x' WHERE id <= 2";
      sql.exec(update);
      const after = meter.reading();

      expect(after.statements - before.statements).toBe(5);
      const line = (text: string) => after.bySql.find((t) => t.sql === text);
      expect(line("INSERT INTO meter_t (v) VALUES (?)")).toEqual({
        sql: "INSERT INTO meter_t (v) VALUES (?)",
        count: 3,
        rowsRead: 0,
        rowsWritten: 6,
      });
      expect(line("SELECT v FROM meter_t ORDER BY id")).toMatchObject({ count: 1, rowsRead: 3 });
      expect(line(update)).toMatchObject({ count: 1, rowsRead: 3, rowsWritten: 4 });
      expect(after.rowsWritten - before.rowsWritten).toBe(6 + 4);
      expect(after.rowsRead - before.rowsRead).toBe(3 + 3);
      // What the bench reads is the cursors' own figures: the same as asking SQLite directly.
      const direct = state.storage.sql.exec("INSERT INTO meter_t (v) VALUES ('d')");
      expect(direct.rowsWritten).toBe(2);
    });
  });

  it("counts each RPC call as one request, every statement of a call, and a flush's D1 rows", async () => {
    const accountId = uniqueAccountId("meter");
    await runInDurableObject(ledger(accountId), async (_instance, state) => {
      // The same object's storage, constructed as a worker with LEDGER_METER=true would.
      const metered = new AccountLedger(state, { ...env, LEDGER_METER: "true" });
      const zero = await metered.meter();
      expect(zero).toMatchObject({ requests: 0, statements: 0, rowsRead: 0, rowsWritten: 0 });

      await metered.createAccount({
        id: accountId,
        name: "Meter",
        plan: "starter",
        billingAnchorDay: 1,
      });
      const team = await metered.createTeam("Sales");
      const member = await metered.createMember({ name: "Ada", teamId: team.id, seat: "core" });
      if (!member.ok) throw new Error("member not created");
      const keyHash = `hash-${accountId}`;
      await metered.createKey({
        hash: keyHash,
        prefix: "p",
        role: "member",
        memberId: member.value.id,
        name: null,
      });
      const setUp = await metered.meter();
      expect(setUp?.requests).toBe(4);

      const admitted = await metered.admit({
        keyHash,
        requestId: crypto.randomUUID(),
        action: terms(10),
        purpose: null,
        idempotency: null,
        dryRun: false,
      });
      if (admitted.kind !== "admitted") throw new Error(`not admitted: ${admitted.kind}`);
      await metered.settle({
        holdId: admitted.holdId,
        idempotencyKey: null,
        decision: "capture",
        credits: 10,
        units: 1,
        upstreamStatus: 200,
        failure: null,
        durationMs: 1,
      });
      const call = await metered.meter();
      if (!setUp || !call) throw new Error("meter off");
      // Admit and settle: two requests; each ran statements that wrote rows (hold, event, ...).
      expect(call.requests - setUp.requests).toBe(2);
      expect(call.statements - setUp.statements).toBeGreaterThan(2);
      expect(call.rowsWritten - setUp.rowsWritten).toBeGreaterThan(2);
      expect(call.d1RowsWritten).toBe(0);

      // The flush copies the call's usage event to D1: one more request, and D1 rows written.
      expect((await metered.flush()).flushed).toBe(1);
      const flushed = await metered.meter();
      expect(flushed?.requests).toBe(call.requests + 1);
      expect(flushed?.d1RowsWritten).toBeGreaterThan(0);
      // The per-statement lines add up to the totals.
      const sum = flushed?.bySql.reduce((n, t) => n + t.rowsWritten, 0);
      expect(sum).toBe(flushed?.rowsWritten);
    });
  });
});
