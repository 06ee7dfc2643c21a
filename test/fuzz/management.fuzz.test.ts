/**
 * Property-based fuzzing of every management route (SPEC §5), enumerated from the app's route
 * table. Each case is a valid request (from management-routes.ts) with at most a few hostile
 * changes: a refused field value, an unknown or missing field, malformed or non-object JSON, a
 * wrong content type, a bad path parameter or query string, the wrong credentials; plus hostile
 * headers that change nothing. Oracle: a change the spec refuses gets a 4xx problem+json, and
 * every 4xx leaves the account's whole ledger and its D1 rows exactly as they were; a 2xx comes
 * only from a request the spec allows and matches the route's documented response schema;
 * nothing ever reaches an upstream, and nothing answers 5xx.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { bundledCatalog } from "../../src/catalog";
import {
  app,
  directoryState,
  expectProblem,
  ledgerState,
  runs,
  send,
  upstreamLog,
  url,
} from "./harness";
import { extraHeaders, HTTP_METHODS, jsonText, looseUtf8, percentEncode } from "./hostile";
import { authorization, caseArb } from "./management-cases";
import {
  createFixture,
  type Fixture,
  MARK,
  ROUTE_SPECS,
  registeredRoutes,
  routeTable,
} from "./management-routes";

/** Runs per route; 24 routes at about 25 ms a case. */
const RUNS_PER_ROUTE = 30;
/** Rounds of RUNS_PER_ROUTE a route may take to see both an accepted and a refused request. */
const MAX_ROUNDS = 4;
const RUNS_METHODS = 60;
/** Each builds and sends a body of over 1 MiB. */
const RUNS_OVERSIZE = 16;
const MIB = 1024 * 1024;
let oversized = 0;
/**
 * How the size is told: by the body's own length, not at all (a stream), or by a
 * Content-Length that lies (fetch lets a stream carry any header; an HTTP parser would not).
 */
const FRAMINGS = ["length", "chunked", "under-declared length", "garbage length"] as const;
/** An id for the `{id}` of a path: the fixture's entity of that kind, or one that does not exist. */
function idFor(path: string, f: Fixture): string {
  if (path.startsWith("/admin/v1/accounts/")) return f.accountId;
  if (path.startsWith("/v1/teams/")) return f.victimTeamId;
  if (path.startsWith("/v1/members/")) return f.victimMemberId;
  return "key_doesnotexist";
}

/** A stream of `bytes` in chunks of `size`, with no declared length. */
function streamOf(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

/** The account id a create-account body names, so its ledger and directory row are watched. */
function namedAccount(body: string | null): string[] {
  try {
    const id = (JSON.parse(body ?? "null") as { id?: unknown } | null)?.id;
    return typeof id === "string" ? [id] : [];
  } catch {
    return [];
  }
}

/** Everything a management request could change: the ledgers and D1 rows of these accounts. */
async function state(ids: readonly string[]) {
  const ledgers = await Promise.all(ids.map((id) => ledgerState(id)));
  return { ledgers, directory: await directoryState(ids, MARK) };
}

describe("fuzzing the management API", { timeout: 120_000 }, () => {
  let f: Fixture;
  const routes = registeredRoutes();
  const table = routeTable(app.routes);

  beforeAll(async () => {
    f = await createFixture();
    // One JSON log line per request would bury fast-check's report of a failure.
    vi.spyOn(console, "log").mockImplementation(() => undefined);
  });
  afterAll(() => {
    vi.restoreAllMocks();
  });

  it("knows every route of the app, and the deployed worker has the same routes", () => {
    const documented = routes.map((r) => `${r.method} ${r.path}`).sort();
    expect(table, "a route without an OpenAPI definition cannot be fuzzed").toEqual(documented);
    expect(routeTable(createApp({ catalog: bundledCatalog }).routes)).toEqual(table);
    expect(Object.keys(ROUTE_SPECS).sort(), "ROUTE_SPECS names a route the app lacks").toEqual(
      documented.filter((k) => ROUTE_SPECS[k]),
    );
  });

  const keys = [...new Set([...table, ...routes.map((r) => `${r.method} ${r.path}`)])].sort();
  for (const key of keys) {
    it(`${key}: hostile requests are refused cleanly; valid ones succeed as documented`, async () => {
      const route = routes.find((r) => `${r.method} ${r.path}` === key);
      const spec = ROUTE_SPECS[key];
      if (!route) throw new Error(`${key} is in the route table but not in the OpenAPI registry`);
      if (!spec)
        throw new Error(`${key} has no entry in ROUTE_SPECS (test/fuzz/management-routes.ts)`);
      if (route.params && !spec.param)
        throw new Error(`${key}: ROUTE_SPECS gives no path parameter`);
      const seen = { accepted: 0, refused: 0 };
      // A route with few ways to spoil a request (no body, no query) may, by chance, draw 30
      // valid ones: more rounds until both kinds ran, so coverage never rests on luck.
      for (
        let round = 0;
        round === 0 || (round < MAX_ROUNDS && !(seen.accepted && seen.refused));
        round++
      ) {
        await fc.assert(
          fc.asyncProperty(caseArb(route, spec, f, key), async (c) => {
            let path = route.path;
            if (route.params) {
              const segment = c.param ?? encodeURIComponent((await spec.param?.(f)) ?? "");
              path = path.replace(/\{[^}]+\}/, segment);
            }
            if (c.query.length > 0) {
              path += `?${c.query.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join("&")}`;
            }
            const headers = new Headers(c.headers);
            const auth = authorization(c.auth, f);
            if (auth !== null) headers.set("authorization", auth);
            if (c.contentType !== null) headers.set("content-type", c.contentType);
            const body = c.body === null ? null : looseUtf8(c.body);
            const watched = [f.accountId, ...namedAccount(c.body)];
            const before = await state(watched);
            upstreamLog.length = 0;
            const res = await send(new Request(url(path), { method: route.method, headers, body }));
            const text = await res.text();
            expect(upstreamLog, "a management request reached an upstream").toEqual([]);
            if (res.status >= 200 && res.status < 300) {
              expect(c.spoils, `accepted (${res.status}) a request the spec refuses`).toEqual([]);
              expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
              expect([...route.responses.keys()], "undocumented status").toContain(res.status);
              const schema = route.responses.get(res.status);
              if (schema) {
                const parsed = schema.safeParse(JSON.parse(text));
                expect(
                  parsed.success,
                  `response does not match its schema: ${text.slice(0, 300)}`,
                ).toBe(true);
              } else expect(text).toBe("");
              seen.accepted += 1;
              return;
            }
            expectProblem(res, text, route.method);
            expect(await state(watched), "a refused request changed state").toEqual(before);
            seen.refused += 1;
          }),
          runs(RUNS_PER_ROUTE),
        );
      }
      // A fuzzer whose valid requests all fail, or whose hostile ones never run, proves nothing.
      expect(seen.accepted, "no generated request succeeded").toBeGreaterThan(0);
      expect(seen.refused, "no generated request was refused").toBeGreaterThan(0);
    });
  }

  it("refuses every method a management path does not have, and forwards nothing", async () => {
    const methods = new Map<string, Set<string>>();
    for (const key of table) {
      const [method = "", path = ""] = key.split(" ");
      methods.set(path, (methods.get(path) ?? new Set()).add(method));
    }
    const paths = [...methods.keys()];
    const arb = fc
      .record({
        path: fc.constantFrom(...paths),
        method: fc.constantFrom(...HTTP_METHODS),
        headers: extraHeaders,
      })
      .filter(({ path, method }) => {
        const allowed = methods.get(path) ?? new Set();
        return !allowed.has(method) && !(method === "HEAD" && allowed.has("GET"));
      });
    await fc.assert(
      fc.asyncProperty(arb, async (c) => {
        const operator = c.path.startsWith("/admin/");
        const headers = new Headers(c.headers);
        headers.set("authorization", `Bearer ${operator ? f.keys.operator : f.keys.admin}`);
        const withBody = c.method !== "GET" && c.method !== "HEAD";
        if (withBody) headers.set("content-type", "application/json");
        const path = c.path.replace("{id}", idFor(c.path, f));
        const before = await state([f.accountId]);
        upstreamLog.length = 0;
        const res = await send(
          new Request(url(path), {
            method: c.method,
            headers,
            body: withBody ? JSON.stringify({ name: "x", role: "admin", amount: 5 }) : null,
          }),
        );
        expectProblem(res, await res.text(), c.method);
        expect(upstreamLog).toEqual([]);
        expect(await state([f.accountId])).toEqual(before);
      }),
      runs(RUNS_METHODS),
    );
  });

  it("answers 413 to every management body over 1 MiB, however it is framed", async () => {
    const writers = routes.filter((r) => r.body).map((r) => `${r.method} ${r.path}`);
    const arb = fc.constantFrom(...writers).chain((key) =>
      fc.record({
        key: fc.constant(key),
        body: (ROUTE_SPECS[key]?.body?.(f) ?? fc.constant({})).map(jsonText),
        pad: fc.integer({ min: 1, max: 64 * 1024 }),
        framing: fc.constantFrom(...FRAMINGS),
        chunk: fc.integer({ min: 1024, max: 256 * 1024 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(arb, async (c) => {
        const [method = "", path = ""] = c.key.split(" ");
        const param = path.includes("{") ? ((await ROUTE_SPECS[c.key]?.param?.(f)) ?? "") : "";
        // An account id of its own, so a replay while shrinking is not refused as a duplicate.
        const json = c.body.replace(/"id":"[^"]*"/, `"id":"${MARK}-big-${++oversized}"`);
        // Whitespace keeps the JSON valid: only its size is wrong.
        const bytes = new TextEncoder().encode(`{${" ".repeat(MIB + c.pad)}${json.slice(1)}`);
        const headers = new Headers({
          authorization: `Bearer ${path.startsWith("/admin/") ? f.keys.operator : f.keys.admin}`,
          "content-type": "application/json",
        });
        if (c.framing === "under-declared length") {
          headers.set("content-length", String(json.length));
        }
        if (c.framing === "garbage length") headers.set("content-length", "abc");
        const body = c.framing === "length" ? bytes : streamOf(bytes, c.chunk);
        const watched = [f.accountId, ...namedAccount(json)];
        const before = await state(watched);
        const res = await send(
          new Request(url(path.replace(/\{[^}]+\}/, encodeURIComponent(param))), {
            method,
            headers,
            body,
          }),
        );
        const text = await res.text();
        expect(res.status, text.slice(0, 200)).toBe(413);
        expectProblem(res, text, method);
        expect(await state(watched)).toEqual(before);
      }),
      runs(RUNS_OVERSIZE),
    );
  });
});
