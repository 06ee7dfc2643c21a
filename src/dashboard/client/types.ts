/**
 * The shapes of the API answers the dashboard reads, as src/api/schemas.ts and
 * src/api/usage/schemas.ts define them. Only the fields the dashboard uses are listed.
 */

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  requestId: string;
  /** The request field the problem is about, when the API names one. */
  field?: string;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface Account {
  id: string;
  name: string;
  plan: string;
  pendingPlan?: { plan: string; from: string } | null;
  addOns?: { id: string; quantity: number }[];
  billingAnchorDay: number;
  overagePolicy: "block" | "allow";
  /** The key signed in: admins manage the account, finance reads it. */
  caller?: { role: "admin" | "finance"; keyId: string };
}

/** A price as the configuration declares it (GET /v1/catalog). */
export interface CatalogPrice {
  credits: number;
  per?: number;
  unit?: Record<string, unknown>;
  maxUnits?: number;
}

export interface CatalogAction {
  id: string;
  name: string;
  category: string;
  price: CatalogPrice;
  priceChanges: { from: string; price: CatalogPrice }[];
}

/** GET /v1/catalog: the plan, what it includes, what it does not. */
export interface AccountCatalog {
  plan: { id: string; name: string; includedCredits: number };
  /** The seats a member can hold, `none` last. */
  seats: string[];
  categories: string[];
  included: CatalogAction[];
  notIncluded: CatalogAction[];
}

export interface Grant {
  id: string;
  amount: number;
  remaining: number;
  held: number;
  captured: number;
  expired: number;
  source: string;
  priority: number;
  effectiveAt: string;
  expiresAt: string | null;
  note: string | null;
}

export interface Balance {
  available: number;
  overage: { policy: "block" | "allow"; limit: number; used: number; available: number };
  held: number;
  capturedThisPeriod: number;
  period: { start: string; end: string };
  forecast: {
    burnRate: { last7Days: number; thisPeriod: number };
    basis: "last7Days" | "thisPeriod" | null;
    projectedDepletionAt: string | null;
    depletesBeforePeriodEnd: boolean;
  };
  /** Grants with credits left or held now. */
  grants: Grant[];
  /**
   * Every grant that could be spent at some time in this period (effective before its end, not
   * expired before its start), spent and expired ones included, ordered by effectiveAt.
   */
  periodGrants: Grant[];
  holds: { count: number; oldestExpiresAt: string | null };
}

export interface Team {
  id: string;
  name: string;
}

/** `PUT /v1/teams/{id}/rules`; null means no limit (allow-lists: everything the plan includes). */
export interface TeamRules {
  allowedActions: string[] | null;
  allowedCategories: string[] | null;
  purpose: { required: boolean; allowed: string[] | null };
  memberRateLimitPerMinute: number | null;
  teamBudget: number | null;
  memberBudget: number | null;
}

/** `GET /v1/teams/{id}`: the team with its rules and this period's spend. */
export interface TeamDetail extends Team {
  rules: TeamRules;
  spend: { captured: number; held: number };
}

export interface Member {
  id: string;
  name: string;
  teamId: string;
  active: boolean;
  seat: string;
  /** A personal budget for the period; null: the team's default member budget. */
  budget: number | null;
  createdAt: string;
}

export type Role = "admin" | "finance" | "member";

export interface Key {
  id: string;
  role: Role;
  memberId: string | null;
  name: string | null;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

/** `POST /v1/keys`: the key with its secret, shown this once. */
export interface CreatedKey {
  id: string;
  key: string;
  role: Role;
  memberId: string | null;
  name: string | null;
}

export interface AlertSettings {
  thresholds: number[];
  spike: { enabled: boolean; factor: number; floorCredits: number };
  forecast: { enabled: boolean };
  depleted: { enabled: boolean };
  deniedBurst: { enabled: boolean; count: number; windowMinutes: number };
}

export interface Webhook {
  url: string | null;
  secretPrefix: string | null;
  updatedAt: string | null;
}

export interface WebhookDelivery {
  id: string;
  alertId: string;
  type: string;
  state: "pending" | "delivered" | "failed";
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
}

export interface Totals {
  credits: number;
  units: number;
  calls: number;
  denials: number;
  /** Credits of the records dedupe skipped (issue 16); absent from older gateways. */
  creditsSaved?: number;
}

export interface SummaryGroup extends Totals {
  day?: string;
  teamId?: string | null;
  memberId?: string | null;
  action?: string;
  category?: string;
}

export interface Summary {
  groupBy: string[];
  from: string | null;
  to: string | null;
  groups: SummaryGroup[];
  totals: Totals;
}

export interface UsageEvent {
  id: string;
  occurredAt: string;
  teamId: string | null;
  memberId: string | null;
  requestId: string;
  action: string;
  category: string;
  outcome: "captured" | "voided" | "denied";
  reason: string | null;
  credits: number;
  heldCredits: number;
}

export interface Alert {
  id: string;
  kind: string;
  scope: "account" | "team" | "member";
  scopeId: string;
  threshold: number | null;
  periodStart: string;
  firedAt: string;
  requestId: string | null;
  detail: Record<string, number | string | null>;
}

/** One point of the burn-down: a past or present balance, or the forecast line. */
export interface BurnPoint {
  /** Epoch ms. */
  at: number;
  balance: number | null;
  forecast: number | null;
}

/** One stacked series of the spend chart. */
export interface StackLayer {
  label: string;
  colour: string;
  /** Credits per day, aligned with `days`. */
  values: number[];
}

export type GroupBy = "team" | "action" | "category";

/** The measures of `GET /v1/usage/value` (money in `currency`, rounded to cents). */
export interface ValueMeasures {
  credits: number;
  creditsSaved: number;
  creditCost: number;
  manualHours: number;
  manualCost: number;
  /** manualCost / creditCost; null when the credits cost nothing. */
  ratio: number | null;
}

/** `GET /v1/usage/value?group_by=action`: a range's credits against the same work by hand. */
export interface ValueReport {
  currency: string;
  creditPrice: number;
  hourlyCost: number;
  groups: (ValueMeasures & { action?: string })[];
  totals: ValueMeasures;
  /** Actions without manual minutes in the configuration (counted as none). */
  withoutManualMinutes: string[];
}

/** `GET /v1/usage/attribution?group_by=action`: the outcomes reported for each action's calls. */
export interface Attribution {
  groups: { action?: string; credits: number; outcomes: number }[];
  totals: { credits: number; outcomes: number };
}
