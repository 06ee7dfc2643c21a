/**
 * The gateway's HTTP API as the dashboard calls it: same origin, the key in the Authorization
 * header only (never in a URL, never logged). Refusals arrive as problem+json and are thrown as
 * `ApiError`, which carries the problem for the error banner.
 */
import type { Page, Problem } from "./types";

/** Query parameters; undefined and empty values are left out. */
export type Params = Record<string, string | number | undefined>;

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = "ApiError";
  }
}

/** The problem of any failure: an `ApiError`'s own, or one that describes a client error. */
export function problemOfError(error: unknown): Problem {
  if (error instanceof ApiError) return error.problem;
  return {
    type: "about:blank",
    title: "Something went wrong",
    status: 0,
    code: "client",
    detail: error instanceof Error ? error.message : String(error),
    requestId: "",
  };
}

const TIMEOUT_MS = 30_000;
/** An export streams the whole range: give it longer. */
const EXPORT_TIMEOUT_MS = 300_000;

function isProblem(value: unknown): value is Problem {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.status === "number" && typeof v.detail === "string";
}

/** The path with its query string; the key is never part of it. */
export function pathWith(path: string, params: Params = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** The problem of a failed response, or one made up from its status when it has none. */
async function problemOf(res: Response): Promise<Problem> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (isProblem(body)) {
    return {
      type: String(body.type ?? "about:blank"),
      title: String(body.title ?? res.statusText),
      status: body.status,
      code: String(body.code ?? ""),
      detail: body.detail,
      requestId: String(body.requestId ?? res.headers.get("x-request-id") ?? ""),
      ...(typeof body.field === "string" ? { field: body.field } : {}),
    };
  }
  return {
    type: "about:blank",
    title: res.statusText || "Request failed",
    status: res.status,
    code: "",
    detail: `The gateway answered ${res.status} without a problem description.`,
    requestId: res.headers.get("x-request-id") ?? "",
  };
}

function networkProblem(error: unknown): Problem {
  const timedOut = error instanceof DOMException && error.name === "TimeoutError";
  return {
    type: "about:blank",
    title: timedOut ? "Timed out" : "Network error",
    status: 0,
    code: timedOut ? "timeout" : "network",
    detail: timedOut
      ? "The gateway did not answer in time. Check your connection and try again."
      : "The gateway could not be reached. Check your connection and try again.",
    requestId: "",
  };
}

export class Api {
  constructor(private readonly key: string) {}

  private async send(
    path: string,
    accept: string,
    timeoutMs = TIMEOUT_MS,
    write?: { method: string; body?: unknown },
  ): Promise<Response> {
    let res: Response;
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}`, accept };
    if (write?.body !== undefined) headers["content-type"] = "application/json";
    try {
      res = await fetch(path, {
        method: write?.method ?? "GET",
        body: write?.body === undefined ? undefined : JSON.stringify(write.body),
        headers,
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new ApiError(networkProblem(error));
    }
    if (!res.ok) throw new ApiError(await problemOf(res));
    return res;
  }

  /** One JSON GET. */
  async get<T>(path: string, params: Params = {}): Promise<T> {
    const res = await this.send(pathWith(path, params), "application/json");
    return (await res.json()) as T;
  }

  /**
   * One change through the API (POST, PUT, PATCH, DELETE): the JSON answer, or null for 204. A
   * refusal throws `ApiError` with the API's problem, so the form can show its detail.
   */
  async write<T>(method: string, path: string, body?: unknown): Promise<T | null> {
    const res = await this.send(path, "application/json", TIMEOUT_MS, { method, body });
    if (res.status === 204) return null;
    return (await res.json()) as T;
  }

  /** Every item of a `{ data, nextCursor }` list, 200 a page, at most `maxPages` pages. */
  async all<T>(path: string, maxPages = 50): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < maxPages; i++) {
      const page = await this.get<Page<T>>(path, { limit: 200, cursor });
      items.push(...page.data);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    return items;
  }

  /** A whole response as a Blob (an export), fetched with the key in the header. */
  async blob(path: string, params: Params, accept: string): Promise<Blob> {
    const res = await this.send(pathWith(path, params), accept, EXPORT_TIMEOUT_MS);
    return res.blob();
  }
}
