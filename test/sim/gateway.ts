/** The simulation's client: requests to the real worker app (test catalog), as a caller sends them. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { OPERATOR } from "../support/api";
import { testApp } from "../support/test-catalog";

/** The operator's Authorization header value (the tests' OPERATOR_TOKEN). */
export const OPERATOR_AUTH = OPERATOR.authorization;

export interface Reply {
  status: number;
  headers: Headers;
  /** The JSON body, or null for an empty or non-JSON one. */
  body: Record<string, unknown> | null;
}

/** Sends one request through the worker's whole app and reads the answer to the end. */
export async function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | null,
): Promise<Reply> {
  const ctx = createExecutionContext();
  const res = await testApp.fetch(
    new Request(`https://gateway.test${path}`, { method, headers, body }),
    env,
    ctx,
  );
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  let parsed: Record<string, unknown> | null = null;
  try {
    const value: unknown = text ? JSON.parse(text) : null;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      parsed = value as Record<string, unknown>;
    }
  } catch {
    parsed = null;
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A management call with a JSON body; anything but `expect` is a broken simulation setup. */
export async function manage(
  method: string,
  path: string,
  auth: string,
  json: unknown,
  expect: number,
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { authorization: auth };
  if (json !== undefined) headers["content-type"] = "application/json";
  const reply = await send(method, path, headers, json === undefined ? null : JSON.stringify(json));
  if (reply.status !== expect) {
    throw new Error(`${method} ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
  }
  return reply.body ?? {};
}

/** A string field of a JSON answer; a missing one is a broken simulation setup. */
export function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== "string")
    throw new Error(`response has no string ${name}: ${JSON.stringify(body)}`);
  return value;
}

/** SHA-256 as lowercase hex, as the gateway hashes keys and bodies. */
export async function sha256Hex(input: string | Uint8Array): Promise<string> {
  const data = typeof input === "string" ? new TextEncoder().encode(input) : input;
  const digest = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The Idempotency-Key fingerprint as src/proxy/prepare.ts derives it from a request, so that an
 * admission made by RPC (a worker that died before settling) is the same request as a client's
 * retry of it.
 */
export async function fingerprintOf(
  method: string,
  actionId: string,
  params: Record<string, string>,
  path: string,
  body: string | null,
): Promise<string> {
  const search = new URL(`https://gateway.test${path}`).search;
  const bodyHash = await sha256Hex(body ?? "");
  return sha256Hex(`${method}\n${actionId}\n${JSON.stringify(params)}\n${search}\n${bodyHash}`);
}
