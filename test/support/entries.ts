/**
 * I2 per grant, from the append-only entries alone: what each bucket of each grant (amount,
 * remaining, held, captured, expired) must be if every change to it wrote its entry, and the
 * check that the stored grants agree. A change to a grant that skips its entry, or writes the
 * wrong one, fails here.
 */
import { expect } from "vitest";
import type { GrantView } from "../../src/ledger/contract";

export type Buckets = Pick<GrantView, "amount" | "remaining" | "held" | "captured" | "expired">;

/** One row of the `entries` table, or a sum of rows of one grant, kind and reason. */
export interface EntryRow {
  grant_id: string;
  kind: string;
  amount: number;
  reason: string | null;
}

/** Every entry of the ledger, oldest first. */
export function readEntries(sql: SqlStorage): EntryRow[] {
  return sql
    .exec<{ grant_id: string; kind: string; amount: number; reason: string | null }>(
      "SELECT grant_id, kind, amount, reason FROM entries ORDER BY seq",
    )
    .toArray()
    .map((r) => ({ ...r }));
}

/**
 * Each grant's buckets as its entries say they are: issue adds to amount and remaining; hold
 * moves remaining to held, capture held to captured, void held back to remaining, expire
 * remaining to expired; adjust grows (limit_raised) or shrinks (limit_lowered) amount and
 * remaining together.
 */
export function bucketsFromEntries(rows: Iterable<EntryRow>): Map<string, Buckets> {
  const out = new Map<string, Buckets>();
  for (const e of rows) {
    const b = out.get(e.grant_id) ?? { amount: 0, remaining: 0, held: 0, captured: 0, expired: 0 };
    const a = e.amount;
    switch (e.kind) {
      case "issue":
        b.amount += a;
        b.remaining += a;
        break;
      case "hold":
        b.remaining -= a;
        b.held += a;
        break;
      case "capture":
        b.held -= a;
        b.captured += a;
        break;
      case "void":
        b.held -= a;
        b.remaining += a;
        break;
      case "expire":
        b.remaining -= a;
        b.expired += a;
        break;
      case "adjust": {
        const sign = e.reason === "limit_lowered" ? -1 : 1;
        b.amount += sign * a;
        b.remaining += sign * a;
        break;
      }
      default:
        throw new Error(`unknown entry kind ${e.kind}`);
    }
    out.set(e.grant_id, b);
  }
  return out;
}

/** Every bucket of every grant equals what its entries add up to, and no entry names another grant. */
export function expectGrantsMatchEntries(grants: readonly GrantView[], rows: Iterable<EntryRow>) {
  const entries = bucketsFromEntries(rows);
  for (const g of grants) {
    const { amount, remaining, held, captured, expired } = g;
    expect(
      { id: g.id, amount, remaining, held, captured, expired },
      "a grant beside its entries",
    ).toEqual({
      id: g.id,
      ...entries.get(g.id),
    });
  }
  expect([...entries.keys()].sort()).toEqual(grants.map((g) => g.id).sort());
}
