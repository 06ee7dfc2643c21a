/**
 * Routine priced calls get a log line only one in `1 / REQUEST_LOG_SAMPLE` (wrangler.toml ships
 * 0.01): their usage events record each of them exactly, and a line per call costs CPU on every
 * call and a log event each in Workers Logs (issue 18). Everything else is always logged:
 * denials, errors, failed upstreams and settlements, management requests.
 */
import {
  createExecutionContext,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
  waitOnExecutionContext,
} from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { closeScope, openScope } from "../../src/lib/request-scope";
import { settingsOf } from "../../src/lib/settings";
import { balance, bearer, setupAccount } from "../support/api";
import { testApp } from "../support/test-catalog";

afterEach(() => vi.restoreAllMocks());

type Line = Record<string, unknown>;

function captureLines(): Line[] {
  const lines: Line[] = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    if (typeof line === "string" && line.startsWith("{")) lines.push(JSON.parse(line) as Line);
  });
  return lines;
}

/** Sends through the app with the given share of routine calls logged. */
function client(sample: string) {
  const sampled = { ...env, REQUEST_LOG_SAMPLE: sample };
  return async (path: string, init: RequestInit = {}) => {
    const ctx = createExecutionContext();
    const res = await testApp.fetch(new Request(`https://gateway.test${path}`, init), sampled, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
}

const ONE = { method: "POST", body: JSON.stringify({ records: [{ domain: "acme.example" }] }) };

describe("request log sampling", () => {
  it("logs one routine call in ten at 0.1, and every call is still charged", async () => {
    const account = await setupAccount();
    const before = (await balance(account.adminKey)).available;
    const send = client("0.1");
    const lines = captureLines();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await send("/v1/test/one", {
        ...ONE,
        headers: { ...bearer(account.memberKey), "content-type": "application/json" },
      });
      expect(res.status).toBe(200);
      ids.push(res.headers.get("x-request-id") ?? "");
    }
    // Whatever calls came before in this isolate, 30 in a row hold exactly 3 tenths.
    const routine = lines.filter((l) => ids.includes(String(l.requestId)));
    expect(routine).toHaveLength(3);
    for (const line of routine) {
      expect(line).toMatchObject({ decision: "forwarded", status: 200, credits: 1, sampled: 10 });
    }
    expect((await balance(account.adminKey)).available).toBe(before - 30);
  });

  it("always logs denials, failed upstreams and management requests", async () => {
    const account = await setupAccount();
    const send = client("0");
    const lines = captureLines();
    const member = { ...bearer(account.memberKey), "content-type": "application/json" };
    const answers = {
      routine: await send("/v1/test/one", { ...ONE, headers: member }),
      // Spent at admission (on_request), and one that Hono routes (an escaped letter).
      onRequest: await send("/v1/test/drain?credits=2", { ...ONE, headers: member }),
      routed: await send("/v1/test/%6Fne", { ...ONE, headers: member }),
      quote: await send("/v1/test/one", {
        ...ONE,
        headers: { ...member, "x-credit-dry-run": "true" },
      }),
      denied: await send("/v1/test/one", {
        ...ONE,
        // A key of the account's shape that the ledger does not know: its refusal.
        headers: {
          ...member,
          authorization: `Bearer ${account.memberKey.slice(0, -1)}${account.memberKey.endsWith("x") ? "y" : "x"}`,
        },
      }),
      failed: await send("/v1/test/one", {
        ...ONE,
        headers: { ...member, "x-chaos-status": "500" },
      }),
      // Not charged (voided) though the client sees no error.
      redirected: await send("/v1/test/one", {
        ...ONE,
        headers: { ...member, "x-chaos-status": "302" },
      }),
      management: await send("/v1/balance", { headers: bearer(account.adminKey) }),
    };
    const logged = (res: Response) =>
      lines.filter((l) => l.requestId === res.headers.get("x-request-id"));
    for (const quiet of [answers.routine, answers.onRequest, answers.routed, answers.quote]) {
      expect(quiet.status).toBe(200);
      expect(logged(quiet)).toHaveLength(0);
    }
    expect(Number(answers.onRequest.headers.get("x-credits-charged"))).toBe(2);
    expect(Number(answers.routed.headers.get("x-credits-charged"))).toBe(1);
    expect(logged(answers.denied)).toEqual([
      expect.objectContaining({ status: 401, decision: "denied", reason: "invalid_key" }),
    ]);
    expect(logged(answers.failed)).toEqual([
      expect.objectContaining({ status: 500, decision: "forwarded", upstreamStatus: 500 }),
    ]);
    expect(logged(answers.redirected)).toEqual([
      expect.objectContaining({ status: 302, credits: 0, upstreamStatus: 302 }),
    ]);
    expect(logged(answers.management)).toEqual([
      expect.objectContaining({ status: 200, path: "/v1/balance" }),
    ]);
    for (const line of lines) expect(line).not.toHaveProperty("sampled");
  });

  it("always logs a call whose hold was gone when it came to settle", async () => {
    const account = await setupAccount();
    const send = client("0");
    const lines = captureLines();
    const ledger = env.LEDGER.get(env.LEDGER.idFromName(account.id));
    const slow = send("/v1/test/one", {
      ...ONE,
      headers: {
        ...bearer(account.memberKey),
        "content-type": "application/json",
        "x-chaos-delay-ms": "400",
      },
    });
    // While the upstream works, the ledger's alarm runs past the hold's time to live.
    await new Promise((r) => setTimeout(r, 150));
    expect((await balance(account.adminKey)).held).toBe(1);
    await runInDurableObject(ledger, (instance) => {
      const base = Date.now();
      instance.clock = () => base + 61_000;
    });
    await runDurableObjectAlarm(ledger);
    await runInDurableObject(ledger, (instance) => {
      instance.clock = () => Date.now();
    });
    const res = await slow;
    expect(res.status).toBe(200);
    expect(res.headers.get("x-credits-charged")).toBe("0");
    expect(lines.filter((l) => l.requestId === res.headers.get("x-request-id"))).toEqual([
      expect.objectContaining({ decision: "forwarded", credits: 0, holdLost: true }),
    ]);
  });

  it("always logs a routine-looking call that failed to settle or recorded an error", () => {
    const lines = captureLines();
    const ok = { decision: "forwarded", settled: true, credits: 1 };
    const cases: Line[] = [
      { ...ok, settleError: "attempt 1: ledger reset" },
      { ...ok, settled: true, holdLost: true },
      { ...ok, settled: false },
      { ...ok, error: "admit: ledger reset" },
    ];
    for (const log of cases) {
      const scope = openScope(0);
      Object.assign(scope.log, log);
      closeScope(scope, "POST", "/v1/test/one", new Response("{}", { status: 200 }));
    }
    const routine = openScope(0);
    Object.assign(routine.log, ok);
    closeScope(routine, "POST", "/v1/test/one", new Response("{}", { status: 200 }));
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => l.requestId)).not.toContain(routine.requestId);
  });

  it("reads the share from the environment: 1 in 100 unless it says otherwise", () => {
    const of = (value: string | undefined) =>
      settingsOf({ ...env, REQUEST_LOG_SAMPLE: value } as Env).requestLogSample;
    expect(of("0.01")).toBe(0.01);
    expect(openScope(of("0.01")).logEvery).toBe(100);
    expect(openScope(of("0.3")).logEvery).toBe(3);
    expect(openScope(of("1")).logEvery).toBe(1);
    expect(openScope(of("0")).logEvery).toBe(0);
    // Missing or not a share: the shipped default.
    for (const bad of [undefined, "", "2", "-0.5", "often"]) expect(of(bad)).toBe(0.01);
  });
});
