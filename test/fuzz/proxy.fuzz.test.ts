/**
 * Property-based fuzzing of the priced proxy (SPEC §3, I4, I7): calls to every catalog action
 * spelled with path tricks, with hostile methods, queries, headers, credentials and bodies,
 * trickled or broken body streams, Content-Lengths that lie, and upstreams that fail; and calls
 * on paths assembled from the catalog's segments and every encoding trick. proxy-oracle.ts
 * judges each: refused cleanly, quoted, or forwarded once at its action's price.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ledgerState, runs, send, url } from "./harness";
import { proxyCase } from "./proxy-model";
import { judge, type Verdict } from "./proxy-oracle";
import { soupCase } from "./proxy-paths";
import { createProxyFixture, type ProxyFixture } from "./proxy-request";

const RUNS_ACTIONS = 400;
const RUNS_SOUP = 200;
/** Each takes up to a quarter of a second. */
const RUNS_STREAM = 10;

describe("fuzzing the proxy", { timeout: 120_000 }, () => {
  let f: ProxyFixture;

  beforeAll(async () => {
    f = await createProxyFixture();
    // One JSON log line per request would bury fast-check's report of a failure.
    vi.spyOn(console, "log").mockImplementation(() => undefined);
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it("every call to a catalog action is refused cleanly, quoted, or forwarded at its price", async () => {
    const seen: Record<Verdict, number> = { refused: 0, quoted: 0, forwarded: 0 };
    await fc.assert(
      fc.asyncProperty(proxyCase, async (c) => {
        seen[await judge(c, f)] += 1;
      }),
      runs(RUNS_ACTIONS),
    );

    // A fuzzer that only ever forwards, or only ever refuses, tests half the oracle.
    expect(seen.forwarded).toBeGreaterThan(RUNS_ACTIONS / 10);
    expect(seen.refused).toBeGreaterThan(RUNS_ACTIONS / 10);
  });

  it("a call on any path is refused, or priced as the action whose upstream path it reached", async () => {
    const seen: Record<Verdict, number> = { refused: 0, quoted: 0, forwarded: 0 };
    await fc.assert(
      fc.asyncProperty(soupCase, async (c) => {
        seen[await judge(c, f)] += 1;
      }),
      runs(RUNS_SOUP),
    );

    expect(seen.forwarded).toBeGreaterThan(0);
  });

  it("charges an answer that streams in slowly only if it arrives whole", async () => {
    const arb = fc.record({
      pieces: fc.integer({ min: 1, max: 4 }),
      delayMs: fc.integer({ min: 0, max: 60 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ pieces, delayMs }) => {
        const captured = async () =>
          ((await ledgerState(f.accountId)).grants as Record<string, number>[]).reduce(
            (sum, g) => sum + Number(g.captured),
            0,
          );
        const before = await captured();
        const res = await send(
          new Request(url("/v1/fuzz/stream"), {
            method: "POST",
            headers: {
              authorization: `Bearer ${f.core.key}`,
              "content-type": "application/json",
              "x-fuzz-pieces": String(pieces),
              "x-fuzz-delay-ms": String(delayMs),
            },
            body: "{}",
          }),
        );
        const body = await res.text().catch((error: unknown) => `(aborted: ${String(error)})`);
        const charged = (await captured()) - before;
        const whole = Array.from({ length: pieces }, (_, i) => `piece ${i}\n`).join("");
        if (res.status === 200 && body === whole) expect(charged).toBe(5);
        else expect(charged, `charged for ${res.status} ${body.slice(0, 120)}`).toBe(0);
      }),
      runs(RUNS_STREAM),
    );
  });
});
