/**
 * Which grants pay for a hold, and how a capture splits a hold between its grants.
 * Pure functions over plain data: the ledger object applies their results in one transaction.
 */
export interface SpendableGrant {
  id: string;
  remaining: number;
  priority: number;
  /** Epoch ms, or null for a grant that never expires. */
  expiresAt: number | null;
  /** Creation order: older grants have smaller seq. */
  seq: number;
}

/** Credits taken from (or returned to) one grant. */
export interface Allocation {
  grantId: string;
  amount: number;
}

/** Spending order: priority ascending, then soonest expiry (never-expiring last), then oldest. */
function compareSpendOrder(a: SpendableGrant, b: SpendableGrant): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const ae = a.expiresAt ?? Number.POSITIVE_INFINITY;
  const be = b.expiresAt ?? Number.POSITIVE_INFINITY;
  if (ae !== be) return ae < be ? -1 : 1;
  return a.seq - b.seq;
}

/**
 * Takes `amount` from the grants in spending order. Returns null when they cannot cover it:
 * a hold is all or nothing.
 */
export function allocate(grants: readonly SpendableGrant[], amount: number): Allocation[] | null {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`bad amount ${amount}`);
  const ordered = [...grants].sort(compareSpendOrder);
  const allocations: Allocation[] = [];
  let left = amount;
  for (const grant of ordered) {
    if (left === 0) break;
    if (grant.remaining <= 0) continue;
    const take = Math.min(grant.remaining, left);
    allocations.push({ grantId: grant.id, amount: take });
    left -= take;
  }
  return left === 0 ? allocations : null;
}

/**
 * Splits a hold's allocations into the part captured and the part released. The capture takes
 * from the allocations in the order they were made (the spending order at hold time), so the
 * credits released go back to the grants that would have been spent last.
 */
export function splitCapture(
  allocations: readonly Allocation[],
  capture: number,
): { captured: Allocation[]; released: Allocation[] } {
  const total = allocations.reduce((sum, a) => sum + a.amount, 0);
  if (!Number.isSafeInteger(capture) || capture < 0 || capture > total) {
    throw new RangeError(`capture ${capture} outside 0..${total}`);
  }
  const captured: Allocation[] = [];
  const released: Allocation[] = [];
  let left = capture;
  for (const a of allocations) {
    const take = Math.min(a.amount, left);
    left -= take;
    if (take > 0) captured.push({ grantId: a.grantId, amount: take });
    if (a.amount - take > 0) released.push({ grantId: a.grantId, amount: a.amount - take });
  }
  return { captured, released };
}

/** Total credits of a list of allocations. */
export function sumAllocations(allocations: readonly Allocation[]): number {
  return allocations.reduce((sum, a) => sum + a.amount, 0);
}

/** Credits left in the given spendable grants. */
export function sumRemaining(grants: readonly SpendableGrant[]): number {
  let total = 0;
  for (const g of grants) total += g.remaining;
  return total;
}

/** Sums allocations per grant, for an event's provenance. */
export function mergeAllocations(allocations: readonly Allocation[]): Allocation[] {
  const byGrant = new Map<string, number>();
  for (const a of allocations) byGrant.set(a.grantId, (byGrant.get(a.grantId) ?? 0) + a.amount);
  return [...byGrant].map(([grantId, amount]) => ({ grantId, amount }));
}
