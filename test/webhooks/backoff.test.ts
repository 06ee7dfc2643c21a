/** The retry schedule between webhook delivery attempts. */
import { describe, expect, it } from "vitest";
import { retryDelayMs, WEBHOOK_MAX_ATTEMPTS } from "../../src/webhooks/deliver";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const noJitter = () => 0.5;

describe("retryDelayMs", () => {
  it("follows the documented schedule", () => {
    // Delays after failed attempts 1..11 (attempt 12 is the last), as the comment in deliver.ts says.
    const delays = Array.from({ length: WEBHOOK_MAX_ATTEMPTS - 1 }, (_, i) =>
      retryDelayMs(i + 1, noJitter),
    );
    expect(WEBHOOK_MAX_ATTEMPTS).toBe(12);
    expect(delays).toEqual([
      30 * SECOND,
      1 * MINUTE,
      2 * MINUTE,
      4 * MINUTE,
      8 * MINUTE,
      16 * MINUTE,
      32 * MINUTE,
      64 * MINUTE,
      128 * MINUTE,
      256 * MINUTE,
      6 * HOUR,
    ]);
    // The last attempt starts 14 h 31 min 30 s after the first.
    expect(delays.reduce((a, b) => a + b, 0)).toBe(14 * HOUR + 31 * MINUTE + 30 * SECOND);
  });

  it("never decreases from one attempt to the next without jitter", () => {
    let previous = 0;
    for (let attempt = 1; attempt <= 60; attempt++) {
      const delay = retryDelayMs(attempt, noJitter);
      expect(delay).toBeGreaterThanOrEqual(previous);
      previous = delay;
    }
  });

  it("caps the base delay at 6 hours", () => {
    expect(retryDelayMs(10, noJitter)).toBe(256 * MINUTE);
    expect(retryDelayMs(11, noJitter)).toBe(6 * HOUR);
    expect(retryDelayMs(1000, noJitter)).toBe(6 * HOUR);
    expect(retryDelayMs(Number.MAX_SAFE_INTEGER, noJitter)).toBe(6 * HOUR);
  });

  it("stays within ±20 % of the base delay whatever the random source gives", () => {
    for (let attempt = 1; attempt <= 14; attempt++) {
      const base = retryDelayMs(attempt, noJitter);
      for (const r of [0, 0.001, 0.25, 0.5, 0.75, 0.999, 1, -5, 7, Number.NaN]) {
        const delay = retryDelayMs(attempt, () => r);
        expect(delay).toBeGreaterThanOrEqual(base * 0.8);
        expect(delay).toBeLessThanOrEqual(base * 1.2);
      }
    }
    expect(retryDelayMs(1, () => 0)).toBe(24 * SECOND);
    expect(retryDelayMs(1, () => 0.999_999_999)).toBe(36 * SECOND);
  });

  it("spreads retries with jitter", () => {
    const seen = new Set(Array.from({ length: 50 }, () => retryDelayMs(3, Math.random)));
    expect(seen.size).toBeGreaterThan(10);
  });

  it("treats attempts below 1 as the first", () => {
    expect(retryDelayMs(0, noJitter)).toBe(30 * SECOND);
    expect(retryDelayMs(-3, noJitter)).toBe(30 * SECOND);
  });
});
