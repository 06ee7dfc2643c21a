/**
 * Everything that crosses into the AccountLedger object: the requests the worker sends, the
 * results and views it gets back, and `LedgerRpc`, the object's methods. Callers import types
 * from here only; the object implements `LedgerRpc`, so a change to a method's shape is a
 * compile error on both sides. Everything here is structured-clonable: no classes, no functions.
 */
import type { ProblemInit } from "../lib/problem";
import type { Comparison } from "../usage/reconcile";
import type { AdmitRequest, AdmitResult, SettleRequest, SettleResult } from "./contract-request";
import type { AlertKind, AlertScope, AlertSettings } from "./core/alerts";
import type { Forecast } from "./core/forecast";
import type { AccountPolicy, Spend, TeamRules } from "./core/rules";
import type { GrantSource, OveragePolicy, PlanId, Role, Seat } from "./core/terms";
import type { ValueSettings, ValueSettingsView } from "./core/value";
import type { MeterReading } from "./meter";

export type { AlertKind, AlertScope, AlertSettings } from "./core/alerts";
export { ALERT_KINDS, ALERT_SCOPES, DEFAULT_ALERT_SETTINGS } from "./core/alerts";
export type { Forecast } from "./core/forecast";
export type { AccountPolicy, Spend, TeamRules } from "./core/rules";
export { DEFAULT_POLICY, DEFAULT_TEAM_RULES } from "./core/rules";
export type {
  ActionTerms,
  Caller,
  Category,
  GrantSource,
  OveragePolicy,
  PlanId,
  Role,
  Seat,
  Settlement,
} from "./core/terms";
export { GRANT_SOURCES, MAX_CREDITS, ROLES } from "./core/terms";
export type { ValueFigures, ValueSettings, ValueSettingsView } from "./core/value";

// ---- the request path: src/ledger/contract-request.ts ------------------------------------------

export type {
  AdmitRequest,
  AdmitResult,
  DedupeOutcome,
  DedupeRequest,
  KeySkip,
  SettleRequest,
  SettleResult,
  StoredOutcome,
} from "./contract-request";

// ---- the account and its people --------------------------------------------------------------

export interface NewAccount {
  id: string;
  name: string;
  plan: PlanId;
  billingAnchorDay: number;
}

export interface AccountPatch {
  name?: string | undefined;
  plan?: PlanId | undefined;
  policy?: Partial<AccountPolicy> | undefined;
}

export interface AccountConfig {
  id: string;
  name: string;
  plan: PlanId;
  /** A plan with fewer included credits, which takes over when the current period ends. */
  pendingPlan: { plan: PlanId; from: string } | null;
  /** Recurring add-ons held: each issues its credits x quantity every period. */
  addOns: AddOnHolding[];
  billingAnchorDay: number;
  overagePolicy: OveragePolicy;
  policy: AccountPolicy;
  createdAt: string;
  updatedAt: string;
}

/** A recurring add-on of the configuration, and how many of it the account holds. */
export interface AddOnHolding {
  id: string;
  quantity: number;
}

export interface Principal {
  keyId: string;
  role: Role;
  memberId: string | null;
}

/** A keyset page of a list ordered by id. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface TeamView {
  id: string;
  name: string;
  createdAt: string;
}

export interface TeamDetail extends TeamView {
  rules: TeamRules;
  spend: Spend;
}

export interface NewMember {
  name: string;
  teamId: string;
  seat: Seat;
}

export interface MemberView {
  id: string;
  name: string;
  teamId: string;
  seat: Seat;
  active: boolean;
  /** Per-period budget of this member, overriding the team's default; null: the team's. */
  budget: number | null;
  createdAt: string;
}

export interface MemberPatch {
  name?: string | undefined;
  teamId?: string | undefined;
  seat?: Seat | undefined;
  active?: boolean | undefined;
  budget?: number | null | undefined;
}

/** A key as stored: only its hash and a short prefix; the secret never reaches the ledger. */
export interface NewKey {
  hash: string;
  prefix: string;
  role: Role;
  memberId: string | null;
  name: string | null;
}

export interface KeyView {
  id: string;
  role: Role;
  memberId: string | null;
  name: string | null;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

/** A management result that may be refused; refusals cross RPC as data, not as thrown errors. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; problem: ProblemInit };

// ---- credits ---------------------------------------------------------------------------------

export interface NewGrantInput {
  amount: number;
  source: GrantSource;
  priority?: number | undefined;
  effectiveAt?: number | undefined;
  expiresAt?: number | null | undefined;
  note?: string | null | undefined;
}

export interface GrantView {
  id: string;
  amount: number;
  remaining: number;
  held: number;
  captured: number;
  expired: number;
  source: GrantSource;
  priority: number;
  effectiveAt: string;
  expiresAt: string | null;
  note: string | null;
}

export interface BalanceView {
  /** The plan in force, and one waiting for the period's end. */
  plan: PlanId;
  pendingPlan: { plan: PlanId; from: string } | null;
  /** Spendable credits of the grants, the overage allowance not included. */
  available: number;
  overage: { policy: OveragePolicy; limit: number; used: number; available: number };
  held: number;
  capturedThisPeriod: number;
  period: { start: string; end: string };
  /** Burn rate and projected depletion (see core/forecast.ts for the rules). */
  forecast: Forecast;
  grants: GrantView[];
  /** Every grant spendable at some time in this period, spent and expired ones included. */
  periodGrants: GrantView[];
  holds: { count: number; oldestExpiresAt: string | null };
}

// ---- alerts and the webhook ------------------------------------------------------------------

export interface AlertView {
  id: string;
  kind: AlertKind;
  scope: AlertScope;
  scopeId: string;
  threshold: number | null;
  periodStart: string;
  firedAt: string;
  requestId: string | null;
  detail: Record<string, number | string | null>;
}

export interface AlertQuery {
  kind: AlertKind | null;
  scope: AlertScope | null;
  scopeId: string | null;
  /** Fired in [from, to), in milliseconds; null: unbounded. */
  from: number | null;
  to: number | null;
  before: { at: number; id: string } | null;
  limit: number;
}

/** Where alerts go, as the API shows it: the secret only by its prefix. */
export interface WebhookView {
  url: string;
  secretPrefix: string;
  updatedAt: string;
}

export interface DeliveryView {
  id: string;
  alertId: string;
  type: string;
  state: "pending" | "delivered" | "failed";
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface DeliveryQuery {
  before: { at: number; id: string } | null;
  limit: number;
}

// ---- the outbox and reconciliation -----------------------------------------------------------

export interface FlushStats {
  pending: number;
  flushedEvents: number;
  flushWrites: number;
  failures: number;
  lastError: string | null;
  lastFlushAt: number | null;
  oldestPendingAt: number | null;
}

export interface FlushResult {
  flushed: number;
  pending: number;
  error: string | null;
}

/** Which period to reconcile: the current one, the one before, or the one containing a time. */
export type PeriodChoice = "current" | "previous" | { at: number };

export interface ReconcileView extends Comparison {
  period: { start: string; end: string };
  /** D1 holds every event of this account that occurred before this time. */
  watermark: string;
  /** Captured events of this period still in the outbox, all outcomes' events waiting. */
  outbox: { capturedEvents: number; waiting: number };
  flushed: { requested: boolean; events: number; error: string | null };
}

// ---- the demo --------------------------------------------------------------------------------

/** One call of a demo history: what the proxy would ask at `at`, and what it would settle. */
export interface HistoryCall {
  at: number;
  admit: AdmitRequest;
  /** Credits and units captured by the settlement (the metered count for metered actions). */
  credits: number;
  units: number;
  durationMs: number;
}

export interface ReplayResult {
  admitted: number;
  denied: number;
}

// ---- the object's methods --------------------------------------------------------------------

/**
 * The AccountLedger's RPC surface. Each method that decides runs as one SQLite transaction in
 * the object; null means the object holds no account (or not the thing asked for).
 */
export interface LedgerRpc {
  // the request path
  admit(req: AdmitRequest): Promise<AdmitResult>;
  settle(req: SettleRequest): Promise<SettleResult>;
  authenticate(keyHash: string): Promise<Principal | null>;

  // the account
  createAccount(input: NewAccount): Promise<AccountConfig>;
  getAccount(): Promise<AccountConfig | null>;
  updateAccount(patch: AccountPatch): Promise<AccountConfig | null>;
  /** Replaces the add-ons held: more now issues the difference at once; fewer, from next period. */
  setAddOns(holdings: AddOnHolding[]): Promise<AccountConfig | null>;
  issueGrant(input: NewGrantInput): Promise<GrantView>;
  balance(): Promise<BalanceView | null>;
  allGrants(): Promise<GrantView[]>;

  // teams, members, keys
  createTeam(name: string): Promise<TeamView>;
  listTeams(limit: number, after: string | null): Promise<Page<TeamView>>;
  getTeam(id: string): Promise<TeamDetail | null>;
  renameTeam(id: string, name: string): Promise<TeamView | null>;
  deleteTeam(id: string): Promise<Outcome<null> | null>;
  getTeamRules(id: string): Promise<TeamRules | null>;
  setTeamRules(id: string, rules: TeamRules): Promise<TeamRules | null>;
  createMember(input: NewMember): Promise<Outcome<MemberView>>;
  listMembers(limit: number, after: string | null): Promise<Page<MemberView>>;
  getMember(id: string): Promise<MemberView | null>;
  updateMember(id: string, patch: MemberPatch): Promise<Outcome<MemberView> | null>;
  deleteMember(id: string): Promise<boolean>;
  createKey(input: NewKey): Promise<Outcome<KeyView>>;
  listKeys(limit: number, after: string | null): Promise<Page<KeyView>>;
  revokeKey(id: string): Promise<KeyView | null>;

  // alerts and the webhook
  alertSettings(): Promise<AlertSettings | null>;
  setAlertSettings(settings: AlertSettings): Promise<AlertSettings>;
  alerts(query: AlertQuery): Promise<AlertView[]>;
  webhook(): Promise<WebhookView | null>;
  setWebhook(hook: { url: string; secret: string } | null): Promise<void>;
  deliveries(query: DeliveryQuery): Promise<DeliveryView[]>;

  // the value report's settings (issue 16)
  valueSettings(): Promise<ValueSettingsView | null>;
  /** Replaces the account's own value settings; refused when they leave no whole value. */
  setValueSettings(settings: ValueSettings): Promise<Outcome<ValueSettingsView> | null>;

  // the outbox, reconciliation and housekeeping
  outboxStats(): Promise<FlushStats>;
  flush(): Promise<FlushResult>;
  reconcile(choice: PeriodChoice, flushFirst: boolean): Promise<ReconcileView | null>;
  tick(): Promise<void>;
  deliverWebhooks(): Promise<number>;
  /** What the object has cost (requests, SQL rows, D1 rows); null unless LEDGER_METER=true. */
  meter(): Promise<MeterReading | null>;

  // the demo (only with DEMO_HISTORY=true)
  replayHistory(calls: readonly HistoryCall[]): Promise<ReplayResult>;
}
