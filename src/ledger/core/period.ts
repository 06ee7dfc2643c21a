/**
 * Billing periods run monthly from the account's anchor day (UTC). An anchor past the end of a
 * short month falls on that month's last day: anchor 31 gives Feb 28 (29 in leap years).
 */
export interface Period {
  /** Inclusive start, epoch milliseconds. */
  start: number;
  /** Exclusive end, epoch milliseconds. */
  end: number;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** The start of the period that begins in the given month (month may overflow either way). */
function startInMonth(anchorDay: number, year: number, month: number): number {
  const first = new Date(Date.UTC(year, month, 1));
  const y = first.getUTCFullYear();
  const m = first.getUTCMonth();
  return Date.UTC(y, m, Math.min(anchorDay, daysInMonth(y, m)));
}

/** The period that contains `now`. */
export function periodAt(anchorDay: number, now: number): Period {
  if (!Number.isInteger(anchorDay) || anchorDay < 1 || anchorDay > 31) {
    throw new RangeError(`billing anchor day must be 1..31, got ${anchorDay}`);
  }
  const d = new Date(now);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth();
  let start = startInMonth(anchorDay, year, month);
  let startMonth = month;
  if (now < start) {
    startMonth = month - 1;
    start = startInMonth(anchorDay, year, startMonth);
  }
  return { start, end: startInMonth(anchorDay, year, startMonth + 1) };
}
