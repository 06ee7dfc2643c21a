/**
 * The bench's baseline: the least a Worker can do to put Hono in front of the demo upstream.
 * `POST /v1/enrichment/companies` is forwarded to the upstream's `/enrich/companies` through a
 * service binding, request and response bodies streamed, with no auth, no pricing, no ledger.
 * `npm run bench` compares the gateway against this, in the same run, on the same machine.
 */
import { Hono } from "hono";

interface ForwarderEnv {
  Bindings: { UPSTREAM: Fetcher };
}

/** Hop-by-hop headers are not forwarded (the gateway drops them too). */
const HOP_BY_HOP = ["connection", "keep-alive", "transfer-encoding", "upgrade", "host"];

const app = new Hono<ForwarderEnv>();

app.post("/v1/enrichment/companies", (c) => {
  const headers = new Headers(c.req.raw.headers);
  for (const name of HOP_BY_HOP) headers.delete(name);
  return c.env.UPSTREAM.fetch("https://upstream.internal/enrich/companies", {
    method: "POST",
    headers,
    body: c.req.raw.body,
  });
});

app.notFound((c) => c.json({ error: "not found" }, 404));

export default app;
