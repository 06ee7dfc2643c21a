/**
 * Step 1-2 of the request path: everything the gateway can check alone before it asks the
 * ledger: the key's shape, the route on the normalized path, the body, the units, the headers.
 */
import {
  type Action,
  type Catalog,
  needsJsonBody,
  normalizePath,
  termsOf,
  unitsForRequest,
} from "../catalog";
import { priceAt } from "../config/price";
import type { Price } from "../config/schema";
import type { ActionTerms } from "../ledger/contract";
import { IDEMPOTENCY_KEY, PURPOSE, parseTags } from "../lib/formats";
import { sha256Hex } from "../lib/hash";
import { bearerToken, parseAccountKey } from "../lib/keys";
import { Problem } from "../lib/problem";
import { type CallRecords, readRecords } from "./dedupe";

export interface PreparedCall {
  accountId: string;
  keyHash: string;
  action: Action;
  params: Record<string, string>;
  /** The price in force when the call came in: it prices the hold and the capture. */
  price: Price;
  terms: ActionTerms;
  /** The request body read into memory, when pricing or idempotency needed it. */
  body: ArrayBuffer | null;
  purpose: string | null;
  idempotency: { key: string; fingerprint: string } | null;
  dryRun: boolean;
  /** The caller's `X-Credit-Tags`, or null. */
  tags: Record<string, string> | null;
  /** For an action with dedupe: the records by key, and the parsed body to forward a part of. */
  records: { read: CallRecords; body: Record<string, unknown> } | null;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
const ENCODER = new TextEncoder();

/** Reads at most `limit` bytes of the body; a larger one is refused, never truncated. */
async function readBody(request: Request, limit: number): Promise<ArrayBuffer> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    throw new Problem("payload_too_large", `The body exceeds ${limit} bytes.`, { limit });
  }
  if (!request.body) return new ArrayBuffer(0);
  if (declared !== null && /^\d+$/.test(declared)) {
    // A declared length within the limit: the runtime frames the body to it, so read it whole
    // (one native call) and still count what arrived, in case the header was not the truth.
    let whole: ArrayBuffer;
    try {
      whole = await request.arrayBuffer();
    } catch {
      throw new Problem("bad_request", "The request body ended before it was complete.");
    }
    if (whole.byteLength > limit) {
      throw new Problem("payload_too_large", `The body exceeds ${limit} bytes.`, { limit });
    }
    return whole;
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let part: ReadableStreamReadResult<Uint8Array>;
    try {
      part = await reader.read();
    } catch {
      // The client went away or the body broke off: nothing was admitted, so nothing is charged.
      throw new Problem("bad_request", "The request body ended before it was complete.");
    }
    const { done, value } = part;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new Problem("payload_too_large", `The body exceeds ${limit} bytes.`, { limit });
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out.buffer;
}

/** Resolves the route first (default deny), so unpriced paths never see key handling. */
function resolveAction(
  catalog: Catalog,
  request: Request,
  url: URL,
): { action: Action; params: Record<string, string> } {
  const normalized = normalizePath(url.pathname);
  if (!normalized.ok) throw new Problem("invalid_path", normalized.detail);
  const match = catalog.resolve(request.method, normalized.path);
  if (match.kind === "method_not_allowed") {
    throw new Problem(
      "method_not_allowed",
      `${request.method} is not allowed here.`,
      { allow: match.allow },
      { allow: match.allow.join(", ") },
    );
  }
  if (match.kind === "none") throw new Problem("not_found", "No priced action matches this path.");
  return { action: match.action, params: match.params };
}

export async function prepareCall(
  catalog: Catalog,
  request: Request,
  url: URL,
): Promise<PreparedCall> {
  const { action, params } = resolveAction(catalog, request, url);
  const price = priceAt(action, Date.now());

  const key = bearerToken(request.headers.get("authorization"));
  const parsed = key ? parseAccountKey(key) : null;
  if (!key || !parsed) {
    throw new Problem("invalid_key", "Send an account key as `Authorization: Bearer cg_...`.", {
      action: action.id,
    });
  }

  const idempotencyKey = request.headers.get("idempotency-key");
  if (idempotencyKey !== null && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new Problem("bad_request", "Idempotency-Key must be 1 to 255 visible ASCII characters.");
  }
  const purpose = request.headers.get("x-credit-purpose");
  if (purpose !== null && !PURPOSE.test(purpose)) {
    throw new Problem(
      "bad_request",
      "X-Credit-Purpose must be 1 to 64 letters, digits, spaces or ._:/-.",
    );
  }
  const tagsHeader = request.headers.get("x-credit-tags");
  let tags: Record<string, string> | null = null;
  if (tagsHeader !== null) {
    const parsedTags = parseTags(tagsHeader);
    if (!parsedTags.ok)
      throw new Problem("bad_request", parsedTags.detail, { field: "X-Credit-Tags" });
    tags = parsedTags.tags;
  }
  const dryRunHeader = request.headers.get("x-credit-dry-run");
  if (dryRunHeader !== null && dryRunHeader !== "true" && dryRunHeader !== "false") {
    throw new Problem("bad_request", "X-Credit-Dry-Run must be `true` or `false`.");
  }

  const mustRead = needsJsonBody(action) || idempotencyKey !== null;
  const body = mustRead ? await readBody(request, action.maxBodyBytes) : null;
  let json: unknown = null;
  if (needsJsonBody(action)) {
    try {
      json = JSON.parse(UTF8.decode(body ?? new ArrayBuffer(0)));
    } catch {
      throw new Problem("bad_request", "The body must be valid UTF-8 JSON.", { action: action.id });
    }
  }
  const units = unitsForRequest(price, url, json);
  // Forward exactly what was priced: re-serialising removes duplicate keys and other JSON
  // ambiguities that the upstream's parser might read differently from ours (I7).
  const forwardedBody: ArrayBuffer | null = needsJsonBody(action)
    ? (ENCODER.encode(JSON.stringify(json)).buffer as ArrayBuffer)
    : body;
  if (!units.ok) throw new Problem("invalid_units", units.detail, { action: action.id });
  const read = await readRecords(action, json, parsed.accountId);

  let idempotency: PreparedCall["idempotency"] = null;
  if (idempotencyKey !== null) {
    const bodyHash = await sha256Hex(body ?? new ArrayBuffer(0));
    const fingerprint = await sha256Hex(
      `${request.method}\n${action.id}\n${JSON.stringify(params)}\n${url.search}\n${bodyHash}`,
    );
    idempotency = { key: idempotencyKey, fingerprint };
  }

  return {
    accountId: parsed.accountId,
    keyHash: await sha256Hex(key),
    action,
    params,
    price,
    terms: termsOf(catalog.config, action, price, units.units),
    body: forwardedBody,
    purpose,
    idempotency,
    dryRun: dryRunHeader === "true",
    tags,
    records: read ? { read, body: json as Record<string, unknown> } : null,
  };
}
