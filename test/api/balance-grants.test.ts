/**
 * GET /v1/balance lists two sets of grants: `grants`, those with credits left or held now, and
 * `periodGrants`, every grant that could be spent at some time in this period, spent and
 * expired ones included (what the dashboard derives past balances from).
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../../src/ledger/object";
import { bearer, grant, jsonCall, ledger, setupAccount, spend } from "../support/api";

interface GrantBody {
  id: string;
  source: string;
  amount: number;
  remaining: number;
  held: number;
  captured: number;
  expired: number;
}
interface BalanceBody {
  available: number;
  period: { start: string; end: string };
  grants: GrantBody[];
  periodGrants: GrantBody[];
}

const HOUR = 3_600_000;

describe("the balance's grants", () => {
  it("keep spent, expired and later grants apart: only the period's are in periodGrants", async () => {
    const acct = await setupAccount({ plan: "starter", billingAnchorDay: new Date().getUTCDate() });
    const balance = async () =>
      (await jsonCall<BalanceBody>("/v1/balance", { headers: bearer(acct.financeKey) })).body;
    const first = await balance();
    const promo = (await grant(acct.id, 40, {
      source: "promo",
      expiresAt: new Date(Date.now() + HOUR).toISOString(),
    })) as { id: string };
    const later = (await grant(acct.id, 70, {
      effectiveAt: new Date(Date.parse(first.period.end) + 86_400_000).toISOString(),
    })) as { id: string };
    // Spend every credit of the included grant (promo credits may go first; all 540 go).
    expect((await spend(acct.memberKey, "/v1/test/drain?credits=540")).status).toBe(200);
    await runInDurableObject(ledger(acct.id), (instance: AccountLedger) => {
      const now = Date.now() + 2 * HOUR;
      instance.clock = () => now;
    });
    const b = await balance();
    expect(b.grants.map((g) => g.id)).not.toContain(promo.id);
    const ids = b.periodGrants.map((g) => g.id);
    expect(ids).toContain(promo.id);
    expect(ids).not.toContain(later.id);
    const included = b.periodGrants.find((g) => g.source === "included");
    expect(included?.amount).toBe(500);
    expect(b.grants.some((g) => g.source === "included")).toBe(false);
    // The books of the period's grants: what was granted went to captures, expiries or is left.
    const sum = (k: keyof GrantBody) => b.periodGrants.reduce((n, g) => n + Number(g[k]), 0);
    expect(sum("captured")).toBe(540);
    expect(sum("amount")).toBe(sum("captured") + sum("expired") + sum("remaining") + sum("held"));
    expect(sum("remaining")).toBe(b.available);
  });
});
