/**
 * AccountLedger: one Durable Object per account, the only place its balance changes. Every RPC
 * method that decides runs its work in one `transactionSync`, with no `await` inside, so a
 * decision is atomic and strongly consistent however many requests race.
 */

import type { ProblemInit } from "../lib/problem";
import { iso } from "../lib/time";
import { LedgerObject } from "./base";
import { type AlertSettings, alertSettingsOf } from "./core/alerts";
import { forecast } from "./core/forecast";
import { type AccountPolicy, DEFAULT_TEAM_RULES, type Spend, type TeamRules } from "./core/rules";
import { type AlertQuery, type AlertView, listAlerts, writeAlertSettings } from "./store/alerts";
import * as config from "./store/config";
import { accountSpend, spendOf } from "./store/counters";
import { capturedLast7Days } from "./store/forecast";
import { availableCredits, issueGrant, listGrants, overageOf, periodGrants } from "./store/grants";
import { heldTotal } from "./store/holds";
import { type FlushStats, flushStats } from "./store/outbox";
import { syncOverage } from "./store/periods";
import type {
  AccountConfig,
  AdmitRequest,
  AdmitResult,
  BalanceView,
  GrantSource,
  GrantView,
  KeyView,
  MemberView,
  Outcome,
  Principal,
  Role,
  Seat,
  SettleRequest,
  SettleResult,
  TeamView,
  Tier,
} from "./types";

export interface NewAccount {
  id: string;
  name: string;
  tier: Tier;
  billingAnchorDay: number;
}

export interface AccountPatch {
  name?: string | undefined;
  tier?: Tier | undefined;
  policy?: Partial<AccountPolicy> | undefined;
}

export interface TeamDetail extends TeamView {
  rules: TeamRules;
  spend: Spend;
}

export interface NewGrantInput {
  amount: number;
  source: GrantSource;
  priority?: number | undefined;
  effectiveAt?: number | undefined;
  expiresAt?: number | null | undefined;
  note?: string | null | undefined;
}

export class AccountLedger extends LedgerObject {
  // ---- the request path -------------------------------------------------------------------

  /** Admission: one atomic decision that checks everything and, if admitted, holds. */
  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const result = this.tx((now) => this.ledger.admit(req, now), { requestPath: true });
    await this.schedule();
    return result;
  }

  /** Settlement: capture or void the hold, and record the usage event in the same transaction. */
  async settle(req: SettleRequest): Promise<SettleResult> {
    const result = this.tx((now) => this.ledger.settle(req, now), { requestPath: true });
    await this.schedule();
    return result;
  }

  // ---- account management -----------------------------------------------------------------

  /** Creates the account in this object; repeating the same creation is harmless. */
  async createAccount(input: NewAccount): Promise<AccountConfig> {
    const account = this.tx((now) => {
      const existing = config.accountRow(this.sql);
      if (existing) {
        if (existing.id !== input.id) throw new Error("ledger already holds another account");
        return existing;
      }
      this.sql.exec(
        `INSERT INTO account (id, name, tier, billing_anchor_day, overage_policy, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'block', ?, ?)`,
        input.id,
        input.name,
        input.tier,
        input.billingAnchorDay,
        now,
        now,
      );
      this.ledger.currentPeriod(now);
      return config.accountRow(this.sql);
    });
    await this.schedule();
    if (!account) throw new Error("account not created");
    return config.accountView(account);
  }

  async getAccount(): Promise<AccountConfig | null> {
    const row = config.accountRow(this.sql);
    return row ? config.accountView(row) : null;
  }

  /**
   * Changes name, tier or policy; takes effect on the next request. A new overage limit resizes
   * this period's overage allowance in the same transaction.
   */
  async updateAccount(patch: AccountPatch): Promise<AccountConfig | null> {
    const row = this.tx((now) => {
      const before = config.accountRow(this.sql);
      if (!before) return null;
      if (patch.name !== undefined) this.sql.exec("UPDATE account SET name = ?", patch.name);
      if (patch.tier !== undefined) this.sql.exec("UPDATE account SET tier = ?", patch.tier);
      this.sql.exec("UPDATE account SET updated_at = ?", now);
      if (patch.policy !== undefined) {
        const policy = { ...config.accountPolicy(before), ...patch.policy };
        config.setAccountPolicy(this.sql, policy, now);
        const period = this.ledger.currentPeriod(now);
        if (period) syncOverage(this.sql, policy, period, now);
      }
      return config.accountRow(this.sql);
    });
    return row ? config.accountView(row) : null;
  }

  async issueGrant(input: NewGrantInput): Promise<GrantView> {
    const grant = this.tx((now) => {
      this.requireAccount();
      return issueGrant(
        this.sql,
        {
          amount: input.amount,
          source: input.source,
          priority: input.priority ?? defaultPriority(input.source),
          effectiveAt: input.effectiveAt ?? now,
          expiresAt: input.expiresAt ?? null,
          periodStart: null,
          note: input.note ?? null,
        },
        now,
      );
    });
    await this.schedule();
    return grant;
  }

  /** Resolves a key hash to its principal, or null if unknown or revoked. */
  async authenticate(keyHash: string): Promise<Principal | null> {
    const key = config.keyByHash(this.sql, keyHash);
    if (!key || key.revoked_at !== null) return null;
    if (key.member_id) {
      const member = config.getMember(this.sql, key.member_id);
      if (!member?.active) return null;
    }
    return { keyId: key.id, role: key.role, memberId: key.member_id };
  }

  async createTeam(name: string): Promise<TeamView> {
    return this.tx((now) => {
      this.requireAccount();
      return config.createTeam(this.sql, name, now);
    });
  }

  async listTeams(limit: number, after: string | null): Promise<config.Page<TeamView>> {
    return config.listTeams(this.sql, limit, after);
  }

  async getTeam(id: string): Promise<TeamDetail | null> {
    return this.tx((now) => {
      const team = config.getTeam(this.sql, id);
      const period = this.ledger.currentPeriod(now);
      if (!team || !period) return null;
      const rules = config.teamRules(this.sql, id) ?? DEFAULT_TEAM_RULES;
      return { ...team, rules, spend: spendOf(this.sql, period.start, "team", id) };
    });
  }

  async renameTeam(id: string, name: string): Promise<TeamView | null> {
    return this.tx(() =>
      config.getTeam(this.sql, id) ? config.renameTeam(this.sql, id, name) : null,
    );
  }

  /** Deletes a team with no members; refused while it has any. */
  async deleteTeam(id: string): Promise<Outcome<null> | null> {
    return this.tx((now) => {
      if (!config.getTeam(this.sql, id)) return null;
      const members = config.teamMemberCount(this.sql, id);
      if (members > 0) {
        const detail = `Team ${id} still has ${members} member(s); move or delete them first.`;
        return { ok: false, problem: { code: "conflict", detail, extras: { members } } };
      }
      config.deleteTeam(this.sql, id, now);
      return { ok: true, value: null };
    });
  }

  async getTeamRules(id: string): Promise<TeamRules | null> {
    return config.getTeam(this.sql, id) ? config.teamRules(this.sql, id) : null;
  }

  /** Replaces a team's rules; the next request is decided by them. */
  async setTeamRules(id: string, rules: TeamRules): Promise<TeamRules | null> {
    return this.tx(() => {
      if (!config.getTeam(this.sql, id)) return null;
      config.setTeamRules(this.sql, id, rules);
      return config.teamRules(this.sql, id);
    });
  }

  async updateMember(id: string, patch: config.MemberPatch): Promise<Outcome<MemberView> | null> {
    return this.tx(() => {
      if (!config.getMember(this.sql, id)) return null;
      if (patch.teamId !== undefined && !config.getTeam(this.sql, patch.teamId)) {
        return refuse(`Team ${patch.teamId} does not exist.`, "teamId");
      }
      const member = config.updateMember(this.sql, id, patch);
      return member ? { ok: true, value: member } : null;
    });
  }

  /** Deletes a member and revokes its keys; its usage history stays. */
  async deleteMember(id: string): Promise<boolean> {
    return this.tx((now) => config.deleteMember(this.sql, id, now));
  }

  async createMember(input: {
    name: string;
    teamId: string;
    seat: Seat;
  }): Promise<Outcome<MemberView>> {
    return this.tx((now) => {
      this.requireAccount();
      if (!config.getTeam(this.sql, input.teamId)) {
        return refuse(`Team ${input.teamId} does not exist.`, "teamId");
      }
      return { ok: true, value: config.createMember(this.sql, input, now) };
    });
  }

  async listMembers(limit: number, after: string | null): Promise<config.Page<MemberView>> {
    return config.listMembers(this.sql, limit, after);
  }

  async getMember(id: string): Promise<MemberView | null> {
    return config.getMember(this.sql, id);
  }

  async createKey(input: {
    hash: string;
    prefix: string;
    role: Role;
    memberId: string | null;
    name: string | null;
  }): Promise<Outcome<KeyView>> {
    return this.tx((now) => {
      this.requireAccount();
      if (input.memberId !== null && !config.getMember(this.sql, input.memberId)) {
        return refuse(`Member ${input.memberId} does not exist.`, "memberId");
      }
      return { ok: true, value: config.createKey(this.sql, input, now) };
    });
  }

  async listKeys(limit: number, after: string | null): Promise<config.Page<KeyView>> {
    return config.listKeys(this.sql, limit, after);
  }

  async revokeKey(id: string): Promise<KeyView | null> {
    return this.tx((now) => config.revokeKey(this.sql, id, now));
  }

  /** The balance now: available, held, this period's spend, grants, holds and the forecast. */
  async balance(): Promise<BalanceView | null> {
    const view = this.tx((now) => {
      const period = this.ledger.currentPeriod(now);
      if (!period) return null;
      this.ledger.expireHolds(now);
      const holds = heldTotal(this.sql);
      const overage = overageOf(this.sql, period.start);
      const account = config.accountRow(this.sql);
      const policy = account ? config.accountPolicy(account) : null;
      const available = availableCredits(this.sql, now) - (overage?.remaining ?? 0);
      const captured = accountSpend(this.sql, period.start).captured;
      return {
        available,
        overage: {
          policy: policy?.overage.policy ?? "block",
          limit: overage?.amount ?? 0,
          used: (overage?.held ?? 0) + (overage?.captured ?? 0),
          available: overage?.remaining ?? 0,
        },
        held: holds.amount,
        capturedThisPeriod: captured,
        period: { start: iso(period.start), end: iso(period.end) },
        // Read in this transaction, so the forecast agrees with the available credits shown.
        forecast: forecast({
          now,
          period,
          available,
          capturedLast7Days: capturedLast7Days(this.sql, now),
          capturedThisPeriod: captured,
          accountCreatedAt: account?.created_at ?? now,
        }),
        grants: listGrants(this.sql, now, true),
        periodGrants: periodGrants(this.sql, period),
        holds: {
          count: holds.count,
          oldestExpiresAt: holds.oldestExpiresAt === null ? null : iso(holds.oldestExpiresAt),
        },
      };
    });
    await this.schedule();
    return view;
  }

  // ---- alerts (issue 6) -------------------------------------------------------------------

  async alertSettings(): Promise<AlertSettings | null> {
    const account = config.accountRow(this.sql);
    return account ? alertSettingsOf(account.alert_settings) : null;
  }

  async setAlertSettings(settings: AlertSettings): Promise<AlertSettings> {
    this.requireAccount();
    this.tx((now) => writeAlertSettings(this.sql, settings, now));
    return settings;
  }

  async alerts(options: AlertQuery): Promise<AlertView[]> {
    return listAlerts(this.sql, options);
  }

  /** Every grant, including spent and expired ones, for audits and conservation checks. */
  async allGrants(): Promise<GrantView[]> {
    return listGrants(this.sql, this.clock(), false);
  }

  async outboxStats(): Promise<FlushStats> {
    return flushStats(this.sql);
  }

  // ---- outbox, holds and periods in the background ------------------------------------------

  /** The worker checks the account exists before it manages it; this guards against bugs. */
  private requireAccount() {
    if (!config.accountRow(this.sql)) throw new Error("ledger has no account");
  }
}

function refuse(detail: string, field: string): { ok: false; problem: ProblemInit } {
  return { ok: false, problem: { code: "validation_failed", detail, extras: { field } } };
}

function defaultPriority(source: GrantSource): number {
  return source === "pack" ? 10 : source === "adjustment" ? 5 : 0;
}
