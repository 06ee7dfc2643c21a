/**
 * The upstream of the second configuration (test/alt/alt.config.json), reached by URL
 * (https://api.alt.test) through the test pool's outbound service. It answers only calls that
 * carry the API key the gateway injects, and reports what it saw so tests can check it; the
 * summarizer reports the tokens it used in `X-Tokens-Used`.
 */
const API_KEY = "alt-test-key";

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.hostname !== "api.alt.test") return fetch(request);
    if (request.headers.get("x-api-key") !== API_KEY) {
      return Response.json({ error: "bad api key" }, { status: 401 });
    }
    const saw = {
      method: request.method,
      path: url.pathname,
      query: url.search,
      authorization: request.headers.get("authorization"),
      account: request.headers.get("x-creditgate-account"),
    };
    if (url.pathname === "/summarize") {
      const tokens = request.headers.get("x-alt-tokens") ?? "1000";
      return Response.json({ summary: "short", saw }, { headers: { "X-Tokens-Used": tokens } });
    }
    const body = request.method === "POST" ? await request.text() : null;
    return Response.json({ ok: true, saw, body });
  },
} satisfies ExportedHandler;
