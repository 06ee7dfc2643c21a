/**
 * AccountLedger: one Durable Object per account, the only place its balance changes. This file
 * is its RPC surface (`LedgerRpc`, contract.ts): each method that decides runs its work as one
 * `transactionSync` with no `await` inside, so a decision is atomic and strongly consistent
 * however many requests race. The work itself lives by concern:
 *
 * - admission.ts, settlement.ts: the request path's two decisions;
 * - management.ts: the account, grants, teams, members, keys and the balance view;
 * - background.ts: the alarm (period roll, hold expiry, webhooks, the outbox flush to D1);
 * - reconcile.ts: the ledger's books beside D1's;
 * - demo-replay.ts: the demo's history (only with DEMO_HISTORY=true);
 * - meter.ts: what the object costs (only with LEDGER_METER=true; `npm run bench` reads it);
 * - store/: every SQL statement; core/: the pure rules.
 */
import { DurableObject } from "cloudflare:workers";
import { type Settings, settingsOf } from "../lib/settings";
import { iso } from "../lib/time";
import { admit } from "./admission";
import { Background } from "./background";
import type {
  AccountConfig,
  AccountPatch,
  AddOnHolding,
  AdmitRequest,
  AdmitResult,
  AlertQuery,
  AlertSettings,
  AlertView,
  BalanceView,
  DeliveryQuery,
  DeliveryView,
  FlushResult,
  FlushStats,
  GrantView,
  HistoryCall,
  KeyView,
  LedgerRpc,
  MemberPatch,
  MemberView,
  NewAccount,
  NewGrantInput,
  NewKey,
  NewMember,
  Outcome,
  Page,
  PeriodChoice,
  Principal,
  ReconcileView,
  ReplayResult,
  SettleRequest,
  SettleResult,
  TeamDetail,
  TeamRules,
  TeamView,
  ValueSettings,
  ValueSettingsView,
  WebhookView,
} from "./contract";
import { alertSettingsOf } from "./core/alerts";
import { replayHistory } from "./demo-replay";
import * as manage from "./management";
import { countRequests, type LedgerMeter, ledgerMeter, type MeterReading } from "./meter";
import { reconcile } from "./reconcile";
import { settle } from "./settlement";
import { LedgerState } from "./state";
import { accountRow, accountView, writeAlertSettings } from "./store/account";
import { addOnsOf } from "./store/add-ons";
import { listAlerts } from "./store/alerts";
import * as config from "./store/config";
import { listGrants } from "./store/grants";
import { flushStats } from "./store/outbox";
import { migrate } from "./store/schema";
import { listDeliveries, setWebhook, webhookOf } from "./store/webhooks";
import { Transactions } from "./transaction";

export class AccountLedger extends DurableObject<Env> implements LedgerRpc {
  /** The clock; tests replace it to cross period boundaries. */
  clock: () => number = () => Date.now();
  private readonly settings: Settings;
  private readonly state: LedgerState;
  private readonly tx: Transactions;
  private readonly background: Background;
  /** Null unless the worker var LEDGER_METER is "true" (meter.ts). */
  private readonly metering: LedgerMeter | null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.settings = settingsOf(env);
    this.metering = ledgerMeter(env);
    const now = () => this.clock();
    // Metered, every statement goes through the meter's wrapper; else the plain handle.
    const sql = this.metering ? this.metering.wrap(ctx.storage.sql) : ctx.storage.sql;
    this.state = new LedgerState(sql, { holdTtlMs: this.settings.holdTtlMs });
    this.tx = new Transactions(ctx.storage, this.state, now);
    const db = () => this.env.DB;
    this.background = new Background(
      ctx.storage,
      db,
      this.settings,
      this.state,
      this.tx,
      now,
      this.metering,
    );
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage.sql);
      await this.background.load();
    });
    if (this.metering) {
      // The runtime calls what the constructor returns: metered, a proxy that counts every RPC
      // call and alarm as one request. Unmetered (production), the object itself.
      // biome-ignore lint/correctness/noConstructorReturn: the metered object is served through its proxy
      return countRequests(this, this.metering);
    }
  }

  private get sql(): SqlStorage {
    return this.state.sql;
  }

  // ---- the request path ----------------------------------------------------------------------

  /** Admission: one atomic decision that checks everything and, if admitted, holds. */
  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const result = this.tx.run((now) => admit(this.state, req, now), { requestPath: true });
    await this.background.schedule();
    return result;
  }

  /** Settlement: capture or void the hold, and record the usage event in the same transaction. */
  async settle(req: SettleRequest): Promise<SettleResult> {
    const result = this.tx.run((now) => settle(this.state, req, now), { requestPath: true });
    await this.background.schedule();
    return result;
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

  // ---- the account -----------------------------------------------------------------------------

  async createAccount(input: NewAccount): Promise<AccountConfig> {
    const account = this.tx.run((now) => manage.createAccount(this.state, input, now));
    await this.background.schedule();
    return account;
  }

  async getAccount(): Promise<AccountConfig | null> {
    const row = accountRow(this.sql);
    return row ? accountView(row, addOnsOf(this.sql)) : null;
  }

  async updateAccount(patch: AccountPatch): Promise<AccountConfig | null> {
    return this.tx.run((now) => manage.updateAccount(this.state, patch, now));
  }

  async setAddOns(holdings: AddOnHolding[]): Promise<AccountConfig | null> {
    const account = this.tx.run((now) => manage.setAddOns(this.state, holdings, now));
    await this.background.schedule();
    return account;
  }

  async issueGrant(input: NewGrantInput): Promise<GrantView> {
    const grant = this.tx.run((now) => manage.grant(this.state, input, now));
    await this.background.schedule();
    return grant;
  }

  async balance(): Promise<BalanceView | null> {
    const view = this.tx.run((now) => manage.balance(this.state, now));
    await this.background.schedule();
    return view;
  }

  /** Every grant, including spent and expired ones, for audits and conservation checks. */
  async allGrants(): Promise<GrantView[]> {
    return listGrants(this.sql, this.clock(), false);
  }

  // ---- teams, members, keys --------------------------------------------------------------------

  async createTeam(name: string): Promise<TeamView> {
    return this.tx.run((now) => {
      manage.requireAccount(this.state);
      return config.createTeam(this.sql, name, now);
    });
  }

  async listTeams(limit: number, after: string | null): Promise<Page<TeamView>> {
    return config.listTeams(this.sql, limit, after);
  }

  async getTeam(id: string): Promise<TeamDetail | null> {
    return this.tx.run((now) => manage.teamDetail(this.state, id, now));
  }

  async renameTeam(id: string, name: string): Promise<TeamView | null> {
    return this.tx.run(() =>
      config.getTeam(this.sql, id) ? config.renameTeam(this.sql, id, name) : null,
    );
  }

  async deleteTeam(id: string): Promise<Outcome<null> | null> {
    return this.tx.run((now) => manage.deleteTeam(this.state, id, now));
  }

  async getTeamRules(id: string): Promise<TeamRules | null> {
    return config.getTeam(this.sql, id) ? config.teamRules(this.sql, id) : null;
  }

  async setTeamRules(id: string, rules: TeamRules): Promise<TeamRules | null> {
    return this.tx.run(() => manage.setTeamRules(this.state, id, rules));
  }

  async createMember(input: NewMember): Promise<Outcome<MemberView>> {
    return this.tx.run((now) => manage.createMember(this.state, input, now));
  }

  async listMembers(limit: number, after: string | null): Promise<Page<MemberView>> {
    return config.listMembers(this.sql, limit, after);
  }

  async getMember(id: string): Promise<MemberView | null> {
    return config.getMember(this.sql, id);
  }

  async updateMember(id: string, patch: MemberPatch): Promise<Outcome<MemberView> | null> {
    return this.tx.run(() => manage.updateMember(this.state, id, patch));
  }

  /** Deletes a member and revokes its keys; its usage history stays. */
  async deleteMember(id: string): Promise<boolean> {
    return this.tx.run((now) => config.deleteMember(this.sql, id, now));
  }

  async createKey(input: NewKey): Promise<Outcome<KeyView>> {
    return this.tx.run((now) => manage.createKey(this.state, input, now));
  }

  async listKeys(limit: number, after: string | null): Promise<Page<KeyView>> {
    return config.listKeys(this.sql, limit, after);
  }

  async revokeKey(id: string): Promise<KeyView | null> {
    return this.tx.run((now) => config.revokeKey(this.sql, id, now));
  }

  // ---- alerts and the webhook ------------------------------------------------------------------

  async alertSettings(): Promise<AlertSettings | null> {
    const account = accountRow(this.sql);
    return account ? alertSettingsOf(account.alert_settings) : null;
  }

  /** Replaces the alert settings; the next debit is decided by them. */
  async setAlertSettings(settings: AlertSettings): Promise<AlertSettings> {
    this.tx.run((now) => {
      manage.requireAccount(this.state);
      writeAlertSettings(this.sql, settings, now);
    });
    return settings;
  }

  async alerts(query: AlertQuery): Promise<AlertView[]> {
    return listAlerts(this.sql, query);
  }

  /** Where alerts go, or null. The secret never leaves the object except when it is set. */
  async webhook(): Promise<WebhookView | null> {
    const hook = webhookOf(this.sql);
    if (!hook) return null;
    return {
      url: hook.url,
      secretPrefix: hook.secret.slice(0, 10),
      updatedAt: iso(hook.updatedAt),
    };
  }

  async setWebhook(hook: { url: string; secret: string } | null): Promise<void> {
    this.tx.run((now) => {
      manage.requireAccount(this.state);
      setWebhook(this.sql, hook, now);
    });
  }

  async deliveries(query: DeliveryQuery): Promise<DeliveryView[]> {
    return listDeliveries(this.sql, query);
  }

  // ---- the value report's settings -------------------------------------------------------------

  async valueSettings(): Promise<ValueSettingsView | null> {
    return manage.valueSettings(this.state);
  }

  async setValueSettings(settings: ValueSettings): Promise<Outcome<ValueSettingsView> | null> {
    return this.tx.run((now) => manage.setValueSettings(this.state, settings, now));
  }

  // ---- the outbox, reconciliation and housekeeping ---------------------------------------------

  async outboxStats(): Promise<FlushStats> {
    return flushStats(this.sql);
  }

  /** Copies the outbox to D1 now; refused events stay for the next try (I5). */
  async flush(): Promise<FlushResult> {
    return this.background.flush();
  }

  /** The period's captured credits by the ledger beside D1's; optionally flushes first. */
  async reconcile(choice: PeriodChoice, flushFirst: boolean): Promise<ReconcileView | null> {
    const flushed = flushFirst ? await this.background.flush() : null;
    return reconcile(this.sql, this.env.DB, this.tx, flushed, choice);
  }

  /** Rolls the period, voids lapsed holds and forgets what has expired, without flushing. */
  async tick(): Promise<void> {
    await this.background.tick();
  }

  async deliverWebhooks(): Promise<number> {
    return this.background.deliverWebhooks();
  }

  /**
   * What the object has cost since it started: requests, statements, rows read and written, D1
   * rows of its flushes. Null unless LEDGER_METER=true. Reading it is not counted as a request.
   */
  async meter(): Promise<MeterReading | null> {
    return this.metering?.reading() ?? null;
  }

  override async alarm(): Promise<void> {
    await this.background.alarm();
  }

  // ---- the demo ----------------------------------------------------------------------------------

  /** Lays weeks of past calls through the ledger's own decisions (demo-replay.ts). */
  async replayHistory(calls: readonly HistoryCall[]): Promise<ReplayResult> {
    if (!this.settings.demoHistory) throw new Error("demo history is off");
    const result = replayHistory(this.state, this.tx, calls);
    await this.background.schedule();
    return result;
  }
}
