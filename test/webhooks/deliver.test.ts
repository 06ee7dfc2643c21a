/** One webhook delivery attempt against fake receivers: what counts as delivered, and what not. */
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { type DeliveryResult, deliverWebhook } from "../../src/webhooks/deliver";
import { newWebhookSecret } from "../../src/webhooks/sign";

const SECRET = newWebhookSecret();
const TARGET = { url: "https://hooks.example.org/creditgate", secret: SECRET };
const BODY = JSON.stringify({ type: "alert.threshold", data: { percent: 80 } });
const message = () => ({ id: "msg_test1", timestamp: Math.floor(Date.now() / 1000), body: BODY });

const answer =
  (status: number, body: BodyInit | null = null, headers: HeadersInit = {}) =>
  async () =>
    new Response(body, { status, headers });

function expectNoSecret(result: DeliveryResult): void {
  const text = JSON.stringify(result);
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(SECRET.slice("whsec_".length));
}

describe("deliverWebhook", () => {
  it("POSTs the exact body with the signed headers", async () => {
    const seen: Request[] = [];
    const msg = message();
    const result = await deliverWebhook(
      async (req) => {
        seen.push(req);
        return new Response(null, { status: 204 });
      },
      TARGET,
      msg,
    );
    expect(result).toMatchObject({ ok: true, status: 204, error: null });
    const [req] = seen;
    if (req === undefined) throw new Error("no request was made");
    expect(req.method).toBe("POST");
    expect(req.url).toBe(TARGET.url);
    expect(req.redirect).toBe("manual");
    expect(req.headers.get("content-type")).toBe("application/json");
    expect(req.headers.get("webhook-id")).toBe(msg.id);
    expect(req.headers.get("webhook-timestamp")).toBe(String(msg.timestamp));
    expect(req.headers.get("webhook-signature")).toMatch(/^v1,/);
    const body = await req.text();
    expect(body).toBe(BODY);
    // What the receiver got verifies with the reference library.
    const headers = Object.fromEntries(req.headers);
    expect(new Webhook(SECRET).verify(body, headers)).toEqual(JSON.parse(BODY));
  });

  it.each([200, 201, 202, 299])("counts %i as delivered", async (status) => {
    const result = await deliverWebhook(answer(status, "thanks"), TARGET, message());
    expect(result).toMatchObject({ ok: true, status, error: null });
    expect(result.ms).toBeGreaterThanOrEqual(0);
  });

  it.each([
    [500, "HTTP 500"],
    [503, "HTTP 503"],
    [404, "HTTP 404"],
    [410, "HTTP 410"],
    [429, "HTTP 429"],
    [400, "HTTP 400"],
  ])("counts %i as a failure", async (status, error) => {
    const result = await deliverWebhook(answer(status, "nope"), TARGET, message());
    expect(result).toMatchObject({ ok: false, status, error });
    expectNoSecret(result);
  });

  it.each([301, 302, 307, 308])("does not follow a %i redirect", async (status) => {
    const calls: string[] = [];
    const result = await deliverWebhook(
      async (req) => {
        calls.push(req.url);
        return new Response(null, { status, headers: { location: "https://elsewhere.example/" } });
      },
      TARGET,
      message(),
    );
    expect(result).toMatchObject({ ok: false, status, error: `redirect ${status}` });
    expect(calls).toEqual([TARGET.url]);
  });

  it("reports a refused connection without the runtime's message", async () => {
    const result = await deliverWebhook(
      async () => {
        throw new TypeError(`connect ECONNREFUSED 10.0.0.1:443 (secret ${SECRET})`);
      },
      TARGET,
      message(),
    );
    expect(result).toMatchObject({ ok: false, status: null, error: "connection refused" });
    expectNoSecret(result);
  });

  it("reports any other network error as a failed connection", async () => {
    const result = await deliverWebhook(
      async () => {
        throw new TypeError("Network connection lost.");
      },
      TARGET,
      message(),
    );
    expect(result).toMatchObject({ ok: false, status: null, error: "connection failed" });
  });

  it("gives up on a receiver that never answers after the timeout", async () => {
    let signal: AbortSignal | undefined;
    const started = Date.now();
    const result = await deliverWebhook(
      (req) => {
        signal = req.signal;
        return new Promise<Response>(() => {});
      },
      TARGET,
      message(),
      50,
    );
    expect(result).toMatchObject({ ok: false, status: null, error: "timeout" });
    expect(Date.now() - started).toBeLessThan(2000);
    // The request is aborted, so a real fetch stops too.
    expect(signal?.aborted).toBe(true);
  });

  it("reports a fetch aborted by the timeout as a timeout", async () => {
    const result = await deliverWebhook(
      (req) =>
        new Promise<Response>((_, reject) => {
          req.signal.addEventListener("abort", () =>
            reject(new DOMException("aborted", "AbortError")),
          );
        }),
      TARGET,
      message(),
      50,
    );
    expect(result).toMatchObject({ ok: false, status: null, error: "timeout" });
  });

  it("keeps a 2xx whose body then stalls", async () => {
    const stalled = new ReadableStream<Uint8Array>({ start: () => {} });
    const result = await deliverWebhook(answer(200, stalled), TARGET, message(), 50);
    expect(result).toMatchObject({ ok: true, status: 200, error: null });
  });

  it("reads at most about 4 KiB of a large answer and cancels the rest", async () => {
    let pulled = 0;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      // Yields between chunks, so a reader without a limit runs into the timeout instead of
      // starving the event loop.
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        pulled += 1024;
        controller.enqueue(new Uint8Array(1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    const result = await deliverWebhook(answer(200, endless), TARGET, message(), 500);
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThanOrEqual(8 * 1024);
  });

  it("does not fail on an answer whose body breaks", async () => {
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.error(new Error("reset"));
      },
    });
    const result = await deliverWebhook(answer(503, broken), TARGET, message());
    expect(result).toMatchObject({ ok: false, status: 503, error: "HTTP 503" });
  });

  it("refuses a bad secret without calling the receiver or echoing it", async () => {
    let called = false;
    const bad = "whsec_not-a-valid-secret-value";
    const result = await deliverWebhook(
      async () => {
        called = true;
        return new Response(null);
      },
      { ...TARGET, secret: bad },
      message(),
    );
    expect(called).toBe(false);
    expect(result).toMatchObject({ ok: false, status: null });
    expect(JSON.stringify(result)).not.toContain(bad);
  });

  it("refuses an unusable URL without throwing", async () => {
    const result = await deliverWebhook(answer(200), { ...TARGET, url: "not a url" }, message());
    expect(result).toMatchObject({ ok: false, status: null, error: "invalid webhook URL" });
  });

  it("keeps the id and body across attempts and signs each attempt's own timestamp", async () => {
    const requests: Request[] = [];
    const fetcher = async (req: Request) => {
      requests.push(req);
      return new Response(null, { status: requests.length < 3 ? 503 : 200 });
    };
    const id = "msg_retry1";
    const results = [];
    for (const timestamp of [1767225600, 1767225630, 1767225690]) {
      results.push(await deliverWebhook(fetcher, TARGET, { id, timestamp, body: BODY }));
    }
    expect(results.map((r) => r.ok)).toEqual([false, false, true]);
    expect(requests.map((r) => r.headers.get("webhook-id"))).toEqual([id, id, id]);
    expect(requests.map((r) => r.headers.get("webhook-timestamp"))).toEqual([
      "1767225600",
      "1767225630",
      "1767225690",
    ]);
    expect(new Set(requests.map((r) => r.headers.get("webhook-signature"))).size).toBe(3);
    expect(await Promise.all(requests.map((r) => r.text()))).toEqual([BODY, BODY, BODY]);
  });
});
