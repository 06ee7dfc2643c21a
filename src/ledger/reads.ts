/**
 * What the request path reads on every call but only management calls, period rolls and
 * expiries change: the account row and its alert settings, keys, members, team rules, when the
 * next grant or hold lapses, the spend per clock hour (which only captures change, through it)
 * and the alert lines already fired this period. The ledger keeps one of these between
 * request-path transactions and starts a new one after any other transaction or a failed one
 * (see `LedgerState.begin`), so nothing here outlives a change it did not see, and nothing
 * lives longer than its object.
 */

import type { MemberView } from "./contract";
import { type AlertSettings, alertSettingsOf } from "./core/alerts";
import type { TeamRules } from "./core/rules";
import { type AccountRow, accountRow } from "./store/account";
import { getMember, type KeyRow, keyByHash, teamRules } from "./store/config";
import { nextGrantExpiry } from "./store/grants";
import { nextHoldExpiry } from "./store/holds";
import { SpendHours } from "./store/spend-hours";

/** Entries kept per map; past it the map starts over (bounds memory). */
const ENTRIES = 256;

function remember<K, V>(map: Map<K, V>, key: K, read: () => V): V {
  if (map.has(key)) return map.get(key) as V;
  const value = read();
  if (map.size >= ENTRIES) map.clear();
  map.set(key, value);
  return value;
}

export class CachedReads {
  /** `undefined`: not read yet. */
  private accountRow: AccountRow | null | undefined = undefined;
  private readonly keys = new Map<string, KeyRow>();
  private readonly members = new Map<string, MemberView | null>();
  private readonly rules = new Map<string, TeamRules | null>();
  /** Earliest expiry of a grant that still has credits (remaining or held); null: none. */
  private grantExpiry: number | null | undefined = undefined;
  /** Earliest expiry of a hold; may be earlier than the truth (a settled hold), never later. */
  private holdExpiry: number | null | undefined = undefined;

  /** Spend per clock hour, for the spike and forecast alerts; read on the first capture. */
  private hours: SpendHours | null = null;
  private settings: AlertSettings | undefined = undefined;
  /** Alert lines (kind, scope, line) known to have fired in one period. */
  private fired: { periodStart: number; lines: Set<string> } | null = null;

  constructor(private readonly sql: SqlStorage) {}

  spendHours(): SpendHours {
    this.hours ??= new SpendHours(this.sql);
    return this.hours;
  }

  /** The account's alert settings, parsed once. */
  alertSettings(): AlertSettings {
    this.settings ??= alertSettingsOf(this.account()?.alert_settings);
    return this.settings;
  }

  /**
   * The alert lines known to have fired in the period (the alerts table's unique key stays the
   * guarantee: a line missing here costs one insert that the table refuses). Bounded like the
   * maps: past ENTRIES * 16 lines the set starts over.
   */
  firedLines(periodStart: number): Set<string> {
    if (this.fired?.periodStart !== periodStart || this.fired.lines.size >= ENTRIES * 16) {
      this.fired = { periodStart, lines: new Set() };
    }
    return this.fired.lines;
  }

  account(): AccountRow | null {
    if (this.accountRow === undefined) this.accountRow = accountRow(this.sql);
    return this.accountRow;
  }

  /** The account as it is after entering a new period (which also issues grants). */
  enteredPeriod(row: AccountRow) {
    this.accountRow = row;
    this.grantExpiry = undefined;
  }

  /** A key by its hash; only keys that exist are kept, so unknown ones cannot fill memory. */
  key(hash: string): KeyRow | null {
    const known = this.keys.get(hash);
    if (known) return known;
    const row = keyByHash(this.sql, hash);
    if (row) remember(this.keys, hash, () => row);
    return row;
  }

  member(id: string): MemberView | null {
    return remember(this.members, id, () => getMember(this.sql, id));
  }

  teamRules(teamId: string): TeamRules | null {
    return remember(this.rules, teamId, () => teamRules(this.sql, teamId));
  }

  /** Whether a grant with credits may have lapsed by `now`; after expiring, call `grantsExpired`. */
  grantsDue(now: number): boolean {
    if (this.grantExpiry === undefined) this.grantExpiry = nextGrantExpiry(this.sql);
    return this.grantExpiry !== null && this.grantExpiry <= now;
  }

  grantsExpired() {
    this.grantExpiry = undefined;
  }

  /** Whether a hold may have lapsed by `now`; after voiding them, call `holdsExpired`. */
  holdsDue(now: number): boolean {
    if (this.holdExpiry === undefined) this.holdExpiry = nextHoldExpiry(this.sql);
    return this.holdExpiry !== null && this.holdExpiry <= now;
  }

  holdsExpired() {
    this.holdExpiry = undefined;
  }

  holdAdded(expiresAt: number) {
    if (this.holdExpiry !== undefined) {
      this.holdExpiry = Math.min(this.holdExpiry ?? expiresAt, expiresAt);
    }
  }
}
