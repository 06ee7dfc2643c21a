/**
 * The opaque `cursor` of a usage listing: which snapshot, where the last page ended, and which
 * query it belongs to. Base64url JSON; anything that does not decode to exactly this is refused.
 */
import type { Position } from "./events";

export interface UsageCursor extends Position {
  snapshot: number;
  /** The filter digest of the query that made it. */
  query: string;
}

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): string | null {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

export function encodeCursor(c: UsageCursor): string {
  return toBase64Url(JSON.stringify({ v: 1, s: c.snapshot, t: c.at, i: c.id, q: c.query }));
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The cursor, or null when it is not one this gateway made. */
export function decodeCursor(text: string): UsageCursor | null {
  const json = fromBase64Url(text);
  if (json === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { v, s, t, i, q, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || v !== 1) return null;
  if (typeof s !== "number" || !Number.isSafeInteger(s) || s < 0) return null;
  if (typeof t !== "string" || !ISO.test(t)) return null;
  if (typeof i !== "string" || i.length === 0 || i.length > 64) return null;
  if (typeof q !== "string" || q.length === 0 || q.length > 16) return null;
  return { snapshot: s, at: t, id: i, query: q };
}
