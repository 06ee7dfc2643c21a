/**
 * The model's books: grants and the credits that move between their buckets, holds, per-period
 * spend counters by scope, and the usage events with where each one is (outbox, D1).
 */
import type { Allocation, MEvent, MGrant, MHold, Scope, Spend } from "./types";

/** Grants, holds, counters and events, and the moves between them that every decision uses. */
export class Books {
  grants: MGrant[] = [];
  holds: MHold[] = [];
  counters = new Map<string, Spend>();
  events = new Map<string, MEvent>();

  // ---- grants ----------------------------------------------------------------------------

  protected lapsed(g: MGrant, now: number): boolean {
    return g.expiresAt !== null && g.expiresAt <= now;
  }

  /** Grants that can pay now, in spending order: priority, soonest expiry, oldest. */
  spendable(now: number): MGrant[] {
    return this.grants
      .filter((g) => g.remaining > 0 && g.effectiveAt <= now && !this.lapsed(g, now))
      .sort(
        (a, b) =>
          a.priority - b.priority ||
          (a.expiresAt ?? Number.POSITIVE_INFINITY) - (b.expiresAt ?? Number.POSITIVE_INFINITY) ||
          a.seq - b.seq,
      );
  }

  available(now: number): number {
    return this.spendable(now).reduce((sum, g) => sum + g.remaining, 0);
  }

  grant(seq: number): MGrant {
    const g = this.grants.find((x) => x.seq === seq);
    if (!g) throw new Error(`model has no grant #${seq}`);
    return g;
  }

  issue(g: Omit<MGrant, "seq" | "remaining" | "held" | "captured" | "expired">): MGrant {
    const grant = {
      ...g,
      seq: this.grants.length + 1,
      remaining: g.amount,
      held: 0,
      captured: 0,
      expired: 0,
    };
    this.grants.push(grant);
    return grant;
  }

  protected expireGrants(now: number) {
    for (const g of this.grants) {
      if (this.lapsed(g, now) && g.remaining > 0) {
        g.expired += g.remaining;
        g.remaining = 0;
      }
    }
  }

  /** Moves `amount` from remaining to held, in spending order; all or nothing. */
  protected take(now: number, amount: number): Allocation[] {
    const out: Allocation[] = [];
    let left = amount;
    for (const g of this.spendable(now)) {
      if (left === 0) break;
      const t = Math.min(g.remaining, left);
      g.remaining -= t;
      g.held += t;
      left -= t;
      out.push({ seq: g.seq, amount: t });
    }
    if (left !== 0) throw new Error("model: allocation past the balance");
    return out;
  }

  /** Held credits go back; a grant that lapsed meanwhile takes them straight to expired. */
  protected release(now: number, allocations: readonly Allocation[]) {
    for (const a of allocations) {
      const g = this.grant(a.seq);
      g.held -= a.amount;
      if (this.lapsed(g, now)) g.expired += a.amount;
      else g.remaining += a.amount;
    }
  }

  /** Moves held credits to captured. */
  protected captureHeld(allocations: readonly Allocation[]) {
    for (const a of allocations) {
      const g = this.grant(a.seq);
      g.held -= a.amount;
      g.captured += a.amount;
    }
  }

  // ---- counters ---------------------------------------------------------------------------

  spend(period: number, scope: Scope, id: string): Spend {
    return this.counters.get(`${period}|${scope}|${id}`) ?? { captured: 0, held: 0 };
  }

  /** The four scopes a hold counts against. */
  protected scopesOf(h: { teamId: string; memberId: string; actionId: string }): [Scope, string][] {
    return [
      ["account", "*"],
      ["team", h.teamId],
      ["member", h.memberId],
      ["action", h.actionId],
    ];
  }

  protected addSpend(period: number, hold: MHold, change: Spend) {
    for (const [scope, id] of this.scopesOf(hold)) {
      const s = this.spend(period, scope, id);
      this.counters.set(`${period}|${scope}|${id}`, {
        captured: s.captured + change.captured,
        held: s.held + change.held,
      });
    }
  }

  // ---- usage events -----------------------------------------------------------------------

  protected event(e: Omit<MEvent, "inOutbox" | "inD1">) {
    if (this.events.has(e.requestId)) throw new Error(`model: second event for ${e.requestId}`);
    this.events.set(e.requestId, { ...e, inOutbox: true, inD1: false });
  }

  /** A flush that D1 accepted: everything waiting is in D1 and leaves the outbox. */
  flushed() {
    for (const e of this.events.values()) {
      if (e.inOutbox) {
        e.inOutbox = false;
        e.inD1 = true;
      }
    }
  }

  /** D1 took the waiting events but the ledger never heard back: they stay in the outbox too. */
  copiedWithoutAck() {
    for (const e of this.events.values()) if (e.inOutbox) e.inD1 = true;
  }

  waiting(): number {
    return [...this.events.values()].filter((e) => e.inOutbox).length;
  }
}
