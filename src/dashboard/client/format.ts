/** How the dashboard writes numbers and times: integer credits with separators, times in UTC. */

export const DAY_MS = 86_400_000;

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

/** Credits (integers) with thousands separators: 12,345. */
export function credits(value: number): string {
  return integer.format(value);
}

/** A rate or share with up to two decimals. */
export function decimals(value: number): string {
  return decimal.format(value);
}

/** `2026-07-14` (UTC) of an instant. */
export function day(at: number | string | Date): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** `2026-07-14 09:30 UTC`. */
export function dateTime(at: number | string | Date): string {
  const iso = new Date(at).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** UTC midnight of the day of `at`, in ms. */
export function startOfDay(at: number): number {
  const d = new Date(at);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** Every UTC day (`YYYY-MM-DD`) that starts in [from, to). */
export function daysBetween(from: number, to: number): string[] {
  const days: string[] = [];
  for (let t = startOfDay(from); t < to; t += DAY_MS) {
    if (t >= from || days.length === 0) days.push(day(t));
  }
  return days;
}

/** Plural-aware count: "1 call", "3 calls". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${credits(n)} ${n === 1 ? one : many}`;
}

/** Money in a currency, to cents as the value report gives it: "$1,237.50", "€3.10". */
export function money(value: number, currency: string): string {
  return new Intl.NumberFormat("en-US", {
    style: "currency",
    currency,
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  }).format(value);
}
