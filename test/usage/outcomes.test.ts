/** POST /v1/outcomes (issue 16): idempotent by id, record keys hashed, every bad field a 400. */
import { describe, expect, it } from "vitest";
import { jsonCall, type ProblemBody, setupAccount } from "../support/api";
import { hashOf, outcomeRows, reportOutcome } from "./outcome-support";

describe("POST /v1/outcomes", () => {
  it("records an outcome once: the same id and body again is 200 with the stored outcome", async () => {
    const acct = await setupAccount();
    const body = {
      id: "crm-deal-1",
      kind: "deal_won",
      recordKey: "acme.com",
      value: 1200.5,
      occurredAt: "2026-01-02T03:04:05Z",
    };
    const first = await reportOutcome(acct.adminKey, body);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: "crm-deal-1",
      kind: "deal_won",
      recordKeyHash: await hashOf(acct.id, "acme.com"),
      requestId: null,
      value: 1200.5,
      occurredAt: "2026-01-02T03:04:05.000Z",
      receivedAt: expect.any(String),
    });
    const rows = await outcomeRows(acct.id);

    // The same report: the time spelled otherwise, the record key spelled otherwise.
    const again = await reportOutcome(acct.memberKey, {
      ...body,
      recordKey: " WWW.Acme.COM",
      occurredAt: "2026-01-02T04:04:05.000+01:00",
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await outcomeRows(acct.id)).toEqual(rows);
    expect(rows).toHaveLength(1);
  });

  it("refuses the same id with another body (422) and keeps the first", async () => {
    const acct = await setupAccount();
    const body = { id: "m-1", kind: "meeting_booked", requestId: "req-abc" };
    expect((await reportOutcome(acct.adminKey, body)).status).toBe(201);
    const rows = await outcomeRows(acct.id);
    for (const changed of [
      { ...body, kind: "deal_won" },
      { ...body, requestId: "req-abd" },
      { ...body, value: 0 },
      { ...body, recordKey: "acme.com" },
      { ...body, occurredAt: "2026-01-01T00:00:00Z" },
    ]) {
      const res = await reportOutcome(acct.adminKey, changed);
      expect(res.status, JSON.stringify(changed)).toBe(422);
      expect((res.body as ProblemBody).code).toBe("idempotency_mismatch");
      expect((res.body as ProblemBody).field).toBe("id");
    }
    expect(await outcomeRows(acct.id)).toEqual(rows);
  });

  it("repeats a report without occurredAt as the same report, keeping its first time", async () => {
    const acct = await setupAccount();
    const body = { id: "no-time", kind: "reply", recordKey: "bo@example.com" };
    const first = await reportOutcome(acct.memberKey, body);
    expect(first.status).toBe(201);
    expect(first.body.occurredAt).toBe(first.body.receivedAt);
    await new Promise((r) => setTimeout(r, 5));
    const again = await reportOutcome(acct.memberKey, body);
    expect(again.status).toBe(200);
    expect(again.body.occurredAt).toBe(first.body.occurredAt);
  });

  it("keeps ids apart per account", async () => {
    const a = await setupAccount();
    const b = await setupAccount();
    const body = { id: "shared", kind: "reply", recordKey: "acme.com" };
    expect((await reportOutcome(a.adminKey, body)).status).toBe(201);
    expect((await reportOutcome(b.adminKey, { ...body, kind: "deal_won" })).status).toBe(201);
    const [rowA] = await outcomeRows(a.id);
    const [rowB] = await outcomeRows(b.id);
    // The same record hashes differently per account.
    expect(rowA?.record_key).not.toBe(rowB?.record_key);
  });

  it("never stores the record key itself", async () => {
    const acct = await setupAccount();
    const res = await reportOutcome(acct.adminKey, {
      id: "secret-key",
      kind: "reply",
      recordKey: "Grace.Hopper@Example.com",
    });
    expect(res.status).toBe(201);
    const text = JSON.stringify([await outcomeRows(acct.id), res.body]).toLowerCase();
    expect(text).not.toContain("grace");
    expect(text).not.toContain("example.com");
  });

  it("refuses every bad field with a 400 naming it, and stores nothing", async () => {
    const acct = await setupAccount();
    const ok = { id: "ok", kind: "reply", recordKey: "acme.com" };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...ok, id: "" }, "id"],
      [{ ...ok, id: "x".repeat(129) }, "id"],
      [{ ...ok, id: "has space" }, "id"],
      [{ ...ok, id: "é" }, "id"],
      [{ ...ok, kind: "Deal" }, "kind"],
      [{ ...ok, kind: "1deal" }, "kind"],
      [{ ...ok, kind: `a${"b".repeat(64)}` }, "kind"],
      [{ id: "ok", kind: "reply" }, "recordKey"],
      [{ ...ok, recordKey: "   " }, "recordKey"],
      [{ ...ok, recordKey: "x".repeat(321) }, "recordKey"],
      [{ ...ok, recordKey: 42 }, "recordKey"],
      [{ ...ok, requestId: "" }, "requestId"],
      [{ ...ok, value: -1 }, "value"],
      [{ ...ok, value: "12" }, "value"],
      [{ ...ok, value: 1e16 }, "value"],
      [{ ...ok, occurredAt: "2026-01-02" }, "occurredAt"],
      [{ ...ok, occurredAt: "yesterday" }, "occurredAt"],
      [{ ...ok, occurredAt: "1999-12-31T23:59:59Z" }, "occurredAt"],
      [{ ...ok, occurredAt: new Date(Date.now() + 3_600_000).toISOString() }, "occurredAt"],
      [{ ...ok, extra: 1 }, ""],
    ];
    for (const [body, field] of cases) {
      const res = await reportOutcome(acct.adminKey, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const problem = res.body as ProblemBody & { issues: { path: string }[] };
      expect(problem.code).toBe("validation_failed");
      if (field)
        expect(
          problem.issues.map((i) => i.path),
          JSON.stringify(body),
        ).toContain(field);
    }
    expect(await outcomeRows(acct.id)).toEqual([]);
  });

  it("takes admin and member keys; a finance key gets 403", async () => {
    const acct = await setupAccount();
    const res = await reportOutcome(acct.financeKey, { id: "f", kind: "reply", requestId: "r" });
    expect(res.status).toBe(403);
    const none = await jsonCall("/v1/outcomes", {
      method: "POST",
      json: { id: "f", kind: "reply", requestId: "r" },
    });
    expect(none.status).toBe(401);
    expect(
      (await reportOutcome(acct.memberKey, { id: "m", kind: "reply", requestId: "r" })).status,
    ).toBe(201);
    expect(await outcomeRows(acct.id)).toHaveLength(1);
  });
});
