/**
 * The ledger keeps what the request path reads on every call (the key, the member, the team's
 * rules, the account, when the next grant or hold lapses) between calls. Each case below warms
 * that cache with an admitted call, changes what it holds through the management API or the
 * clock, and checks that the very next call is decided on the new state.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../../src/ledger/object";
import { addMember, expectAdmitted, expectDenied, patchAccount, putRules } from "../rules/helpers";
import {
  admitTestOne,
  balance,
  grant,
  ledger,
  setupAccount,
  spend,
  type TestAccount,
} from "../support/api";

async function warm(acct: TestAccount, key = acct.memberKey) {
  await expectAdmitted(await spend(key, "/v1/test/one"));
}

async function api(path: string, key: string, method: string, json?: unknown) {
  const { jsonCall } = await import("../support/api");
  return jsonCall(path, {
    method,
    headers: { authorization: `Bearer ${key}` },
    ...(json === undefined ? {} : { json }),
  });
}

describe("the ledger's read cache never outlives a change", () => {
  it("a revoked key is refused on its next call", async () => {
    const acct = await setupAccount();
    const keys = await api("/v1/keys", acct.adminKey, "GET");
    const member = (keys.body.data as { id: string; role: string }[]).find(
      (k) => k.role === "member",
    );
    await warm(acct);
    expect((await api(`/v1/keys/${member?.id}`, acct.adminKey, "DELETE")).status).toBe(200);
    await expectDenied(await spend(acct.memberKey, "/v1/test/one"), 401, "invalid_key", "key");
  });

  it("a deactivated or deleted member is refused on its next call", async () => {
    const acct = await setupAccount();
    const other = await addMember(acct, acct.teamId, "Other");
    await warm(acct);
    await warm(acct, other.key);
    const patched = await api(`/v1/members/${acct.memberId}`, acct.adminKey, "PATCH", {
      active: false,
    });
    expect(patched.status).toBe(200);
    await expectDenied(await spend(acct.memberKey, "/v1/test/one"), 401, "invalid_key", "member");
    expect((await api(`/v1/members/${other.id}`, acct.adminKey, "DELETE")).status).toBe(204);
    await expectDenied(await spend(other.key, "/v1/test/one"), 401, "invalid_key", "key");
  });

  it("new team rules and member budgets apply to the next call", async () => {
    const acct = await setupAccount();
    await warm(acct);
    await putRules(acct, acct.teamId, { allowedActions: ["test.drain"] });
    await expectDenied(
      await spend(acct.memberKey, "/v1/test/one"),
      403,
      "team_not_allowed",
      "team_allowed",
    );
    await putRules(acct, acct.teamId, {});
    await warm(acct);
    const patched = await api(`/v1/members/${acct.memberId}`, acct.adminKey, "PATCH", {
      budget: 2,
    });
    expect(patched.status).toBe(200);
    await expectDenied(
      await spend(acct.memberKey, "/v1/test/one"),
      402,
      "budget_exhausted",
      "member_budget",
    );
  });

  it("a new account policy applies to the next call", async () => {
    const acct = await setupAccount();
    await warm(acct);
    await patchAccount(acct.id, { monthlySpendCap: 1 });
    await expectDenied(
      await spend(acct.memberKey, "/v1/test/one"),
      402,
      "budget_exhausted",
      "spend_cap",
    );
  });

  it("a grant that lapses between two calls is expired and not spent by the second", async () => {
    const acct = await setupAccount({ plan: "starter" });
    const now = Date.now();
    const stub = ledger(acct.id);
    await runInDurableObject(stub, (instance: AccountLedger) => {
      instance.clock = () => now;
    });
    await grant(acct.id, 5, {
      source: "promo",
      priority: 0,
      effectiveAt: new Date(now - 1000).toISOString(),
      expiresAt: new Date(now + 60_000).toISOString(),
    });
    await warm(acct);
    const before = await balance(acct.adminKey);
    await runInDurableObject(stub, (instance: AccountLedger) => {
      instance.clock = () => now + 61_000;
    });
    await warm(acct);
    const after = await balance(acct.adminKey);
    // The promo grant, spent first as it lapses first, had 4 left: they expired, not spent.
    expect(before.available - after.available).toBe(5);
    const grants = await stub.allGrants();
    const promo = grants.find((g) => g.source === "promo");
    expect(promo).toMatchObject({ remaining: 0, expired: 4, captured: 1 });
  });

  it("a hold that lapses is voided by the next admission before it is decided", async () => {
    const acct = await setupAccount();
    const now = Date.now();
    const stub = ledger(acct.id);
    await runInDurableObject(stub, (instance: AccountLedger) => {
      instance.clock = () => now;
    });
    await warm(acct);
    const admitted = await stub.admit(await admitTestOne(acct, "req-lapsing", 7));
    expect(admitted.kind).toBe("admitted");
    expect((await stub.outboxStats()).pending).toBe(1);
    await runInDurableObject(stub, (instance: AccountLedger) => {
      instance.clock = () => now + 3_600_000;
    });
    await warm(acct);
    const held = await runInDurableObject(
      stub,
      (_i, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM holds").one().n,
    );
    expect(held).toBe(0);
    const voided = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql
        .exec<{ payload: string }>("SELECT payload FROM outbox ORDER BY seq")
        .toArray()
        .map((r) => JSON.parse(r.payload) as { outcome: string; reason: string | null }),
    );
    expect(voided.filter((e) => e.outcome === "voided")).toEqual([
      expect.objectContaining({ reason: "hold_expired" }),
    ]);
  });
});
