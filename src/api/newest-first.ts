/**
 * Newest-first keyset pages over rows ordered by (time, id) desc: the alerts and the webhook
 * delivery log. The cursor is `<time ms>.<id>` of the last row shown.
 */
import { Problem } from "../lib/problem";

export interface Position {
  at: number;
  id: string;
}

/** Where the page starts: after the cursor's row, or at the newest. Refuses what is no cursor. */
export function positionOf(cursor: string | undefined, idPrefix: string): Position | null {
  if (cursor === undefined) return null;
  const match = new RegExp(`^(\\d{1,15})\\.(${idPrefix}_[A-Za-z0-9]{1,40})$`).exec(cursor);
  if (!match) throw new Problem("bad_request", "The cursor is not valid.");
  return { at: Number(match[1]), id: match[2] as string };
}

/**
 * A page of `limit` from rows read with `limit + 1` (so whether more follow is known), and the
 * cursor of the next page.
 */
export function pageOf<T extends { id: string }>(
  rows: T[],
  limit: number,
  timeOf: (row: T) => string,
): { data: T[]; nextCursor: string | null } {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  const nextCursor = rows.length > limit && last ? `${Date.parse(timeOf(last))}.${last.id}` : null;
  return { data, nextCursor };
}
