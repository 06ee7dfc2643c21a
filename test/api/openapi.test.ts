import { inspectRoutes } from "hono/dev";
import { describe, expect, it } from "vitest";
import pkg from "../../package.json";
import { docsPage } from "../../src/api/docs-page";
import { actionOperationIds, openApiPath } from "../../src/api/docs-proxy";
import { CREDIT_HEADERS, PROXY_DENIALS } from "../../src/api/docs-proxy-answers";
import { createApp } from "../../src/app";
import { bundledCatalog, type Catalog } from "../../src/catalog";
import { PROBLEM_STATUS } from "../../src/lib/problem";
import { call, callTest } from "../support/api";
import { testCatalog } from "../support/test-catalog";

type Json = Record<string, unknown>;
interface Operation {
  operationId?: string;
  "x-credits-action"?: string;
  tags?: string[];
  description?: string;
  security?: Record<string, string[]>[];
  parameters?: Json[];
  requestBody?: Json;
  responses?: Record<string, Json>;
}
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation | Json[]>>;
  webhooks?: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, Json>>;
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const PROBLEM_REF = "#/components/schemas/Problem";

async function documentOf(res: Promise<Response>): Promise<Doc> {
  const r = await res;
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  return (await r.json()) as Doc;
}

/** Every operation of the document, with its method and path. */
function operations(doc: Doc): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const op = item[method] as Operation | undefined;
      return op ? [{ method, path, op }] : [];
    }),
  );
}

function pointer(doc: Doc, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

function deref<T>(doc: Doc, x: T): T {
  const ref = (x as { $ref?: unknown } | undefined)?.$ref;
  return typeof ref === "string" ? (pointer(doc, ref) as T) : x;
}

/** Every `$ref` anywhere under `node`. */
function refsIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const x of node) refsIn(x, out);
  else if (typeof node === "object" && node !== null) {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/** A structural check of the OpenAPI 3.1 rules the document relies on; returns what is wrong. */
function validate(doc: Doc): string[] {
  const errors: string[] = [];
  if (!/^3\.1\.\d+$/.test(doc.openapi)) errors.push(`openapi is ${doc.openapi}`);
  if (!doc.info?.title || typeof doc.info.version !== "string") errors.push("info incomplete");
  for (const ref of refsIn(doc)) {
    if (!ref.startsWith("#/components/") || pointer(doc, ref) === undefined)
      errors.push(`unresolved $ref ${ref}`);
  }
  for (const [type, entries] of Object.entries(doc.components ?? {})) {
    for (const name of Object.keys(entries)) {
      if (!/^[a-zA-Z0-9._-]+$/.test(name)) errors.push(`bad component name ${type}/${name}`);
    }
  }
  const schemes = doc.components?.securitySchemes ?? {};
  const ids = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith("/")) errors.push(`path ${path} does not start with /`);
    for (const key of Object.keys(item)) {
      if (
        !METHODS.includes(key) &&
        !["parameters", "summary", "description", "servers"].includes(key)
      )
        errors.push(`${path}: unknown path item field ${key}`);
    }
  }
  for (const { method, path, op } of operations(doc)) {
    const at = `${method.toUpperCase()} ${path}`;
    const responses = Object.entries(op.responses ?? {});
    if (responses.length === 0) errors.push(`${at}: no responses`);
    for (const [status, response] of responses) {
      if (!/^([1-5](\d\d|XX)|default)$/.test(status)) errors.push(`${at}: status ${status}`);
      if (typeof deref(doc, response).description !== "string")
        errors.push(`${at} ${status}: no description`);
    }
    if (op.operationId === undefined) errors.push(`${at}: no operationId`);
    else if (ids.has(op.operationId)) errors.push(`${at}: duplicate operationId ${op.operationId}`);
    else ids.add(op.operationId);
    const params = [
      ...((doc.paths[path]?.parameters as Json[] | undefined) ?? []),
      ...(op.parameters ?? []),
    ].map((p) => deref(doc, p));
    const seen = new Set<string>();
    for (const p of params) {
      if (!["query", "header", "path", "cookie"].includes(String(p.in)))
        errors.push(`${at}: parameter ${String(p.name)} in ${String(p.in)}`);
      if (!p.schema && !p.content) errors.push(`${at}: parameter ${String(p.name)} has no schema`);
      const key = `${String(p.in)}:${String(p.name).toLowerCase()}`;
      if (seen.has(key)) errors.push(`${at}: parameter ${key} twice`);
      seen.add(key);
    }
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const declared = params.filter((p) => p.in === "path");
    for (const name of templated) {
      const p = declared.find((d) => d.name === name);
      if (p?.required !== true) errors.push(`${at}: path parameter {${name}} not declared`);
    }
    for (const p of declared) {
      if (!templated.includes(String(p.name)))
        errors.push(`${at}: path parameter ${String(p.name)} not in the path`);
    }
    for (const requirement of op.security ?? []) {
      for (const name of Object.keys(requirement)) {
        if (!schemes[name]) errors.push(`${at}: unknown security scheme ${name}`);
      }
    }
  }
  return errors;
}

/** The worker's own app, for its route table: the same factory and catalog as src/index.ts. */
const app = createApp({ catalog: bundledCatalog });

/** Every handler the app mounts, as "METHOD /openapi/{path}" (middleware left out). */
function mountedRoutes(): string[] {
  const keys = inspectRoutes(app)
    .filter((r) => !r.isMiddleware)
    // The proxy's catch-all is documented per catalog action instead (checked below).
    .filter((r) => !(r.method === "ALL" && r.path === "/*"))
    .map((r) => `${r.method} ${r.path.replaceAll(/:([A-Za-z0-9_]+)/g, "{$1}")}`);
  return [...new Set(keys)].sort();
}

function expectCatalogDocumented(doc: Doc, catalog: Catalog) {
  for (const action of catalog.actions) {
    const path = openApiPath(action.path);
    const op = doc.paths[path]?.[action.method.toLowerCase()] as Operation | undefined;
    expect(op, `${action.method} ${path} (${action.id})`).toBeDefined();
    if (!op) continue;
    // Derived from the action id, which the operation also carries as `x-credits-action`.
    expect(op.operationId).toMatch(/^call[A-Z][A-Za-z]*$/);
    expect(op["x-credits-action"]).toBe(action.id);
    expect(op.tags).toEqual(["proxy"]);
    expect(op.security).toEqual([{ accountKey: [] }]);
    expect(op.description).toContain(`**Price**: ${action.price.credits} credits per`);
    expect(op.description).toContain(`\`${action.settlement}\``);
    const params = (op.parameters ?? []).map((p) => `${String(p.in)} ${String(p.name)}`);
    expect(params).toEqual(
      expect.arrayContaining([
        "header Idempotency-Key",
        "header X-Credit-Dry-Run",
        "header X-Credit-Purpose",
        ...[...path.matchAll(/\{([^}]+)\}/g)].map((m) => `path ${m[1]}`),
      ]),
    );
    const ok = op.responses?.["200"] as { headers?: Json } | undefined;
    expect(Object.keys(ok?.headers ?? {})).toEqual(
      expect.arrayContaining([
        "X-Credits-Action",
        "X-Credits-Charged",
        "X-Credits-Remaining",
        "X-Credits-Replayed",
        "X-Credits-Quote",
      ]),
    );
    for (const [status, code] of [
      [402, "insufficient_credits"],
      [403, "plan_excludes_action"],
      [409, "idempotency_in_progress"],
      [422, "idempotency_mismatch"],
      [429, "rate_limited"],
      [502, "bad_gateway"],
      [503, "ledger_unavailable"],
      [504, "gateway_timeout"],
    ] as const) {
      expect(op.responses?.[status]?.description, `${action.id} ${status}`).toContain(
        `\`${code}\``,
      );
    }
    for (const status of [409, 429]) {
      expect(Object.keys((op.responses?.[status]?.headers as Json) ?? {})).toContain("Retry-After");
    }
  }
}

describe("the API document at /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const doc = await documentOf(call("/openapi.json"));
    expect(validate(doc)).toEqual([]);
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: "creditgate", version: pkg.version });
    expect(doc.servers).toEqual([{ url: "/" }]);
    expect(Object.keys(doc.components.securitySchemes ?? {}).sort()).toEqual([
      "accountKey",
      "operatorToken",
      "webhookSignature",
    ]);
  });

  it("names every operation with a readable, unique operationId", async () => {
    const doc = await documentOf(call("/openapi.json"));
    const ids = operations(doc).map(({ method, path, op }) => [
      `${method} ${path}`,
      op.operationId,
    ]);
    for (const [at, id] of ids) expect(id, at).toMatch(/^[a-z]+(?:[A-Z][a-z]*)+$/);
    expect(new Set(ids.map(([, id]) => id)).size).toBe(ids.length);
    const byRoute = Object.fromEntries(ids);
    expect(byRoute).toMatchObject({
      "post /v1/teams": "createTeam",
      "get /v1/usage/events": "listUsageEvents",
      "delete /v1/keys/{id}": "revokeKey",
      "post /admin/v1/accounts/{id}/grants": "issueGrant",
      "get /openapi.json": "getApiDocument",
      "post /v1/enrichment/companies": "callEnrichmentCompany",
      "post /v1/ai/agents/{agentId}/conversations": "callAiAgentConversation",
    });
    expect(doc.webhooks?.alert?.post?.operationId).toBe("deliverAlert");
  });

  it("derives a priced action's operationId from its id, the id itself when two would clash", () => {
    const ids = actionOperationIds(["record_refresh.company", "a_b.c", "a.b_c", "ai.generate"]);
    expect(Object.fromEntries(ids)).toEqual({
      "record_refresh.company": "callRecordRefreshCompany",
      "a_b.c": "a_b.c",
      "a.b_c": "a.b_c",
      "ai.generate": "callAiGenerate",
    });
  });

  it("describes the alert webhook: signed headers, the signature as its security, the outcomes", async () => {
    const doc = await documentOf(call("/openapi.json"));
    const hook = doc.webhooks?.alert?.post;
    expect(hook?.security).toEqual([{ webhookSignature: [] }]);
    expect(doc.components.securitySchemes?.webhookSignature).toMatchObject({
      type: "apiKey",
      in: "header",
      name: "webhook-signature",
    });
    expect(hook?.parameters).toEqual(
      ["webhook-id", "webhook-timestamp", "webhook-signature"].map((name) => ({
        name,
        in: "header",
        required: true,
        description: expect.any(String),
        schema: { type: "string" },
      })),
    );
    expect(Object.keys(hook?.responses ?? {})).toEqual(["2XX", "default"]);
  });

  it("documents every route the app mounts, and nothing it does not serve", async () => {
    const doc = await documentOf(call("/openapi.json"));
    const documented = operations(doc).map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    const mounted = mountedRoutes();
    expect(mounted.length).toBeGreaterThan(20);
    expect(mounted).toContain("GET /openapi.json");
    expect(mounted).toContain("GET /docs");
    const missing = mounted.filter((r) => !documented.includes(r));
    expect(missing, "mounted routes missing from the document").toEqual([]);
    const proxied = bundledCatalog.actions.map((a) => `${a.method} ${openApiPath(a.path)}`);
    const stale = documented.filter((r) => !mounted.includes(r) && !proxied.includes(r));
    expect(stale, "documented operations nothing serves").toEqual([]);
  });

  it("applies the operator token to /admin/v1, account keys to /v1, nothing to the docs", async () => {
    const doc = await documentOf(call("/openapi.json"));
    for (const { method, path, op } of operations(doc)) {
      const at = `${method} ${path}`;
      if (path.startsWith("/admin/v1/")) expect(op.security, at).toEqual([{ operatorToken: [] }]);
      else if (path.startsWith("/v1/")) expect(op.security, at).toEqual([{ accountKey: [] }]);
      else expect(op.security, at).toEqual([]);
    }
    expect(doc.components.securitySchemes?.accountKey).toMatchObject({
      type: "http",
      scheme: "bearer",
      bearerFormat: "cg_<accountId>_<secret>",
    });
  });

  it("describes every error response as a Problem in application/problem+json", async () => {
    const doc = await documentOf(call("/openapi.json"));
    expect(doc.components.schemas?.Problem).toMatchObject({
      type: "object",
      required: expect.arrayContaining(["type", "title", "status", "code", "detail", "requestId"]),
    });
    let errors = 0;
    for (const { method, path, op } of operations(doc)) {
      expect(op.responses?.["500"], `${method} ${path} lists no 500`).toBeDefined();
      const clientErrors = Object.keys(op.responses ?? {}).filter((s) => s.startsWith("4"));
      expect(clientErrors.length, `${method} ${path} lists no 4XX`).toBeGreaterThan(0);
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (Number(status) < 400) continue;
        const content = deref(doc, response).content as Record<string, { schema?: Json }>;
        expect(Object.keys(content), `${method} ${path} ${status}`).toEqual([
          "application/problem+json",
        ]);
        expect(content["application/problem+json"]?.schema).toEqual({ $ref: PROBLEM_REF });
        errors += 1;
      }
    }
    expect(errors).toBeGreaterThan(100);
  });

  it("describes each catalog action with its price, request headers, credit headers and denials", async () => {
    expectCatalogDocumented(await documentOf(call("/openapi.json")), bundledCatalog);
    const headers = (await documentOf(call("/openapi.json"))).components.headers ?? {};
    expect(Object.keys(headers).sort()).toEqual(Object.keys(CREDIT_HEADERS).sort());
  });

  it("follows the catalog the app is built with: a new action appears by itself", async () => {
    const doc = await documentOf(callTest("/openapi.json"));
    expect(validate(doc)).toEqual([]);
    expect(testCatalog.actions.length).toBeGreaterThan(bundledCatalog.actions.length);
    expectCatalogDocumented(doc, testCatalog);
    expect(doc.paths["/v1/test/metered"]?.post).toMatchObject({
      description: expect.stringContaining("`metered`"),
    });
  });

  it("lists only problem codes the gateway has, each under its own status", () => {
    for (const [status, denial] of Object.entries(PROXY_DENIALS)) {
      for (const code of denial.codes) expect(PROBLEM_STATUS[code], code).toBe(Number(status));
    }
  });
});

describe("the docs page at /docs", () => {
  it("is a self-contained HTML page that renders /openapi.json with no markup from data", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await res.text();
    expect(html).toContain('fetch("/openapi.json")');
    const csp = res.headers.get("content-security-policy") ?? "";
    const nonce = /script-src 'nonce-([0-9a-f]+)'/.exec(csp)?.[1];
    expect(nonce, csp).toBeDefined();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    // Every script and style is inline under the nonce: nothing is loaded from elsewhere.
    const tags = [...html.matchAll(/<(script|style)\b([^>]*)>/g)];
    expect(tags.length).toBe(2);
    for (const [, , attrs] of tags) expect(attrs).toBe(` nonce="${nonce}"`);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/\bsrc=/);
    // All rendering goes through textContent and createElement.
    for (const sink of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("])
      expect(html, sink).not.toContain(sink);
    const again = await call("/docs");
    expect(again.headers.get("content-security-policy")).not.toBe(csp);
  });

  it("takes only a hex nonce", () => {
    expect(() => docsPage('"><script>')).toThrow();
  });
});

describe("the docs routes", () => {
  it("are public: no key needed, any Authorization ignored", async () => {
    for (const path of ["/openapi.json", "/docs"]) {
      expect((await call(path)).status).toBe(200);
      expect((await call(path, { headers: { authorization: "Bearer nonsense" } })).status).toBe(
        200,
      );
      const head = await call(path, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe("");
    }
  });

  it("answer other methods with problem+json and never reach the proxy's pricing", async () => {
    for (const path of ["/openapi.json", "/docs"]) {
      for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
        const res = await call(path, {
          method,
          headers: { "content-type": "application/json", authorization: "Bearer cg_x_y" },
          body: "{}",
        });
        const at = `${method} ${path}`;
        expect(res.status, at).toBe(404);
        expect(res.headers.get("content-type"), at).toBe("application/problem+json");
        expect((await res.json()) as Json, at).toMatchObject({ code: "not_found" });
        expect(res.headers.get("x-credits-action"), at).toBeNull();
        expect(res.headers.get("x-credits-charged"), at).toBeNull();
      }
    }
  });
});
