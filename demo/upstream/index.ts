/**
 * The demo feature service: a fake enrichment / AI vendor that creditgate forwards to.
 * Every answer is derived from the input with a small hash, so the same request always gets
 * the same response (stable tests, repeatable demos). Deployed on its own; imports nothing.
 */

type Handler = (request: Request, params: string[], url: URL) => Promise<Response>;
interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

/** Most records accepted in one batch call. */
const MAX_RECORDS = 1000;
/** Most companies one prospecting call returns. */
const MAX_LIMIT = 1000;
/** Most tokens one generation may use (prompt plus completion). */
const MAX_TOKENS = 4000;

const INDUSTRIES = ["Software", "Fintech", "Healthcare", "Retail", "Manufacturing", "Logistics"];
const COUNTRIES = ["US", "GB", "DE", "FR", "NL", "CA", "AU", "JP"];
const TITLES = ["Engineer", "Account Executive", "Marketing Manager", "Head of Sales", "CTO"];
const SENIORITIES = ["entry", "senior", "manager", "director", "executive"];
const DEPARTMENTS = ["engineering", "sales", "marketing", "operations", "finance"];
const TOPICS = ["crm", "data enrichment", "sales automation", "analytics", "security", "ai"];
const REFRESHABLE = ["industry", "employees", "country", "revenue", "phone", "address"];
const WORDS = ["the", "pipeline", "grows", "when", "teams", "focus", "on", "qualified", "leads"];

class BadRequest extends Error {}

/** FNV-1a, 32 bits: small, fast and stable across runs. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function pick<T>(list: readonly T[], seed: number): T {
  const item = list[seed % list.length];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads the body as a JSON object; an empty body counts as `{}` only where `emptyOk`. */
async function readObject(request: Request, emptyOk = false): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.trim() === "" && emptyOk) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequest("body must be valid JSON");
  }
  if (!isObject(value)) throw new BadRequest("body must be a JSON object");
  return value;
}

function optionalString(
  record: Record<string, unknown>,
  key: string,
  where: string,
): string | undefined {
  const value = record[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new BadRequest(`${where}.${key} must be a string`);
  return value.trim() === "" ? undefined : value.trim();
}

function requiredString(record: Record<string, unknown>, key: string, where: string): string {
  const value = optionalString(record, key, where);
  if (value === undefined) throw new BadRequest(`${where}.${key} must be a non-empty string`);
  return value;
}

function readRecords(body: Record<string, unknown>): Record<string, unknown>[] {
  const records = body.records;
  if (!Array.isArray(records)) throw new BadRequest("records must be an array");
  if (records.length > MAX_RECORDS) throw new BadRequest(`at most ${MAX_RECORDS} records`);
  return records.map((record, i) => {
    if (!isObject(record)) throw new BadRequest(`records[${i}] must be an object`);
    return record;
  });
}

function titleCase(text: string): string {
  return text
    .split(/[\s._-]+/)
    .filter((word) => word !== "")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");
}

function domainFromName(name: string): string {
  return `${name.toLowerCase().replace(/[^a-z0-9]+/g, "")}.com`;
}

function nameFromDomain(domain: string): string {
  return titleCase(domain.split(".")[0] ?? domain);
}

function company(domain: string, name: string) {
  const seed = hash(domain.toLowerCase());
  return {
    matched: true,
    domain,
    name,
    industry: pick(INDUSTRIES, seed),
    employees: 10 + (seed % 20000),
    country: pick(COUNTRIES, seed >>> 3),
    foundedYear: 1950 + (seed % 74),
    annualRevenueUsd: (1 + (seed % 500)) * 1_000_000,
  };
}

async function enrichCompanies(request: Request): Promise<Response> {
  const records = readRecords(await readObject(request));
  const results = records.map((record, i) => {
    const where = `records[${i}]`;
    const domain = optionalString(record, "domain", where);
    const name = optionalString(record, "name", where);
    if (domain !== undefined) return company(domain, name ?? nameFromDomain(domain));
    if (name !== undefined) return company(domainFromName(name), name);
    return { matched: false, domain: null, name: null, industry: null, employees: null };
  });
  return json({ results });
}

async function enrichContacts(request: Request): Promise<Response> {
  const records = readRecords(await readObject(request));
  const results = records.map((record, i) => {
    const where = `records[${i}]`;
    const email = optionalString(record, "email", where);
    const name = optionalString(record, "name", where);
    if (email === undefined && name === undefined) {
      const none = { email: null, name: null, jobTitle: null, seniority: null, company: null };
      return { matched: false, ...none };
    }
    const key = (email ?? name ?? "").toLowerCase();
    const seed = hash(key);
    const at = email?.lastIndexOf("@") ?? -1;
    const domain =
      (email !== undefined && at >= 0 ? email.slice(at + 1) : "") ||
      `${pick(["acme", "globex", "initech"], seed)}.com`;
    return {
      matched: true,
      email: email ?? null,
      name: name ?? titleCase(at >= 0 ? key.slice(0, at) : key),
      jobTitle: pick(TITLES, seed),
      seniority: pick(SENIORITIES, seed >>> 2),
      department: pick(DEPARTMENTS, seed >>> 5),
      company: nameFromDomain(domain),
      companyDomain: domain,
    };
  });
  return json({ results });
}

async function refreshCompanies(request: Request): Promise<Response> {
  const records = readRecords(await readObject(request));
  const refreshed = records.map((record, i) => {
    const id = requiredString(record, "id", `records[${i}]`);
    const seed = hash(id);
    const updatedFields = REFRESHABLE.filter((_, bit) => (seed >>> bit) & 1);
    return { id, updatedFields };
  });
  return json({ refreshed });
}

async function prospectIntent(_request: Request, _params: string[], url: URL): Promise<Response> {
  const rawLimit = url.searchParams.get("limit") ?? "10";
  const limit = /^\d{1,6}$/.test(rawLimit) ? Number(rawLimit) : 0;
  if (limit < 1 || limit > MAX_LIMIT) {
    throw new BadRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  const topic = url.searchParams.get("topic")?.trim() || undefined;
  const companies = Array.from({ length: limit }, (_, i) => {
    const seed = hash(`${topic ?? ""}#${i}`);
    const domain = `${pick(["north", "blue", "bright", "swift", "clear"], seed)}${i + 1}.io`;
    const topics = [pick(TOPICS, seed >>> 4), pick(TOPICS, seed >>> 9)];
    if (topic !== undefined) topics.unshift(topic);
    return {
      domain,
      name: nameFromDomain(domain),
      intentScore: seed % 101,
      topics: [...new Set(topics)],
    };
  });
  companies.sort((a, b) => b.intentScore - a.intentScore || a.domain.localeCompare(b.domain));
  return json({ topic: topic ?? null, companies });
}

async function generate(request: Request): Promise<Response> {
  const body = await readObject(request);
  const prompt = requiredString(body, "prompt", "body");
  const maxTokens = body.maxTokens ?? MAX_TOKENS;
  if (typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new BadRequest("maxTokens must be a positive integer");
  }
  // Roughly 4 characters per prompt token, and a reply whose length follows the prompt.
  const seed = hash(prompt);
  const promptTokens = Math.ceil(prompt.length / 4);
  const wanted = Math.min(16 + (seed % 48) + Math.floor(promptTokens / 2), 1024);
  const tokens = Math.min(promptTokens + wanted, maxTokens, MAX_TOKENS);
  const completionTokens = Math.max(0, tokens - promptTokens);
  const words = Array.from({ length: completionTokens }, (_, i) => pick(WORDS, seed + i * 7));
  const text = words.join(" ");
  return json(
    {
      text,
      tokens,
      usage: { promptTokens: tokens - completionTokens, completionTokens },
      finishReason: completionTokens < wanted ? "length" : "stop",
    },
    200,
    { "X-Usage-Units": String(tokens) },
  );
}

async function converse(request: Request, [agentId = ""]: string[]): Promise<Response> {
  const message = requiredString(await readObject(request), "message", "body");
  const seed = hash(`${agentId}\n${message}`);
  return json(
    {
      conversationId: `conv_${seed.toString(16).padStart(8, "0")}`,
      agentId,
      reply: `Agent ${agentId} here: I looked into "${message.slice(0, 80)}" and found ${
        1 + (seed % 9)
      } matching records.`,
    },
    201,
  );
}

async function querySmartProperty(
  request: Request,
  [propertyId = ""]: string[],
): Promise<Response> {
  const body = await readObject(request, true);
  let recordIds = ["rec_1", "rec_2", "rec_3"];
  if (body.recordIds !== undefined) {
    const ids = body.recordIds;
    if (!Array.isArray(ids) || ids.length > MAX_RECORDS) {
      throw new BadRequest(`recordIds must be an array of at most ${MAX_RECORDS} strings`);
    }
    recordIds = ids.map((id, i) => {
      if (typeof id !== "string" || id === "") {
        throw new BadRequest(`recordIds[${i}] must be a non-empty string`);
      }
      return id;
    });
  }
  const values = recordIds.map((recordId) => {
    const seed = hash(`${propertyId}/${recordId}`);
    return { recordId, value: seed % 100, confidence: (50 + (seed % 50)) / 100 };
  });
  return json({ propertyId, values });
}

const SEGMENT = "([A-Za-z0-9_.~-]{1,128})";
const ROUTES: Route[] = [
  { method: "POST", pattern: /^\/enrich\/companies$/, handler: enrichCompanies },
  { method: "POST", pattern: /^\/enrich\/contacts$/, handler: enrichContacts },
  { method: "POST", pattern: /^\/records\/companies\/refresh$/, handler: refreshCompanies },
  { method: "GET", pattern: /^\/prospecting\/intent$/, handler: prospectIntent },
  { method: "POST", pattern: /^\/ai\/generate$/, handler: generate },
  {
    method: "POST",
    pattern: new RegExp(`^/ai/agents/${SEGMENT}/conversations$`),
    handler: converse,
  },
  {
    method: "POST",
    pattern: new RegExp(`^/insights/smart-properties/${SEGMENT}/query$`),
    handler: querySmartProperty,
  },
];

async function route(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const allowed: string[] = [];
  for (const { method, pattern, handler } of ROUTES) {
    const match = pattern.exec(url.pathname);
    if (match === null) continue;
    if (method !== request.method) {
      allowed.push(method);
      continue;
    }
    return handler(request, match.slice(1), url);
  }
  if (allowed.length > 0) {
    return json({ error: "method not allowed" }, 405, { Allow: allowed.join(", ") });
  }
  return json({ error: "not found" }, 404);
}

/** A non-empty bearer credential arrived (the gateway injects one); its value is never echoed. */
function authenticated(request: Request): boolean {
  return /^Bearer\s+\S/i.test(request.headers.get("Authorization") ?? "");
}

export default {
  async fetch(request: Request): Promise<Response> {
    let response: Response;
    try {
      response = await route(request);
    } catch (error) {
      if (error instanceof BadRequest) {
        response = json({ error: error.message }, 400);
      } else {
        console.error("demo upstream failed", error);
        response = json({ error: "internal error" }, 500);
      }
    }
    response.headers.set("X-Demo-Authenticated", String(authenticated(request)));
    return response;
  },
} satisfies ExportedHandler;
