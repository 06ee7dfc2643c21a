/**
 * Generated requests to one management route: its valid request (management-routes.ts) with
 * hostile changes to the credentials, path parameter, query, body and content type, each change
 * the spec refuses recorded in `spoils`.
 */
import fc from "fast-check";
import {
  anyText,
  extraHeaders,
  headerValue,
  jsonText,
  overLongText,
  percentEncode,
  word,
} from "./hostile";
import { BODY_FIELDS, type FieldKind, QUERY_FIELDS } from "./management-fields";
import {
  type Fixture,
  PRINCIPALS,
  type Principal,
  type Route,
  type RouteSpec,
} from "./management-routes";

export type Auth =
  | { kind: "key"; who: Principal }
  | { kind: "revoked" }
  | { kind: "unknown-secret"; secret: string }
  | { kind: "raw"; header: string | null };

/** A generated request; plain data, so fast-check can print and shrink it. */
export interface Case {
  auth: Auth;
  /** The path parameter's raw segment, or null for the spec's valid one. */
  param: string | null;
  query: [string, string][];
  body: string | null;
  contentType: string | null;
  headers: [string, string][];
  /** Why the spec refuses this request; empty if it may succeed. */
  spoils: string[];
}

type Spoiled<T> = { value: T; spoil: string | null };
const ok = <T>(value: T): Spoiled<T> => ({ value, spoil: null });

/** A field's kind: the route's own (`"GET /v1/usage/events limit"`) if it has one, else the shared one. */
function kindOf(table: Record<string, FieldKind>, field: string, route: string): FieldKind {
  const kind = table[`${route} ${field}`] ?? table[field];
  if (!kind) throw new Error(`${route}: no kind for field "${field}" in management-fields.ts`);
  return kind;
}

/** Fields of an object schema and which of them are required. */
function fieldsOf(schema: Route["body"]): { keys: string[]; required: string[] } {
  const shape = (schema?.shape ?? {}) as Record<
    string,
    { safeParse(v: unknown): { success: boolean } }
  >;
  const keys = Object.keys(shape);
  return { keys, required: keys.filter((k) => !shape[k]?.safeParse(undefined).success) };
}

function authArb(spec: RouteSpec): fc.Arbitrary<Spoiled<Auth>> {
  const allowed = fc
    .constantFrom(...spec.roles)
    .map((who): Spoiled<Auth> => ok({ kind: "key", who }));
  const others = PRINCIPALS.filter((p) => !spec.roles.includes(p));
  const wrong: fc.Arbitrary<Spoiled<Auth>>[] = [
    fc.constant<Auth>({ kind: "revoked" }),
    fc.stringMatching(/^[a-z0-9]{32}$/).map((secret): Auth => ({ kind: "unknown-secret", secret })),
    fc
      .oneof(
        headerValue(60),
        fc.constantFrom(
          "Basic b3BlcmF0b3I6dGVzdA==",
          "Bearer",
          "Token test-operator-token",
          "Bearer test-operator-token, Bearer x",
        ),
      )
      .map((header): Auth => ({ kind: "raw", header })),
    fc.constant<Auth>({ kind: "raw", header: null }),
  ].map((a) => a.map((auth) => ({ value: auth, spoil: `credentials: ${auth.kind}` })));
  if (others.length > 0) {
    wrong.push(
      fc
        .constantFrom(...others)
        .map((who) => ({ value: { kind: "key", who } as Auth, spoil: `a ${who} may not call it` })),
    );
  }
  return fc.oneof({ weight: 8, arbitrary: allowed }, { weight: 2, arbitrary: fc.oneof(...wrong) });
}

/** Path segments that name no entity: too long, random, hostile, or malformed escapes. */
const badSegment: fc.Arbitrary<string> = fc.oneof(
  overLongText(64).map((s) => encodeURIComponent(s)),
  word(20)
    .filter((w) => w !== "." && w !== "..")
    .map((w) => encodeURIComponent(w)),
  anyText.filter((s) => s !== "" && s !== "." && s !== "..").map(percentEncode),
  fc.constantFrom("%00", "a%2Fb", "%ZZ", "%C0%AF", "%ED%A0%80", "%E2%80%AE", "%20", "%0d%0a"),
);

function paramArb(route: Route): fc.Arbitrary<Spoiled<string | null>> {
  if (!route.params) return fc.constant(ok(null));
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(ok(null)) },
    { weight: 1, arbitrary: badSegment.map((s) => ({ value: s, spoil: `path parameter ${s}` })) },
  );
}

function queryArb(route: Route, key: string): fc.Arbitrary<Spoiled<[string, string][]>> {
  const random = fc.array(fc.tuple(word(), anyText), { maxLength: 3 });
  if (!route.query) {
    // No query schema: parameters are ignored, which is harmless for these reads.
    return fc.oneof(fc.constant(ok([])), random.map(ok));
  }
  const { keys: all, required } = fieldsOf(route.query);
  const kind = (k: string) => kindOf(QUERY_FIELDS, k, key);
  const keys = all.filter((k) => !kind(k).contextual);
  const validOf = (k: string) => kind(k).valid({ teamIds: [], memberIds: [] }).map(String);
  const valid = fc
    .record(Object.fromEntries(keys.map((k) => [k, validOf(k)])), { requiredKeys: required })
    .map((q) => Object.entries(q).map(([k, v]): [string, string] => [k, v]));
  const spoiled = (value: [string, string][], spoil: string) => ({ value, spoil });
  const options: fc.Arbitrary<Spoiled<[string, string][]>>[] = [
    fc
      .tuple(
        valid,
        word().filter((w) => !all.includes(w)),
        anyText,
      )
      .map(([q, k, v]) => spoiled([...q, [k, v]], `unknown query parameter ${k}`)),
    fc
      .constantFrom(...keys)
      .chain((k) =>
        fc
          .tuple(valid, validOf(k))
          .map(([q, v]) =>
            spoiled([...q.filter(([kk]) => kk !== k), [k, v], [k, v]], `${k} given twice`),
          ),
      ),
    fc
      .constantFrom(...all)
      .chain((k) =>
        fc
          .tuple(valid, kind(k).invalid)
          .map(([q, v]) =>
            spoiled([...q.filter(([kk]) => kk !== k), [k, String(v)]], `${k}=${String(v)}`),
          ),
      ),
  ];
  if (required.length > 0) {
    options.push(
      fc.tuple(valid, fc.constantFrom(...required)).map(([q, k]) =>
        spoiled(
          q.filter(([kk]) => kk !== k),
          `no ${k}`,
        ),
      ),
    );
  }
  return fc.oneof({ weight: 3, arbitrary: valid.map(ok) }, ...options);
}

/** A key no schema has: random, prototype-polluting, or a near miss of a real field. */
function unknownKey(keys: readonly string[]): fc.Arbitrary<string> {
  return fc
    .oneof(
      word(),
      fc.constantFrom("__proto__", "constructor", "prototype", "accountId", "createdAt", "credits"),
      fc
        .constantFrom(...(keys.length > 0 ? keys : ["name"]))
        .chain((k) =>
          fc.constantFrom(
            k.toUpperCase(),
            `${k} `,
            `\u0000${k}`,
            `${k[0]?.toUpperCase()}${k.slice(1)}`,
          ),
        ),
    )
    .filter((k) => !keys.includes(k));
}

function bodyArb(
  route: Route,
  spec: RouteSpec,
  f: Fixture,
  key: string,
): fc.Arbitrary<Spoiled<string | null>> {
  if (!route.body) return fc.constant(ok(null));
  if (!spec.body) throw new Error(`${key} takes a body but ROUTE_SPECS gives no valid one`);
  const { keys, required } = fieldsOf(route.body);
  for (const k of keys) kindOf(BODY_FIELDS, k, key);
  const valid = spec.body(f);
  const spoiled = (value: string, spoil: string) => ({ value, spoil });
  const field = (k: string) => kindOf(BODY_FIELDS, k, key);
  const options: fc.Arbitrary<Spoiled<string | null>>[] = [
    fc.tuple(valid, fc.nat()).map(([v, n]) => {
      const text = jsonText(v);
      return spoiled(text.slice(0, n % text.length), "truncated JSON");
    }),
    fc
      .tuple(valid, fc.constantFrom(" x", "}", ",", "]", "\u0000", "\ud800"))
      .map(([v, tail]) => spoiled(`${jsonText(v)}${tail}`, "text after the JSON")),
    fc
      .tuple(valid, fc.constantFrom("array", "null", "string", "number", "true"))
      .map(([v, shape]) => {
        const value = { array: [v], null: null, string: "name", number: 42, true: true }[shape];
        return spoiled(jsonText(value), `a JSON ${shape}`);
      }),
    fc
      .tuple(valid, unknownKey(keys), fc.oneof(anyText, fc.integer(), fc.constant(null)))
      .map(([v, k, x]) => {
        const text = jsonText(v);
        const member = `${JSON.stringify(k)}:${jsonText(x)}`;
        return spoiled(
          `{${member}${text === "{}" ? "" : ","}${text.slice(1)}`,
          `unknown field ${k}`,
        );
      }),
    fc
      .constantFrom(...keys)
      .chain((k) =>
        fc
          .tuple(valid, field(k).invalid)
          .map(([v, bad]) =>
            spoiled(jsonText({ ...v, [k]: bad }), `${k}: ${jsonText(bad).slice(0, 80)}`),
          ),
      ),
    fc.constantFrom(...keys).chain((k) =>
      fc.tuple(valid, field(k).invalid).map(([v, bad]) => {
        // JSON.parse keeps the last of duplicate keys: the refused value must still be refused.
        const text = jsonText(v);
        const member = `${JSON.stringify(k)}:${jsonText(bad)}`;
        return spoiled(
          `${text.slice(0, -1)}${text === "{}" ? "" : ","}${member}}`,
          `${k} twice, last ${jsonText(bad).slice(0, 80)}`,
        );
      }),
    ),
  ];
  if (required.length > 0) {
    options.push(
      fc.tuple(valid, fc.constantFrom(...required)).map(([v, k]) => {
        const { [k]: _dropped, ...rest } = v;
        return spoiled(jsonText(rest), `no ${k}`);
      }),
    );
  }
  // Anything at all: the spec may or may not allow it, but it must not break anything.
  const anything = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.dictionary(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: keys.length,
    }),
  );
  return fc.oneof(
    { weight: 4, arbitrary: valid.map((v) => ok(jsonText(v))) },
    { weight: 1, arbitrary: anything.map((v) => ok(jsonText(v))) },
    { weight: 5, arbitrary: fc.oneof(...options) },
  );
}

const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON"];
const NOT_JSON = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "text/json",
  "application/jsonx",
];

function contentTypeArb(route: Route): fc.Arbitrary<Spoiled<string | null>> {
  if (!route.body) return fc.constant(ok(null));
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...JSON_TYPES).map(ok) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<string | null>(...NOT_JSON, null)
        .map((t) => ({ value: t, spoil: `content type ${t}` })),
    },
  );
}

/** A request to `route`: valid, or with hostile changes listed in its `spoils`. */
export function caseArb(
  route: Route,
  spec: RouteSpec,
  f: Fixture,
  key: string,
): fc.Arbitrary<Case> {
  return fc
    .tuple(
      authArb(spec),
      paramArb(route),
      queryArb(route, key),
      bodyArb(route, spec, f, key),
      contentTypeArb(route),
      extraHeaders,
    )
    .map(([auth, param, query, body, contentType, headers]) => ({
      auth: auth.value,
      param: param.value,
      query: query.value,
      body: body.value,
      contentType: contentType.value,
      headers,
      spoils: [auth, param, query, body, contentType].flatMap((s) => (s.spoil ? [s.spoil] : [])),
    }));
}

/** The Authorization header a case sends, if any. */
export function authorization(auth: Auth, f: Fixture): string | null {
  switch (auth.kind) {
    case "key":
      return `Bearer ${f.keys[auth.who]}`;
    case "revoked":
      return `Bearer ${f.revokedKey}`;
    case "unknown-secret":
      return `Bearer cg_${f.accountId}_${auth.secret}`;
    case "raw":
      return auth.header;
  }
}
