/** Time units in milliseconds, and epoch milliseconds as ISO 8601 UTC text. */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Epoch milliseconds to an ISO 8601 UTC string. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Like `iso`, for nullable times. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}
