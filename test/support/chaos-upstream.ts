/**
 * The demo upstream behind a "chaos" front, used by the tests in its place. Tests steer it with
 * request headers that the gateway forwards unchanged:
 * - `x-chaos-delay-ms: n` waits n ms (a real timer), then carries on with the rest;
 * - `x-chaos-throw: 1` throws, so the caller's fetch fails;
 * - `x-chaos-status: code` answers that status with a small JSON body, without the demo;
 * - `x-chaos-echo: 1` answers 200 with what arrived (method, path, query, headers, body);
 * - `x-chaos-usage-units: n` sets `X-Usage-Units` to n on whatever is answered;
 * - otherwise the demo upstream answers.
 * `GET /__chaos/count?path=/p` tells how many requests reached path /p (forwarded or not by the
 * gateway, that is the question); `POST /__chaos/reset[?path=/p]` forgets them (all, or one
 * path's). Counts live in memory, per isolate.
 */
import demo from "../../demo/upstream/index";

const MAX_DELAY_MS = 60_000;
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

const counts = new Map<string, number>();

function chaosControl(request: Request, url: URL): Response {
  if (request.method === "GET" && url.pathname === "/__chaos/count") {
    const path = url.searchParams.get("path") ?? "";
    return Response.json({ path, count: counts.get(path) ?? 0 });
  }
  if (request.method === "POST" && url.pathname === "/__chaos/reset") {
    // Test files run side by side: prefer `?path=` (or count deltas) over a global reset.
    const path = url.searchParams.get("path");
    if (path === null) counts.clear();
    else counts.delete(path);
    return Response.json({ reset: true });
  }
  return Response.json({ error: "unknown chaos control" }, { status: 404 });
}

/** Parses a header holding a whole number in [min, max]; a bad value is the test's bug. */
function intHeader(request: Request, name: string, min: number, max: number): number | undefined {
  const raw = request.headers.get(name);
  if (raw === null) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new Error(`chaos: ${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

async function echo(request: Request, url: URL): Promise<Response> {
  return Response.json({
    method: request.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    search: url.search,
    headers: Object.fromEntries(request.headers),
    body: await request.text(),
  });
}

async function respond(request: Request, url: URL): Promise<Response> {
  const delay = intHeader(request, "x-chaos-delay-ms", 0, MAX_DELAY_MS);
  if (delay !== undefined && delay > 0) {
    // A real timer: a promise that never settles is cancelled by workerd as a hung request.
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  if (request.headers.get("x-chaos-throw") === "1") {
    throw new Error("chaos: upstream threw");
  }
  const status = intHeader(request, "x-chaos-status", 200, 599);
  if (status !== undefined) {
    const body = NULL_BODY_STATUSES.has(status) ? null : JSON.stringify({ chaos: true, status });
    return new Response(body, {
      status,
      headers: body === null ? {} : { "Content-Type": "application/json" },
    });
  }
  if (request.headers.get("x-chaos-echo") === "1") return echo(request, url);
  return demo.fetch(request);
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__chaos/")) return chaosControl(request, url);
    counts.set(url.pathname, (counts.get(url.pathname) ?? 0) + 1);

    const response = await respond(request, url);
    const units = request.headers.get("x-chaos-usage-units");
    if (units === null) return response;
    // Passed through as given, so tests can also send malformed or negative units.
    const steered = new Response(response.body, response);
    steered.headers.set("X-Usage-Units", units);
    return steered;
  },
} satisfies ExportedHandler;
