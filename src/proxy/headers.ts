/** Header hygiene between client, gateway and upstream (SPEC §3 steps 4 and 5). */

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

/** Headers of the client's request that never reach the upstream. */
function droppedOnForward(name: string): boolean {
  return (
    HOP_BY_HOP.has(name) ||
    name === "authorization" ||
    name === "cookie" ||
    name === "x-credit-dry-run" ||
    // The priced method is the one the upstream must run: no override may change it (I7).
    name === "x-http-method-override" ||
    name === "x-http-method" ||
    name === "x-method-override" ||
    name.startsWith("x-creditgate-") ||
    name.startsWith("cf-")
  );
}

/** The headers sent upstream: the client's, cleaned, plus who is calling and the credential. */
export function forwardHeaders(
  incoming: Headers,
  added: Record<string, string>,
  credential: { header: string; value: string } | null,
): Headers {
  const out = new Headers();
  const connectionListed = new Set(
    (incoming.get("connection") ?? "")
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
  for (const [name, value] of incoming) {
    if (droppedOnForward(name) || connectionListed.has(name)) continue;
    out.set(name, value);
  }
  if (credential) out.set(credential.header, credential.value);
  for (const [name, value] of Object.entries(added)) out.set(name, value);
  return out;
}

/** The upstream's response headers as the client sees them: no hop-by-hop, no forged credits. */
export function responseHeaders(upstream: Headers, credits: Record<string, string>): Headers {
  const out = new Headers();
  for (const [name, value] of upstream) {
    if (HOP_BY_HOP.has(name)) continue;
    if (name.startsWith("x-credits-") || name === "x-request-id" || name === "server-timing")
      continue;
    out.append(name, value);
  }
  for (const [name, value] of Object.entries(credits)) out.set(name, value);
  return out;
}
