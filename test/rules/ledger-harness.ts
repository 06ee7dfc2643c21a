/**
 * Runs a test inside one fresh AccountLedger with a clock the test moves: an account with a team,
 * a member and its key, and short-hands for admit and settle with plain ActionTerms.
 */

import { runInDurableObject } from "cloudflare:test";
import type {
  ActionTerms,
  AdmitResult,
  GrantView,
  PlanId,
  Settlement,
  SettleResult,
} from "../../src/ledger/contract";
import type { TeamRules } from "../../src/ledger/core/rules";
import { DEFAULT_TEAM_RULES } from "../../src/ledger/core/rules";
import type { AccountLedger } from "../../src/ledger/object";
import { ledger, uniqueAccountId } from "../support/api";
import { SPEND_BY_SCOPE } from "../support/spend";

export interface Harness {
  accountId: string;
  instance: AccountLedger;
  sql: SqlStorage;
  teamId: string;
  memberId: string;
  /** The member key's hash. */
  keyHash: string;
  now(): number;
  setNow(ms: number): void;
  admit(
    credits: number,
    options?: Partial<ActionTerms> & { purpose?: string | null },
  ): Promise<AdmitResult>;
  settle(holdId: string, decision: "capture" | "void", credits?: number): Promise<SettleResult>;
  setRules(teamId: string, rules: Partial<TeamRules>): Promise<void>;
  grants(): Promise<GrantView[]>;
  /** Counters of one period and scope id, {0,0} if none. */
  counter(periodStart: number, scope: string, id: string): { captured: number; held: number };
  period(): { start: number; end: number };
}

export function terms(
  credits: number,
  options: Partial<ActionTerms> = {},
  settlement: Settlement = "on_success",
): ActionTerms {
  return {
    id: "test.one",
    category: "enrichment",
    // Every plan of the demo configuration.
    plans: ["starter", "professional", "enterprise"],
    seat: null,
    settlement,
    units: 1,
    holdCredits: credits,
    price: { credits },
    ...options,
  };
}

export async function withLedger(
  options: { plan?: PlanId; anchor: number; start: string },
  body: (h: Harness) => Promise<void>,
): Promise<void> {
  const accountId = uniqueAccountId("rules");
  await runInDurableObject(ledger(accountId), async (instance: AccountLedger, state) => {
    let now = Date.parse(options.start);
    instance.clock = () => now;
    const sql = state.storage.sql;
    await instance.createAccount({
      id: accountId,
      name: "Rules",
      plan: options.plan ?? "starter",
      billingAnchorDay: options.anchor,
    });
    const team = await instance.createTeam("Sales");
    const member = await instance.createMember({ name: "Ada", teamId: team.id, seat: "core" });
    if (!member.ok) throw new Error("member not created");
    const keyHash = `hash-${accountId}`;
    const key = await instance.createKey({
      hash: keyHash,
      prefix: "p",
      role: "member",
      memberId: member.value.id,
      name: null,
    });
    if (!key.ok) throw new Error("key not created");
    const h: Harness = {
      accountId,
      instance,
      sql,
      teamId: team.id,
      memberId: member.value.id,
      keyHash,
      now: () => now,
      setNow: (ms) => {
        now = ms;
      },
      admit: (credits, opts = {}) => {
        const { purpose, ...rest } = opts;
        return instance.admit({
          keyHash,
          requestId: crypto.randomUUID(),
          action: terms(credits, rest),
          purpose: purpose ?? null,
          idempotency: null,
          dryRun: false,
        });
      },
      settle: (holdId, decision, credits = 0) =>
        instance.settle({
          holdId,
          idempotencyKey: null,
          decision,
          credits,
          units: 1,
          upstreamStatus: decision === "capture" ? 200 : 500,
          failure: decision === "capture" ? null : "upstream_status",
          durationMs: 1,
        }),
      setRules: async (teamId, rules) => {
        await instance.setTeamRules(teamId, { ...DEFAULT_TEAM_RULES, ...rules });
      },
      grants: () => instance.allGrants(),
      counter: (periodStart, scope, id) => {
        const row = sql
          .exec<{ captured: number; held: number }>(
            `SELECT captured, held FROM (${SPEND_BY_SCOPE}) WHERE period_start = ? AND scope = ? AND scope_id = ?`,
            periodStart,
            scope,
            id,
          )
          .toArray()[0];
        return row ? { captured: row.captured, held: row.held } : { captured: 0, held: 0 };
      },
      period: () => {
        const row = sql
          .exec<{ period_start: number; period_end: number }>(
            "SELECT period_start, period_end FROM account",
          )
          .one();
        return { start: row.period_start, end: row.period_end };
      },
    };
    await body(h);
  });
}

/** Conservation (I2) and no negative bucket (I1) on every grant. */
export function conservationHolds(grants: GrantView[]): boolean {
  return grants.every(
    (g) =>
      g.remaining >= 0 &&
      g.held >= 0 &&
      g.captured >= 0 &&
      g.expired >= 0 &&
      g.amount === g.remaining + g.held + g.captured + g.expired,
  );
}
