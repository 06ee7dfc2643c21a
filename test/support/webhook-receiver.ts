/**
 * The tests' webhook receiver: the gateway's outbound fetches go through this worker
 * (miniflare's `outboundService`). Requests to https://hooks.test/in/<name> are recorded (or
 * refused while <name> is "down"); every other request goes on to the network unchanged, so the
 * gateway's other outbound calls behave as without it.
 *
 * Tests reach it through the WEBHOOK_RECEIVER binding:
 * - `GET /__received?name=n` lists what n received: `[{ headers, body, at }]`;
 * - `POST /__down?name=n&mode=status|refuse|slow|off` answers 503, fails the connection, takes
 *   3 s to answer, or takes again at once.
 */
interface Received {
  headers: Record<string, string>;
  body: string;
  at: number;
}

const received = new Map<string, Received[]>();
const down = new Map<string, "status" | "refuse" | "slow">();

async function control(request: Request, url: URL): Promise<Response> {
  const name = url.searchParams.get("name") ?? "";
  if (url.pathname === "/__received") return Response.json(received.get(name) ?? []);
  if (url.pathname === "/__down" && request.method === "POST") {
    const mode = url.searchParams.get("mode");
    if (mode === "status" || mode === "refuse" || mode === "slow") down.set(name, mode);
    else down.delete(name);
    return Response.json({ name, mode });
  }
  return new Response("unknown control", { status: 404 });
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__")) return control(request, url);
    if (url.hostname !== "hooks.test") return fetch(request);
    const name = url.pathname.replace(/^\/in\//, "");
    const mode = down.get(name);
    if (mode === "refuse") throw new Error("connection refused (receiver down)");
    if (mode === "status") return new Response("down", { status: 503 });
    if (mode === "slow") await new Promise((resolve) => setTimeout(resolve, 3_000));
    const body = await request.text();
    const list = received.get(name) ?? [];
    list.push({ headers: Object.fromEntries(request.headers), body, at: Date.now() });
    received.set(name, list);
    return new Response(null, { status: 204 });
  },
};
