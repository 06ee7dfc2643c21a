/**
 * Hostile HTTP/1.1 requests, byte for byte: framing conflicts, broken chunking, folded and
 * injected header lines, odd request targets, slow bodies and requests hidden behind others.
 * Each is aimed at a priced route with a valid member key, so anything that gets through is
 * something the gateway could forward (and must price).
 */
import type { RawStep } from "./raw-http";

export interface Target {
  host: string;
  memberKey: string;
}

/** What the shapes are built from, for one server and key. */
interface Kit {
  host: string;
  memberKey: string;
  /** A request head (method, target, Host, the key, JSON content type) plus `fields`. */
  head(fields: string, target?: string, method?: string): string;
  /** A Content-Length line for `body`. */
  length(body: string): string;
  /** `body` as one chunk and the last chunk. */
  chunked(body: string): string;
  /**
   * One record: priced 10 credits. Its domain is this kit's own: with dedupe (issue 16) a record
   * the account enriched already is neither forwarded nor charged, so every shape gets records
   * of its own to keep a call that gets through on the charged, forwarded path.
   */
  body: string;
  /** A complete, valid, priced request (two records of its own: 20 credits), marked X-Smuggled. */
  hidden: string;
}

export interface HostileShape {
  name: string;
  /** What the bytes try to do. */
  attack: string;
  steps: (kit: Kit) => RawStep[];
  /** Stop reading once this many responses arrived (else at close or the deadline). */
  responses: number;
  /** How long to wait for answers; a stalled shape is given up on after this. */
  deadlineMs: number;
}

const ROUTE = "/v1/enrichment/companies";
/** Counts kits: each has record domains no other kit has. */
let kits = 0;
const ANSWER_MS = 15_000;
const STALL_MS = 3_000;

function kitFor({ host, memberKey }: Target): Kit {
  const head = (fields: string, target = ROUTE, method = "POST") =>
    `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${memberKey}\r\n` +
    `Content-Type: application/json\r\n${fields}\r\n`;
  const length = (body: string) => `Content-Length: ${body.length}\r\n`;
  kits += 1;
  const body = JSON.stringify({ records: [{ domain: `hostile-${kits}.example` }] });
  const twoRecords = JSON.stringify({
    records: [{ domain: `s1-${kits}.example` }, { domain: `s2-${kits}.example` }],
  });
  return {
    host,
    memberKey,
    head,
    length,
    chunked: (body) => `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    body,
    hidden: head(`X-Smuggled: 1\r\n${length(twoRecords)}`) + twoRecords,
  };
}

/** The bytes of a shape for one server and key. */
export function stepsFor(shape: HostileShape, target: Target): RawStep[] {
  return shape.steps(kitFor(target));
}

function shape(
  name: string,
  attack: string,
  steps: (kit: Kit) => RawStep[],
  options: { responses?: number; deadlineMs?: number } = {},
): HostileShape {
  return {
    name,
    attack,
    steps,
    responses: options.responses ?? 1,
    deadlineMs: options.deadlineMs ?? ANSWER_MS,
  };
}

export const HOSTILE_SHAPES: readonly HostileShape[] = [
  shape("well-formed control", "a plain priced call: the oracle must see its charge", (k) => [
    k.head(k.length(k.body)) + k.body,
  ]),
  shape(
    "CL.TE: Content-Length and Transfer-Encoding disagree",
    "the chunked body ends at once; Content-Length covers a second request after it",
    (k) => [
      k.head(`Content-Length: ${5 + k.hidden.length}\r\nTransfer-Encoding: chunked\r\n`) +
        `0\r\n\r\n${k.hidden}`,
    ],
    { responses: 2 },
  ),
  shape(
    "TE.CL: chunked body with a short Content-Length",
    "Content-Length says 4 bytes, the chunked body is the whole JSON",
    (k) => [k.head("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n") + k.chunked(k.body)],
  ),
  shape("two differing Content-Length headers", "which one frames the body?", (k) => [
    k.head(`${k.length(k.body)}Content-Length: 2\r\n`) + k.body,
  ]),
  shape("two equal Content-Length headers", "a duplicated framing header", (k) => [
    k.head(k.length(k.body) + k.length(k.body)) + k.body,
  ]),
  shape("Content-Length as a list", "`Content-Length: n, n`", (k) => [
    k.head(`Content-Length: ${k.body.length}, ${k.body.length}\r\n`) + k.body,
  ]),
  shape("chunk size not hex", "`zz` as the chunk size", (k) => [
    `${k.head("Transfer-Encoding: chunked\r\n")}zz\r\n${k.body}\r\n0\r\n\r\n`,
  ]),
  shape("chunk size overflows 64 bits", "17 hex digits", (k) => [
    `${k.head("Transfer-Encoding: chunked\r\n")}10000000000000001\r\n${k.body}\r\n0\r\n\r\n`,
  ]),
  shape("chunk shorter than its data", "size 3, then more data where CRLF belongs", (k) => [
    `${k.head("Transfer-Encoding: chunked\r\n")}3\r\n${k.body}\r\n0\r\n\r\n`,
  ]),
  shape("unknown transfer coding", "`Transfer-Encoding: xchunked` beside Content-Length", (k) => [
    k.head(`Transfer-Encoding: xchunked\r\n${k.length(k.body)}`) + k.body,
  ]),
  shape("chunked not the final coding", "`Transfer-Encoding: chunked, identity`", (k) => [
    k.head("Transfer-Encoding: chunked, identity\r\n") + k.chunked(k.body),
  ]),
  shape(
    "space before the colon of Transfer-Encoding",
    "`Transfer-Encoding : chunked` with a body framed by Content-Length",
    (k) => [k.head(`Transfer-Encoding : chunked\r\n${k.length(k.body)}`) + k.body],
    { deadlineMs: STALL_MS },
  ),
  shape("obs-fold in a plain header", "X-Credit-Purpose continued on a folded line", (k) => [
    k.head(`X-Credit-Purpose: outbound\r\n folded\r\n${k.length(k.body)}`) + k.body,
  ]),
  shape("obs-fold in Content-Length", "the length on a continuation line", (k) => [
    k.head(`Content-Length:\r\n ${k.body.length}\r\n`) + k.body,
  ]),
  shape("obs-fold in Authorization", "the key on a continuation line", (k) => [
    `POST ${ROUTE} HTTP/1.1\r\nHost: ${k.host}\r\nAuthorization: Bearer\r\n ${k.memberKey}\r\n` +
      `Content-Type: application/json\r\n${k.length(k.body)}\r\n${k.body}`,
  ]),
  shape("absolute-form request target", "`POST http://host/v1/enrichment/companies`", (k) => [
    k.head(k.length(k.body), `http://${k.host}${ROUTE}`) + k.body,
  ]),
  shape("absolute-form naming another host", "`POST http://other.example/...`", (k) => [
    k.head(k.length(k.body), `http://other.example${ROUTE}`) + k.body,
  ]),
  shape("absolute-form with dot segments", "from an unpriced path up into a priced one", (k) => [
    k.head(k.length(k.body), `http://${k.host}/v1/balance/../enrichment/companies`) + k.body,
  ]),
  shape("fragment on a priced path", "`#frag` in the request target", (k) => [
    k.head(k.length(k.body), `${ROUTE}#frag`) + k.body,
  ]),
  shape("fragment hiding a priced path", "`/v1/teams#/../enrichment/companies`", (k) => [
    k.head(k.length(k.body), "/v1/teams#/../enrichment/companies") + k.body,
  ]),
  shape("bare CR inside a header value", "`X-Credit-Purpose: ok<CR>X-Injected: 1`", (k) => [
    k.head(`X-Credit-Purpose: ok\rX-Injected: 1\r\n${k.length(k.body)}`) + k.body,
  ]),
  shape(
    "bare LF injecting a gateway header",
    "`X-Credit-Purpose: ok<LF>X-Creditgate-Account: victim`",
    (k) => [
      k.head(`X-Credit-Purpose: ok\nX-Creditgate-Account: victim\r\n${k.length(k.body)}`) + k.body,
    ],
  ),
  shape("bare LF line endings throughout", "every line ends in LF alone", (k) => [
    `POST ${ROUTE} HTTP/1.1\nHost: ${k.host}\nAuthorization: Bearer ${k.memberKey}\n` +
      `Content-Type: application/json\nContent-Length: ${k.body.length}\n\n${k.body}`,
  ]),
  shape("NUL inside a header value", "`X-Credit-Purpose: ok<NUL>X-Injected: 1`", (k) => [
    k.head(`X-Credit-Purpose: ok\0X-Injected: 1\r\n${k.length(k.body)}`) + k.body,
  ]),
  shape(
    "slow body, then stalled",
    "the body arrives a byte at a time, then stops short of its Content-Length",
    (k) => [
      k.head(k.length(k.body)),
      ...k.body
        .slice(0, 12)
        .split("")
        .flatMap((c): RawStep[] => [c, { pauseMs: 100 }]),
    ],
    { deadlineMs: STALL_MS },
  ),
  shape("slow body, completed", "the body arrives a few bytes at a time, all of it", (k) => [
    k.head(k.length(k.body)),
    ...(k.body.match(/.{1,6}/g) ?? []).flatMap((c): RawStep[] => [c, { pauseMs: 40 }]),
  ]),
  shape(
    "second request pipelined after the body",
    "a whole second request right after the first one's Content-Length",
    (k) => [k.head(k.length(k.body)) + k.body + k.hidden],
    { responses: 2 },
  ),
  shape(
    "second request hidden inside the body",
    "Content-Length covers the JSON and a whole request after it",
    (k) => [k.head(`Content-Length: ${k.body.length + k.hidden.length}\r\n`) + k.body + k.hidden],
  ),
  shape(
    "second request hidden in a GET body",
    "a GET to a query-priced route carries a whole POST as its body",
    (k) => [k.head(k.length(k.hidden), "/v1/prospecting/intent?limit=1", "GET") + k.hidden],
  ),
];
