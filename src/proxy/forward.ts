/** Step 4: the call to the upstream, with its credential, a timeout and failures classified. */
import { type Action, type Catalog, upstreamPath } from "../catalog";
import type { Caller } from "../ledger/contract";
import { forwardHeaders } from "./headers";

export type UpstreamResult =
  | { ok: true; response: Response; ms: number }
  | { ok: false; failure: "timeout" | "connection_error"; ms: number; detail: string };

interface Fetcher {
  fetch(input: Request | string, init?: RequestInit): Promise<Response>;
}

function isFetcher(value: unknown): value is Fetcher {
  return (
    typeof value === "object" && value !== null && typeof (value as Fetcher).fetch === "function"
  );
}

export async function forward(
  catalog: Catalog,
  env: Env,
  action: Action,
  params: Record<string, string>,
  request: Request,
  body: ArrayBuffer | null,
  context: { accountId: string; caller: Caller; requestId: string; search: string },
): Promise<UpstreamResult> {
  const upstream = catalog.upstreams.get(action.upstream);
  if (!upstream) throw new Error(`catalog names unknown upstream ${action.upstream}`);
  const path = upstreamPath(action, params);
  const base = upstream.url ?? "https://upstream.internal";
  const target = `${base.replace(/\/$/, "")}${path}${context.search}`;

  let credential: { header: string; value: string } | null = null;
  if (upstream.credential) {
    const secret = (env as unknown as Record<string, unknown>)[upstream.credential.secretEnv];
    if (typeof secret !== "string" || secret === "") {
      throw new Error(
        `upstream ${upstream.id} credential ${upstream.credential.secretEnv} is not set`,
      );
    }
    credential = {
      header: upstream.credential.header,
      value: `${upstream.credential.prefix ?? ""}${secret}`,
    };
  }
  const headers = forwardHeaders(
    request.headers,
    {
      "x-creditgate-account": context.accountId,
      "x-creditgate-team": context.caller.teamId,
      "x-creditgate-member": context.caller.memberId,
      "x-creditgate-request-id": context.requestId,
    },
    credential,
  );

  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  const init: RequestInit = {
    method: request.method,
    headers,
    body: hasBody ? (body ?? request.body) : null,
    redirect: "manual",
  };
  const fetcher: Fetcher = upstream.binding
    ? bindingFetcher(env, upstream.binding)
    : { fetch: (input, i) => fetch(input, i) };

  const started = Date.now();
  // The timeout bounds the wait for the answer to begin: once the upstream answers, the call is
  // settled on its status and the body streams through; aborting it later would cut short an
  // answer already charged for.
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("upstream timeout", "TimeoutError")),
    action.timeoutMs,
  );
  try {
    const response = await fetcher.fetch(target, { ...init, signal: controller.signal });
    return { ok: true, response, ms: Date.now() - started };
  } catch (error) {
    const ms = Date.now() - started;
    const name = error instanceof Error ? error.name : "";
    if (name === "TimeoutError" || name === "AbortError") {
      return {
        ok: false,
        failure: "timeout",
        ms,
        detail: `The upstream did not answer within ${action.timeoutMs} ms.`,
      };
    }
    return {
      ok: false,
      failure: "connection_error",
      ms,
      detail: "The upstream could not be reached.",
    };
  } finally {
    clearTimeout(timer);
  }
}

function bindingFetcher(env: Env, binding: string): Fetcher {
  const service = (env as unknown as Record<string, unknown>)[binding];
  if (!isFetcher(service)) throw new Error(`service binding ${binding} is not configured`);
  return service;
}
