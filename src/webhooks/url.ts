/**
 * Which webhook URLs an account may set. The gateway POSTs to them from its alarm, so a URL must
 * not turn it into a proxy for reaching itself or, in production, a private network (SSRF).
 * Host names are not resolved here: a public name pointing at a private address is left to the
 * platform's outbound rules; this check catches what the URL itself says.
 */

const WEBHOOK_URL_MAX_LENGTH = 2048;

/** Options for `checkWebhookUrl`. */
export interface WebhookUrlOptions {
  /** Local development: allow http and loopback/private hosts. Never the gateway's own hosts. */
  allowInsecure: boolean;
  /** The gateway's own host names (e.g. the worker's route hosts), which a webhook must not target. */
  gatewayHosts: readonly string[];
}

export type WebhookUrlCheck = { ok: true; url: string } | { ok: false; detail: string };

/** Accepts an absolute https URL (http too when insecure) that is safe to deliver webhooks to. */
export function checkWebhookUrl(raw: string, opts: WebhookUrlOptions): WebhookUrlCheck {
  if (raw.length > WEBHOOK_URL_MAX_LENGTH) {
    return fail(`must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`);
  }
  // The URL parser silently drops tabs and newlines and trims spaces: refuse them instead.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  if (/[\u0000-\u0020\u007f]/.test(raw)) {
    return fail("must not contain spaces or control characters");
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail("must be an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return fail("must use https");
  if (url.protocol === "http:" && !opts.allowInsecure) return fail("must use https");
  if (url.username !== "" || url.password !== "") return fail("must not contain credentials");
  // `new URL("https://a/#").hash` is "" although the URL has a fragment: look at the raw text.
  if (raw.includes("#")) return fail("must not contain a fragment");
  if (url.href.length > WEBHOOK_URL_MAX_LENGTH) {
    return fail(`must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`);
  }

  const host = normalizeHost(url.hostname);
  if (host === "") return fail("must name a host");
  if (opts.gatewayHosts.some((gateway) => normalizeHost(gateway) === host)) {
    return fail("must not point at the gateway itself");
  }
  if (!opts.allowInsecure && isLocalHost(host)) {
    return fail("must not point at a local, private or internal address");
  }
  return { ok: true, url: url.href };
}

function fail(detail: string): WebhookUrlCheck {
  return { ok: false, detail: `Webhook URL ${detail}.` };
}

/** Lowercase, without the trailing dot of a fully qualified name (`localhost.` is `localhost`). */
function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.+$/, "");
}

function isLocalHost(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost") || host.endsWith(".internal")) {
    return true;
  }
  const v4 = parseIpv4(host);
  if (v4 !== null) return isPrivateIpv4(v4);
  if (host.startsWith("[") && host.endsWith("]")) {
    const v6 = parseIpv6(host.slice(1, -1));
    // The URL parser accepted the literal, so a parse failure here is our gap: refuse it.
    return v6 === null || isPrivateIpv6(v6);
  }
  return false;
}

/** A dotted-quad IPv4 (the URL parser has already turned `0x7f.1` and `2130706433` into one). */
function parseIpv4(host: string): number[] | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return null;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** 0/8 ("this network", includes 0.0.0.0), 10/8, 127/8, 169.254/16, 172.16/12, 192.168/16. */
function isPrivateIpv4([a = 0, b = 0]: readonly number[]): boolean {
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168)
  );
}

/** Eight 16-bit groups of an IPv6 literal as the URL parser serializes it (hex, `::`), or null. */
function parseIpv6(literal: string): number[] | null {
  const halves = literal.split("::");
  if (halves.length > 2) return null;
  const groups = (text: string | undefined) => (text ? text.split(":") : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return all.map((g) => Number.parseInt(g, 16));
}

/** ::, ::1, fc00::/7, fe80::/10, and IPv4-mapped (::ffff:a.b.c.d) private IPv4 addresses. */
function isPrivateIpv6(groups: readonly number[]): boolean {
  const [first = 0] = groups;
  const upperZero = groups.slice(0, 5).every((g) => g === 0);
  if (upperZero && groups[5] === 0 && groups[6] === 0 && (groups[7] ?? 0) <= 1) return true;
  if ((first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80) return true;
  if (upperZero && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return isPrivateIpv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  }
  return false;
}
