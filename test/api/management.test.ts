import { describe, expect, it } from "vitest";
import { bearer, jsonCall, OPERATOR, setupAccount, uniqueAccountId } from "../support/api";

describe("operator API", () => {
  it("creates, lists, reads and patches accounts with the SPEC's shapes", async () => {
    const id = uniqueAccountId("ops");
    const created = await jsonCall("/admin/v1/accounts", {
      method: "POST",
      headers: OPERATOR,
      json: { id, name: "Acme", plan: "enterprise", billingAnchorDay: 31 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id,
      name: "Acme",
      plan: "enterprise",
      billingAnchorDay: 31,
      overagePolicy: "block",
    });

    const again = await jsonCall("/admin/v1/accounts", {
      method: "POST",
      headers: OPERATOR,
      json: { id, name: "Acme", plan: "enterprise" },
    });
    expect(again.status).toBe(409);

    const read = await jsonCall(`/admin/v1/accounts/${id}`, { headers: OPERATOR });
    expect(read.body).toMatchObject({ id, outbox: { pending: 0, failures: 0 } });

    const patched = await jsonCall(`/admin/v1/accounts/${id}`, {
      method: "PATCH",
      headers: OPERATOR,
      json: { name: "Acme Inc" },
    });
    expect(patched.body).toMatchObject({ name: "Acme Inc", plan: "enterprise" });

    let cursor: string | null = null;
    const seen: string[] = [];
    do {
      const page: { body: { data: { id: string }[]; nextCursor: string | null } } = await jsonCall(
        `/admin/v1/accounts?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        { headers: OPERATOR },
      );
      seen.push(...page.body.data.map((a) => a.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toContain(id);
    expect(new Set(seen).size).toBe(seen.length);

    expect((await jsonCall("/admin/v1/accounts/nope-nope", { headers: OPERATOR })).status).toBe(
      404,
    );
  });

  it("issues grants with the SPEC's shape and shows them on the balance", async () => {
    const acct = await setupAccount();
    const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const res = await jsonCall(`/admin/v1/accounts/${acct.id}/grants`, {
      method: "POST",
      headers: OPERATOR,
      json: { amount: 250, source: "promo", priority: 1, expiresAt, note: "launch promo" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      amount: 250,
      remaining: 250,
      source: "promo",
      priority: 1,
      expiresAt,
    });
    expect(typeof res.body.effectiveAt).toBe("string");
    const balance = await jsonCall<{ available: number; grants: { source: string }[] }>(
      "/v1/balance",
      {
        headers: bearer(acct.financeKey),
      },
    );
    expect(balance.body.available).toBe(3250);
    expect(balance.body.grants.map((g) => g.source)).toEqual(["included", "promo"]);
  });
});

describe("account API", () => {
  it("manages teams, members and keys, and a revoked key stops working at once", async () => {
    const acct = await setupAccount();
    const admin = bearer(acct.adminKey);
    const team = await jsonCall<{ id: string; name: string }>("/v1/teams", {
      method: "POST",
      headers: admin,
      json: { name: "Ops" },
    });
    expect(team.status).toBe(201);
    expect(team.body).toMatchObject({ name: "Ops" });
    const member = await jsonCall("/v1/members", {
      method: "POST",
      headers: admin,
      json: { name: "Lin", teamId: team.body.id, seat: "service" },
    });
    expect(member.body).toMatchObject({
      name: "Lin",
      teamId: team.body.id,
      seat: "service",
      active: true,
    });
    const key = await jsonCall<{ id: string; key: string; role: string; memberId: string }>(
      "/v1/keys",
      {
        method: "POST",
        headers: admin,
        json: { role: "member", memberId: member.body.id, name: "Lin's laptop" },
      },
    );
    expect(key.status).toBe(201);
    expect(key.body.key).toMatch(new RegExp(`^cg_${acct.id}_[a-z0-9]{32}$`));

    const keys = await jsonCall<{ data: { id: string; prefix: string }[] }>("/v1/keys", {
      headers: admin,
    });
    const listed = keys.body.data.find((k) => k.id === key.body.id);
    expect(listed?.prefix.endsWith("…")).toBe(true);
    expect(JSON.stringify(keys.body)).not.toContain(key.body.key);

    expect((await jsonCall("/v1/balance", { headers: bearer(key.body.key) })).status).toBe(200);
    const revoked = await jsonCall(`/v1/keys/${key.body.id}`, { method: "DELETE", headers: admin });
    expect(revoked.body).toMatchObject({ id: key.body.id });
    expect(typeof revoked.body.revokedAt).toBe("string");
    expect((await jsonCall("/v1/balance", { headers: bearer(key.body.key) })).status).toBe(401);

    const teams = await jsonCall<{ data: { name: string }[] }>("/v1/teams", {
      headers: bearer(acct.financeKey),
    });
    expect(teams.body.data.map((t) => t.name).sort()).toEqual(["Ops", "Sales"]);
  });

  it("reports the balance with the SPEC's shape", async () => {
    const acct = await setupAccount({ billingAnchorDay: 1 });
    const res = await jsonCall("/v1/balance", { headers: bearer(acct.memberKey) });
    expect(res.body).toMatchObject({ available: 3000, held: 0, capturedThisPeriod: 0 });
    const period = res.body.period as { start: string; end: string };
    expect(period.start).toMatch(/^\d{4}-\d{2}-01T00:00:00.000Z$/);
    expect(Date.parse(period.end)).toBeGreaterThan(Date.now());
  });
});
