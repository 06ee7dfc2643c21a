/** Epoch milliseconds to an ISO 8601 UTC string. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Like `iso`, for nullable times. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}
