/**
 * The demo upstream as the end-to-end tests run it: the real demo feature service behind a thin
 * front that remembers what reached it and can answer slowly. The gateway forwards every header
 * a client sends (bar hop-by-hop, credentials and its own), so tests steer it with headers:
 * - `x-e2e-delay-ms: n` waits n ms (a real timer) before the demo answers;
 * - `x-e2e-body-delay-ms: n` sends the status and headers at once, the body's first byte, and
 *   the rest of the body n ms later;
 * - `x-e2e-report: 1` answers 200 with what reached the upstream so far (this call included).
 * Bundled for `wrangler dev` from test/e2e/support/upstream.wrangler.toml; state is per isolate.
 */
import demo from "../../../demo/upstream/index";

/** One request as it reached the upstream. */
export interface UpstreamHit {
  method: string;
  path: string;
  search: string;
  requestId: string | null;
  account: string | null;
  credentialInjected: boolean;
  /** Headers that a smuggled, folded or injected line could have added or changed. */
  suspectHeaders: Record<string, string>;
  body: string;
}

export interface UpstreamReport {
  total: number;
  hits: UpstreamHit[];
}

const KEEP_HITS = 500;
const MAX_DELAY_MS = 30_000;
const SUSPECT = /^(x-injected|x-smuggled|transfer-encoding|x-credit-purpose)$/;

const hits: UpstreamHit[] = [];
let total = 0;

function remember(hit: UpstreamHit) {
  total += 1;
  hits.push(hit);
  if (hits.length > KEEP_HITS) hits.splice(0, hits.length - KEEP_HITS);
}

/** Waits the number of ms in a header value, if any (a real timer: workerd cancels hung promises). */
async function sleep(ms: string | null): Promise<void> {
  const delay = Number(ms ?? "0");
  if (Number.isInteger(delay) && delay > 0) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, MAX_DELAY_MS)));
  }
}

/** The same answer, its body held back after the first byte. */
async function slowBody(response: Response, delay: string): Promise<Response> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const send = async () => {
    await writer.write(bytes.slice(0, 1));
    await sleep(delay);
    await writer.write(bytes.slice(1));
    await writer.close();
  };
  send().catch(() => writer.abort().catch(() => {}));
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  return new Response(readable, { status: response.status, headers });
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const body = hasBody ? await request.text() : "";
    const suspectHeaders: Record<string, string> = {};
    for (const [name, value] of request.headers) {
      if (SUSPECT.test(name)) suspectHeaders[name] = value;
    }
    remember({
      method: request.method,
      path: url.pathname,
      search: url.search,
      requestId: request.headers.get("x-creditgate-request-id"),
      account: request.headers.get("x-creditgate-account"),
      credentialInjected: /^Bearer\s+\S/.test(request.headers.get("authorization") ?? ""),
      suspectHeaders,
      body: body.slice(0, 2048),
    });

    if (request.headers.get("x-e2e-report") === "1") {
      const report: UpstreamReport = { total, hits };
      return Response.json(report);
    }
    await sleep(request.headers.get("x-e2e-delay-ms"));
    const response = await demo.fetch(
      new Request(request.url, {
        method: request.method,
        headers: request.headers,
        body: hasBody ? body : null,
      }),
    );
    const bodyDelay = request.headers.get("x-e2e-body-delay-ms");
    return bodyDelay === null ? response : slowBody(response, bodyDelay);
  },
} satisfies ExportedHandler;
