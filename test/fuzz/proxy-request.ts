/**
 * The account the proxy fuzz calls as, and the Request a generated case describes: its
 * credentials, headers, upstream steering (x-chaos-*), and body, buffered, trickled with a
 * declared length that may lie, or broken off.
 */
import { setupAccount } from "../support/api";
import { fuzzCatalog, send, url } from "./harness";
import { looseUtf8 } from "./hostile";
import { type Body, FRESH_KEY, FRESH_RECORD, type Framing, type ProxyCase } from "./proxy-case";

export interface Caller {
  memberId: string;
  key: string;
}

/** An enterprise account whose members hold each seat an action may require, and lots of credits. */
export interface ProxyFixture {
  accountId: string;
  teamId: string;
  core: Caller;
  sales: Caller;
  financeKey: string;
  adminKey: string;
  revokedKey: string;
}

async function admin(f: { adminKey: string }, method: string, path: string, body?: unknown) {
  const res = await send(
    new Request(url(path), {
      method,
      headers: { authorization: `Bearer ${f.adminKey}`, "content-type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body),
    }),
  );
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; key: string };
}

export async function createProxyFixture(): Promise<ProxyFixture> {
  const acct = await setupAccount({ plan: "enterprise", seat: "core" });
  const f = { adminKey: acct.adminKey };
  const sales = await admin(f, "POST", "/v1/members", {
    name: "Sales",
    teamId: acct.teamId,
    seat: "sales",
  });
  const salesKey = await admin(f, "POST", "/v1/keys", { role: "member", memberId: sales.id });
  const doomed = await admin(f, "POST", "/v1/keys", { role: "member", memberId: acct.memberId });
  await admin(f, "DELETE", `/v1/keys/${doomed.id}`);
  const res = await send(
    new Request(url(`/admin/v1/accounts/${acct.id}/grants`), {
      method: "POST",
      headers: { authorization: "Bearer test-operator-token", "content-type": "application/json" },
      body: JSON.stringify({ amount: 1_000_000_000, source: "pack" }),
    }),
  );
  if (res.status !== 201) throw new Error(`grant: ${res.status}`);
  return {
    accountId: acct.id,
    teamId: acct.teamId,
    core: { memberId: acct.memberId, key: acct.memberKey },
    sales: { memberId: sales.id, key: salesKey.key },
    financeKey: acct.financeKey,
    adminKey: acct.adminKey,
    revokedKey: doomed.key,
  };
}

/** The member a case calls as, if its credentials are a live member key. */
export function callerOf(c: ProxyCase, f: ProxyFixture): Caller | null {
  const action = fuzzCatalog.action(c.action);
  const own = action?.seat === "sales" ? f.sales : f.core;
  const other = own === f.sales ? f.core : f.sales;
  return c.who === "member" ? own : c.who === "other seat" ? other : null;
}

function authorization(c: ProxyCase, f: ProxyFixture): string | null {
  switch (c.who) {
    case "member":
    case "other seat":
      return `Bearer ${callerOf(c, f)?.key}`;
    case "finance":
      return `Bearer ${f.financeKey}`;
    case "admin":
      return `Bearer ${f.adminKey}`;
    case "revoked":
      return `Bearer ${f.revokedKey}`;
    case "unknown secret":
      return `Bearer cg_${f.accountId}_${"0".repeat(32)}`;
    case "garbage":
      return "Bearer cg_ x";
    case "none":
      return null;
  }
}

/** Counts fresh Idempotency-Keys; RUN keeps them apart from earlier runs' keys. */
let fresh = 0;
const RUN = Date.now().toString(36);

/** Counts sends whose record keys were made fresh. */
let freshRecords = 0;

/**
 * The bytes of a body as sent. Each FRESH_RECORD becomes `recordSuffix`: lower-case ASCII
 * without `@`, so it changes no record key's normalization but makes it one no other call sent.
 * (Raw-byte bodies are invalid UTF-8, refused whatever their records.)
 */
export function bodyBytes(body: Body, recordSuffix = `~${RUN}-${++freshRecords}`): Uint8Array {
  const fresh = (text: string) => text.replaceAll(FRESH_RECORD, recordSuffix);
  if ("text" in body) return looseUtf8(fresh(body.text));
  if ("bytes" in body) return new Uint8Array(body.bytes);
  const padded = fresh(body.padded);
  // Whitespace after "{" keeps the JSON valid: only its size is wrong.
  return new TextEncoder().encode(
    `{${" ".repeat(Math.max(0, body.size - padded.length))}${padded.slice(1)}`,
  );
}

/** A stream of `bytes` in `pieces`, `delayMs` apart; or one that fails after `after` pieces. */
function streamOf(bytes: Uint8Array, framing: Framing): ReadableStream<Uint8Array> {
  const pieces = framing.kind === "trickle" ? framing.pieces : 4;
  const size = Math.max(1, Math.ceil(bytes.length / pieces));
  let offset = 0;
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (framing.kind === "broken" && sent >= framing.after) {
        controller.error(new Error("client went away"));
        return;
      }
      if (offset >= bytes.length) return controller.close();
      if (framing.kind === "trickle" && framing.delayMs > 0) {
        await new Promise((r) => setTimeout(r, framing.delayMs));
      }
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
      sent += 1;
    },
  });
}

/** The Content-Length a trickled body declares, given its true length. */
const DECLARED = {
  none: () => null,
  exact: (n: number) => String(n),
  under: (n: number) => String(Math.max(0, n - 7)),
  over: (n: number) => String(n + 100),
  huge: () => String(20 * 1024 * 1024),
  garbage: () => "abc",
} as const;

/** The Request a case describes. */
export function requestOf(
  c: ProxyCase,
  f: ProxyFixture,
): { request: Request; bytes: Uint8Array | null } {
  const headers = new Headers();
  for (const [name, value] of c.headers) {
    headers.append(name, value === FRESH_KEY ? `fz-${RUN}-${++fresh}` : value);
  }
  const auth = authorization(c, f);
  if (auth !== null) headers.set("authorization", auth);
  headers.set("content-type", "application/json");
  switch (c.steer.kind) {
    case "echo":
      headers.set("x-chaos-echo", "1");
      if (c.steer.usageUnits !== null) headers.set("x-chaos-usage-units", c.steer.usageUnits);
      break;
    case "status":
      headers.set("x-chaos-status", String(c.steer.status));
      break;
    case "throw":
      headers.set("x-chaos-throw", "1");
      break;
    case "timeout":
      headers.set("x-chaos-delay-ms", "500");
      headers.set("x-chaos-echo", "1");
      break;
  }
  const bytes = c.body ? bodyBytes(c.body) : null;
  let body: BodyInit | null = bytes;
  if (bytes && c.framing.kind !== "buffered") {
    body = streamOf(bytes, c.framing);
    const declared =
      c.framing.kind === "trickle" ? DECLARED[c.framing.declared](bytes.length) : null;
    if (declared !== null) headers.set("content-length", declared);
  }
  return {
    request: new Request(url(`${c.path}${c.query}`), { method: c.method, headers, body }),
    bytes,
  };
}
