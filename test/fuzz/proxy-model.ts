/**
 * Generated calls to the priced proxy: a catalog action spelled with path tricks, sent with a
 * method, query, headers, credentials and body that may each be hostile, framed buffered,
 * trickled or broken, to an upstream steered to answer, fail or hang. Each case records why the
 * spec refuses it (`spoils`) and whether it is a plain call that must go through (`plain`).
 */
import fc from "fast-check";
import type { Action } from "../../src/catalog";
import { chaosActions } from "./harness";
import { HTTP_METHODS, headerName, headerValue, word } from "./hostile";
import { bodyArb, framingArb } from "./proxy-bodies";
import {
  effectiveMethod,
  FRESH_KEY,
  maxUnits,
  type Part,
  type ProxyCase,
  type Steer,
  sometimes,
  unitSource,
  type Who,
} from "./proxy-case";
import { pathArb } from "./proxy-paths";

function methodArb(action: Action): fc.Arbitrary<Part<string>> {
  const variants = [
    action.method,
    action.method.toLowerCase(),
    `${action.method[0]}${action.method.slice(1).toLowerCase()}`,
  ];
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...variants).map((value) => ({ value })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...HTTP_METHODS.filter((m) => m !== action.method))
        .map((value) => ({ value, spoil: `method ${value}` })),
    },
  );
}

function queryArb(action: Action): fc.Arbitrary<Part<string>> {
  const extra = fc
    .array(fc.tuple(word(8), fc.string({ maxLength: 12 })), { maxLength: 2 })
    .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`));
  const unit = unitSource(action);
  if (unit?.from !== "query") {
    return extra.map((parts) => ({ value: parts.length > 0 ? `?${parts.join("&")}` : "" }));
  }
  const p = unit.param;
  const max = maxUnits(action);
  const valid = fc.integer({ min: 1, max }).map((n) => [`${p}=${n}`]);
  const bad = fc.oneof(
    fc.constantFrom(
      [],
      [`${p}=1`, `${p}=2`],
      [`${p}=01`],
      [`${p}=1e1`],
      [`${p}=%2B1`],
      [`${p}=+1`],
      [`${p}=1.5`],
      [`${p}=0`],
      [`${p}=-1`],
      [`${p}=`],
      [`${p}=0x10`],
      [`${p}=${max + 1}`],
      [`${p}=99999999999`],
      [`${p}=%201`],
    ),
    // A case variant beside the priced parameter: a case-insensitive upstream may read it (I7).
    fc.integer({ min: 1, max }).map((n) => [`${p.toUpperCase()}=${max}`, `${p}=${n}`]),
    fc
      .integer({ min: 1, max })
      .map((n) => [`${p}=${n}`, `${p[0]?.toUpperCase()}${p.slice(1)}=${max}`]),
  );
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.tuple(valid, extra).map(([v, e]) => ({ value: `?${[...v, ...e].join("&")}` })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(bad, extra).map(([b, e]) => ({
        value: `?${[...b, ...e].join("&")}`,
        spoil: `query ${b.join("&") || "without units"}`,
      })),
    },
  );
}

function whoArb(action: Action): fc.Arbitrary<Part<Who>> {
  const refused: Who[] = ["finance", "admin", "revoked", "unknown secret", "none", "garbage"];
  if (action.seat) refused.push("other seat");
  const allowed: Who[] = action.seat ? ["member"] : ["member", "other seat"];
  return fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(...allowed).map((value) => ({ value })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...refused)
        .map((value) => ({ value, spoil: `credentials: ${value}` })),
    },
  );
}

/** Names the case sets itself, or that steer the chaos upstream. */
function reserved(name: string): boolean {
  const n = name.toLowerCase();
  return (
    [
      "authorization",
      "content-length",
      "host",
      "idempotency-key",
      "content-type",
      "transfer-encoding",
    ].includes(n) ||
    n.startsWith("x-chaos-") ||
    n.startsWith("x-credit-")
  );
}

/** Headers: hop-by-hop, overrides, forgeries, huge and many; and the three a client may send. */
const headersArb: fc.Arbitrary<Part<[string, string][]>> = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc
          .tuple(
            headerName.filter((n) => !reserved(n)),
            headerValue(),
          )
          .map((h) => [h]),
        fc.constantFrom<[string, string][]>(
          [
            ["connection", "keep-alive, x-hop-secret"],
            ["x-hop-secret", "1"],
          ],
          [["keep-alive", "timeout=5"]],
          [["te", "trailers"]],
          [["trailer", "x-foo"]],
          [["upgrade", "h2c"]],
          [["proxy-authorization", "Basic cHJveHk6c2VjcmV0"]],
          [["proxy-connection", "keep-alive"]],
          [["x-http-method-override", "GET"]],
          [["x-http-method", "DELETE"]],
          [["x-method-override", "PUT"]],
          [
            ["x-credits-charged", "0"],
            ["x-credits-remaining", "999999"],
          ],
          [
            ["x-credits-action", "free.lunch"],
            ["x-credits-replayed", "true"],
          ],
          [
            ["x-creditgate-account", "someone-else"],
            ["x-creditgate-member", "member_forged"],
          ],
          [
            ["x-creditgate-team", "team_forged"],
            ["x-creditgate-role", "admin"],
          ],
          [
            ["x-creditgate-request-id", "forged"],
            ["x-request-id", "forged"],
          ],
          [
            ["x-api-key", "test-upstream-secret"],
            ["cookie", "session=client-cookie-secret"],
          ],
          [
            ["x-forwarded-host", "evil.example"],
            ["x-original-url", "/admin/v1/accounts"],
          ],
          [["x-big", "a".repeat(16 * 1024)]],
          Array.from({ length: 60 }, (_, i): [string, string] => [`x-fz-${i}`, `v${i}`]),
        ),
      ),
      { maxLength: 3 },
    ),
    sometimes(
      fc.oneof(
        {
          weight: 3,
          arbitrary: fc
            .stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,20}[A-Za-z0-9]$/)
            .map((v): Part<string> => ({ value: v })),
        },
        fc
          .constantFrom("a,b", "a;b", "a\tb", "-x", "_x", "a@b", "x".repeat(65))
          .map((v) => ({ value: v, spoil: `purpose ${v}` })),
      ),
      20,
    ),
    sometimes(
      fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom("true", "false").map((v): Part<string> => ({ value: v })),
        },
        fc
          .constantFrom("TRUE", "1", "yes", "true, true")
          .map((v) => ({ value: v, spoil: `dry run ${v}` })),
      ),
      15,
    ),
    sometimes(
      fc.oneof(
        { weight: 3, arbitrary: fc.constant<Part<string>>({ value: FRESH_KEY }) },
        fc
          .constantFrom("a b", "x".repeat(256), "a\tb")
          .map((v) => ({ value: v, spoil: "idempotency key" })),
      ),
      20,
    ),
  )
  .map(([groups, purpose, dryRun, idem]) => {
    const headers: [string, string][] = groups.flat();
    const spoils: string[] = [];
    if (purpose) headers.push(["x-credit-purpose", purpose.value]);
    if (dryRun) headers.push(["x-credit-dry-run", dryRun.value]);
    if (idem) headers.push(["idempotency-key", idem.value]);
    for (const part of [purpose, dryRun, idem]) if (part?.spoil) spoils.push(part.spoil);
    return { value: headers, ...(spoils.length > 0 ? { spoil: spoils.join(", ") } : {}) };
  });

function steerArb(action: Action): fc.Arbitrary<Steer> {
  const metered = action.settlement === "metered";
  const units = fc.option(
    fc.oneof(
      fc.integer({ min: 0, max: 2 * maxUnits(action) }).map(String),
      fc.constantFrom("-5", "1.5", "abc", "99999999999", "7 7", ""),
    ),
    { nil: null, freq: 3 },
  );
  const options: fc.WeightedArbitrary<Steer>[] = [
    {
      weight: 8,
      arbitrary: (metered ? units : fc.constant(null)).map(
        (usageUnits): Steer => ({ kind: "echo", usageUnits }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(400, 404, 409, 429, 500, 502, 503)
        .map((status): Steer => ({ kind: "status", status })),
    },
    { weight: 1, arbitrary: fc.constant<Steer>({ kind: "throw" }) },
  ];
  if (action.timeoutMs < 1000)
    options.push({ weight: 2, arbitrary: fc.constant<Steer>({ kind: "timeout" }) });
  return fc.oneof(...options);
}

/** A call to one of the catalog's actions, with every part possibly hostile. */
export const proxyCase: fc.Arbitrary<ProxyCase> = fc.constantFrom(...chaosActions).chain((action) =>
  fc
    .tuple(
      pathArb(action),
      methodArb(action),
      queryArb(action),
      whoArb(action),
      headersArb,
      bodyArb(action),
      framingArb(),
      steerArb(action),
    )
    .map(([path, method, query, who, headers, body, framing, steer]) => {
      const m = effectiveMethod(method.value);
      const spoils = [path, method, query, who, headers, body].flatMap((p) =>
        p.spoil ? [p.spoil] : [],
      );
      const hasBody = m !== "GET" && m !== "HEAD";
      const reads =
        unitSource(action)?.from === "body" || headers.value.some(([n]) => n === "idempotency-key");
      if (
        hasBody &&
        body.value &&
        framing.kind === "trickle" &&
        framing.declared === "huge" &&
        reads
      ) {
        spoils.push("declared length over the body limit");
      }
      const framed = hasBody && body.value ? framing : ({ kind: "buffered" } as const);
      return {
        action: action.id,
        method: method.value,
        path: path.value,
        tricks: path.tricks,
        query: query.value,
        who: who.value,
        headers: headers.value,
        body: hasBody ? body.value : null,
        framing: framed,
        steer,
        spoils,
        // A body stream that breaks may be refused or forwarded cut short; either is fine.
        plain: spoils.length === 0 && !body.odd && framed.kind !== "broken",
      };
    }),
);
