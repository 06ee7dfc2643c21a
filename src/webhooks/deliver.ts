/**
 * One webhook delivery attempt, and the backoff between attempts. The ledger's alarm calls these:
 * a message keeps its id and body across attempts (at-least-once with the same `webhook-id`,
 * which receivers use as an idempotency key); each attempt is signed with its own timestamp,
 * because receivers reject timestamps older than a few minutes.
 */
import { webhookHeaders } from "./sign";

/** Attempts per message, the first included; after the last failure the message is given up. */
export const WEBHOOK_MAX_ATTEMPTS = 12;
/** Default time for one attempt, response body included. */
const WEBHOOK_TIMEOUT_MS = 10_000;

const FIRST_RETRY_MS = 30_000;
const MAX_RETRY_MS = 6 * 60 * 60 * 1000;
const JITTER = 0.2;
/** Reading stops, and the body is cancelled, once this many response bytes are in. */
const RESPONSE_READ_LIMIT = 4096;

/** What one attempt came to: `ok` only for a 2xx; `error` is a short reason, never a secret. */
export interface DeliveryResult {
  ok: boolean;
  status: number | null;
  error: string | null;
  ms: number;
}

/** Where to deliver, with the account's `whsec_` signing secret. */
export interface WebhookTarget {
  url: string;
  secret: string;
}

/** The message: the same `id` and `body` on every attempt; `timestamp` (Unix s) of this attempt. */
export interface WebhookMessage {
  id: string;
  timestamp: number;
  body: string;
}

/**
 * Delay before the next attempt after attempt `attempt` (1-based) failed: 30 s doubling per
 * attempt, the base capped at 6 h, times a jitter factor in [0.8, 1.2) from `random` in [0, 1).
 * Without jitter the schedule of WEBHOOK_MAX_ATTEMPTS = 12 is:
 *
 *   attempt  1  immediately      (0:00:00 after the first try)
 *   attempt  2  30 s later       (0:00:30)
 *   attempt  3   1 min later     (0:01:30)
 *   attempt  4   2 min later     (0:03:30)
 *   attempt  5   4 min later     (0:07:30)
 *   attempt  6   8 min later     (0:15:30)
 *   attempt  7  16 min later     (0:31:30)
 *   attempt  8  32 min later     (1:03:30)
 *   attempt  9  64 min later     (2:07:30)
 *   attempt 10  128 min later    (4:15:30)
 *   attempt 11  256 min later    (8:31:30)
 *   attempt 12  6 h later (cap)  (14:31:30)  -> if it fails too, the message is given up
 *
 * so a receiver may be down for about 14 and a half hours (11.6 to 17.4 h with jitter) and
 * still get every message.
 */
export function retryDelayMs(attempt: number, random: () => number): number {
  const exponent = Math.min(Math.max(Math.floor(attempt), 1) - 1, 30);
  const base = Math.min(FIRST_RETRY_MS * 2 ** exponent, MAX_RETRY_MS);
  const drawn = random();
  const r = Number.isFinite(drawn) ? Math.min(Math.max(drawn, 0), 1) : 0.5;
  return Math.round(base * (1 - JITTER + 2 * JITTER * r));
}

/**
 * POSTs one signed attempt through `fetcher` and reports how it went. Never throws. Redirects are
 * not followed (a 3xx is a failure: receivers must answer 2xx at the URL they gave), at most
 * 4 KiB of the answer is read, and the whole exchange is bounded by `timeoutMs`.
 */
export async function deliverWebhook(
  fetcher: (req: Request) => Promise<Response>,
  target: WebhookTarget,
  message: WebhookMessage,
  timeoutMs = WEBHOOK_TIMEOUT_MS,
): Promise<DeliveryResult> {
  const started = Date.now();
  const result = (status: number | null, error: string | null): DeliveryResult => ({
    ok: status !== null && status >= 200 && status <= 299,
    status,
    error,
    ms: Date.now() - started,
  });

  let headers: Awaited<ReturnType<typeof webhookHeaders>>;
  try {
    headers = await webhookHeaders(target.secret, message.id, message.timestamp, message.body);
  } catch {
    return result(null, "invalid webhook secret or message");
  }
  let request: Request;
  const controller = new AbortController();
  try {
    request = new Request(target.url, {
      method: "POST",
      headers: { ...headers },
      body: message.body,
      redirect: "manual",
      signal: controller.signal,
    });
  } catch {
    return result(null, "invalid webhook URL");
  }

  // Set once the answer's status line is in: a body that then stalls does not undo the answer.
  const seen: { status: number | null } = { status: null };
  const exchange = (async () => {
    const response = await fetcher(request);
    seen.status = response.status;
    await readAtMost(response.body, RESPONSE_READ_LIMIT);
  })();
  const timedOut = new Promise<"timeout">((resolve) => {
    controller.signal.addEventListener("abort", () => resolve("timeout"));
  });
  const timer = setTimeout(() => controller.abort(), timeoutMs);

  try {
    const outcome = await Promise.race([exchange.then(() => "answered" as const), timedOut]);
    if (outcome === "timeout" && seen.status === null) return result(null, "timeout");
  } catch (error) {
    if (seen.status === null) {
      return result(null, controller.signal.aborted ? "timeout" : connectionError(error));
    }
  } finally {
    clearTimeout(timer);
    // A fetcher that ignores the abort may still settle later: nothing is waiting for it.
    exchange.catch(() => {});
  }
  return result(seen.status, statusError(seen.status));
}

function statusError(status: number | null): string | null {
  if (status === null) return "no response";
  if (status >= 200 && status <= 299) return null;
  if (status >= 300 && status <= 399) return `redirect ${status}`;
  return `HTTP ${status}`;
}

/** A fixed phrase, not the runtime's message: that is for logs, not the account's delivery log. */
function connectionError(error: unknown): string {
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error);
  return /refused/i.test(text) ? "connection refused" : "connection failed";
}

/** Reads up to `limit` bytes of a body and cancels the rest; a broken body is not an error. */
async function readAtMost(body: ReadableStream<Uint8Array> | null, limit: number): Promise<void> {
  if (body === null) return;
  const reader = body.getReader();
  let read = 0;
  try {
    while (read < limit) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The status is what counts; a body cut short changes nothing.
  } finally {
    reader.releaseLock();
  }
}
