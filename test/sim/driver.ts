/**
 * The simulation's driver: one account, one seeded PRNG, operations strictly one after another
 * against the real worker and ledger object, each mirrored on the reference model, and I1-I5
 * checked after every step. Every choice comes from the seed, never from the wall clock or
 * Math.random (the ids the system makes differ between runs but decide nothing), so a seed
 * replays the same operations exactly.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { PlanId } from "../../src/ledger/contract";
import type { AccountLedger } from "../../src/ledger/object";
import { uniqueAccountId } from "../support/api";
import { LedgerModel } from "../support/model/ledger";
import { normalizeKey } from "../support/model/records";
import type { SimAction } from "./actions";
import { checkAgainstModel } from "./agreement";
import { checkInvariants, Violation } from "./checks";
import { field, manage, OPERATOR_AUTH, sha256Hex } from "./gateway";
import { Prng } from "./prng";
import { type RealState, readState } from "./state";

/** A request a client may send again: same key, same action, same body. */
export interface Template {
  action: SimAction;
  units: number;
  path: string;
  body: string | null;
  /** Equal exactly when the gateway's fingerprint of the two requests is equal. */
  identity: string;
  /** An action with dedupe: the body's records (their keys decide what is charged); else null. */
  records: Record<string, unknown>[] | null;
}

/** A hold admitted by RPC whose worker "died": nobody settles it unless `late_settle` does. */
export interface Orphan {
  requestId: string;
  holdId: string;
  action: SimAction;
  /** The units admitted (with dedupe: the records charged), which a late capture charges. */
  units: number;
  idemKey: string | null;
}

/** What one operation did, for the trace, and the checks only it can make on the state after it. */
export interface Outcome {
  text: string;
  faults?: string[];
  after?: (real: RealState) => void;
}

/** A seed's failure: the broken check, how to replay it, and the operations that led there. */
export class SimulationFailure extends Error {}

/** Counts by kind, printed in the summary. */
export type Tally = Record<string, number>;

/** Counts `n` more of `kind`. */
export function add(tally: Tally, kind: string, n = 1) {
  tally[kind] = (tally[kind] ?? 0) + n;
}

/** One seed's run: the account, the model, the simulated clock and what has happened so far. */
export class Sim {
  readonly rng: Prng;
  readonly accountId = uniqueAccountId("sim");
  /** The simulated time: the ledger object's clock reads it, so only the driver moves it. */
  now: number;
  readonly clock = () => this.now;
  readonly model: LedgerModel;
  adminAuth = "";
  financeAuth = "";
  teamIds: string[] = [];
  d1Down = false;
  idemPool: { key: string; template: Template; secret: string }[] = [];
  orphans: Orphan[] = [];
  step = 0;
  steps = 0;
  readonly trace: string[] = [];
  readonly ops: Tally = {};
  readonly faults: Tally = {};
  /** How the calls were decided, to see what a budget of seeds covers. */
  readonly decisions: Tally = {};
  /** The stored hash (32 hex) of each normalized record key met so far, as the ledger keys it. */
  readonly keyHashes = new Map<string, string>();

  constructor(readonly seed: number) {
    this.rng = new Prng(seed);
    // Years ahead of the wall clock, so no alarm the ledger sets ever fires on its own:
    // alarms run only when the driver runs them.
    this.now = Date.UTC(
      2040 + this.rng.int(0, 5),
      this.rng.int(0, 11),
      this.rng.int(1, 28),
      this.rng.int(0, 23),
    );
    this.model = new LedgerModel(
      this.rng.pick<PlanId>(["starter", "professional", "enterprise"]),
      this.rng.int(1, 28),
    );
  }

  /** A fresh stub per use: an eviction breaks the stubs that reached the old instance. */
  get stub(): DurableObjectStub<AccountLedger> {
    return env.LEDGER.get(env.LEDGER.idFromName(this.accountId));
  }

  /** A trigger that makes D1 refuse this account's usage events, and only this account's. */
  get failTrigger(): string {
    return `sim_fail_${this.accountId.replace(/[^a-z0-9]/g, "_")}`;
  }

  /** Takes D1 down for this account's usage events, or brings it back. */
  async setD1(down: boolean) {
    if (down) {
      await env.DB.exec(
        `CREATE TRIGGER IF NOT EXISTS ${this.failTrigger} BEFORE INSERT ON usage_events WHEN NEW.account_id = '${this.accountId}' BEGIN SELECT RAISE(ABORT, 'injected D1 outage'); END;`,
      );
    } else {
      await env.DB.exec(`DROP TRIGGER IF EXISTS ${this.failTrigger};`);
    }
    this.d1Down = down;
  }

  /** An account with two teams, three to four members with seats and keys, admin and finance keys. */
  async setup() {
    try {
      await this.createAccount();
    } catch (error) {
      throw this.failure(error);
    }
  }

  private async createAccount() {
    await runInDurableObject(this.stub, (instance: AccountLedger) => {
      instance.clock = this.clock;
    });
    const { plan, anchorDay } = this.model;
    await manage(
      "POST",
      "/admin/v1/accounts",
      OPERATOR_AUTH,
      { id: this.accountId, name: `Sim ${this.seed}`, plan, billingAnchorDay: anchorDay },
      201,
    );
    this.model.touch(this.now);
    const admin = await manage(
      "POST",
      `/admin/v1/accounts/${this.accountId}/keys`,
      OPERATOR_AUTH,
      { role: "admin" },
      201,
    );
    this.adminAuth = `Bearer ${field(admin, "key")}`;
    this.model.keys.push({
      id: field(admin, "id"),
      secret: field(admin, "key"),
      role: "admin",
      memberId: null,
      revoked: false,
    });
    const finance = await manage("POST", "/v1/keys", this.adminAuth, { role: "finance" }, 201);
    this.financeAuth = `Bearer ${field(finance, "key")}`;
    for (const name of ["Sales", "Marketing"]) {
      const team = await manage("POST", "/v1/teams", this.adminAuth, { name }, 201);
      this.teamIds.push(field(team, "id"));
    }
    const members = this.rng.int(3, 4);
    for (let i = 0; i < members; i++) {
      const teamId = this.rng.pick(this.teamIds);
      const seat = this.rng.pick(["core", "core", "sales", "service", "none"] as const);
      const member = await manage(
        "POST",
        "/v1/members",
        this.adminAuth,
        { name: `M${i}`, teamId, seat },
        201,
      );
      const id = field(member, "id");
      this.model.members.set(id, { id, teamId, seat, active: true, budget: null });
      await this.newMemberKey(id);
    }
  }

  /** A new key for the member, through the account API as its admin would. */
  async newMemberKey(memberId: string) {
    const key = await manage("POST", "/v1/keys", this.adminAuth, { role: "member", memberId }, 201);
    this.model.keys.push({
      id: field(key, "id"),
      secret: field(key, "key"),
      role: "member",
      memberId,
      revoked: false,
    });
  }

  /**
   * Hashes the normalized record keys among `values` that are not hashed yet: SHA-256 over the
   * account and the key, first 128 bits as hex (lib/records.ts's documented form, written out).
   */
  async hashKeys(values: readonly (string | null)[]) {
    for (const value of values) {
      const key = normalizeKey(value);
      if (key === null || this.keyHashes.has(key)) continue;
      this.keyHashes.set(key, (await sha256Hex(`${this.accountId}\n${key}`)).slice(0, 32));
    }
  }

  /** The stored hash of a normalized key; one never hashed is the simulation's bug. */
  hashOf(key: string): string {
    const hash = this.keyHashes.get(key);
    if (hash === undefined) throw new Error(`no hash for record key ${key}`);
    return hash;
  }

  /** Runs `steps` operations, checking I1-I5 and the model after each; throws on the first failure. */
  async run(steps: number, pick: (sim: Sim) => Promise<Outcome>) {
    this.steps = steps;
    for (this.step = 1; this.step <= steps; this.step++) {
      this.now += this.rng.int(0, 1500);
      await this.checked(() => pick(this));
    }
    this.step = steps + 1;
    await this.checked(() => drain(this));
  }

  private async checked(operation: () => Promise<Outcome>) {
    try {
      const outcome = await operation();
      this.trace.push(`#${this.step} ${outcome.text}`);
      for (const f of outcome.faults ?? []) add(this.faults, f);
      const real = await readState(this.stub, this.accountId, this.clock);
      checkInvariants(real);
      outcome.after?.(real);
      checkAgainstModel(real, this.model, this.now, (key) => this.hashOf(key));
    } catch (error) {
      throw this.failure(error);
    }
  }

  private failure(error: unknown): SimulationFailure {
    const text = error instanceof Error ? error.message : String(error);
    // A thrown error that is no check's verdict: the gateway, the ledger or the driver broke.
    const message = error instanceof Violation ? text : `unexpected error: ${text}`;
    const tail = this.trace.slice(-25).map((line) => `    ${line}`);
    return new SimulationFailure(
      [
        `seed ${this.seed} failed at step ${this.step} (account ${this.accountId}):`,
        `  ${message}`,
        `  replay: npm run simulate -- --seed ${this.seed} --steps ${Math.max(1, Math.min(this.step, this.steps))}`,
        "  last operations (the failing one last, unless it threw before it finished):",
        ...tail,
      ].join("\n"),
      { cause: error },
    );
  }
}

/** The end of a run: D1 comes back and one flush must deliver every event still waiting (I5). */
async function drain(sim: Sim): Promise<Outcome> {
  if (sim.d1Down) await sim.setD1(false);
  const result = await sim.stub.flush();
  if (result.error !== null || result.pending !== 0) {
    throw new Violation(
      "I5",
      `the final flush with D1 up left ${result.pending} event(s): ${result.error}`,
    );
  }
  sim.model.flushed();
  return { text: `drain: D1 up, flush delivered ${result.flushed}` };
}
