/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, spec 1.0.0, symmetric scheme):
 * the secret is `whsec_` + base64 of 24..64 random bytes; the signature is
 * `v1,` + base64(HMAC-SHA256(key, `${webhook-id}.${webhook-timestamp}.${body}`)), with the
 * timestamp in integer Unix seconds. WebCrypto only, so it runs in workerd without Node APIs.
 */

const SECRET_PREFIX = "whsec_";
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
/** Bytes of a new secret: 256 bits, the size the reference libraries generate. */
const NEW_KEY_BYTES = 32;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** The spec forbids `.` in the id (it delimits the signed content); we also keep it header-safe. */
const MESSAGE_ID = /^[A-Za-z0-9_-]{1,128}$/;

const encoder = new TextEncoder();

/** Headers of one signed delivery attempt. */
export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
  "content-type": "application/json";
}

/** A fresh signing secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(NEW_KEY_BYTES)));
}

/** The key bytes of a `whsec_<base64>` secret of 24..64 bytes, or null if it is not one. */
export function parseWebhookSecret(secret: string): Uint8Array | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) return null;
  const key = fromBase64(encoded);
  return key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES ? key : null;
}

/** The `webhook-signature` value (`v1,<base64>`) of one attempt. Throws on a bad secret or id. */
export async function signatureFor(
  secret: string,
  msgId: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  const key = parseWebhookSecret(secret);
  if (key === null) throw new Error("invalid webhook secret");
  if (!MESSAGE_ID.test(msgId)) throw new Error("invalid webhook message id");
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new Error("invalid webhook timestamp");
  }
  const hmacKey = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signed = encoder.encode(`${msgId}.${timestampSeconds}.${body}`);
  const mac = await crypto.subtle.sign("HMAC", hmacKey, signed);
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The headers of one delivery attempt: id, timestamp, signature and the JSON content type. */
export async function webhookHeaders(
  secret: string,
  msgId: string,
  timestampSeconds: number,
  body: string,
): Promise<WebhookHeaders> {
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": await signatureFor(secret, msgId, timestampSeconds, body),
    "content-type": "application/json",
  };
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(encoded: string): Uint8Array {
  const binary = atob(encoded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
