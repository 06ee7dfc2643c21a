/**
 * What every request carries from its start to its log line (README: Logs): its id, when it
 * started, and the facts its log line reports. The Hono middleware and the proxy's
 * direct path (`app.ts`) open and close a request the same way through these functions.
 */
import { HTTPException } from "hono/http-exception";
import { Problem, problemResponse } from "./problem";

/** Facts the request's log line reports (account, action, decision, credits, ...). */
export type LogFields = Record<string, string | number | boolean | null>;

export interface RequestScope {
  requestId: string;
  startedAt: number;
  log: LogFields;
  /** One routine priced call in this many gets its log line (0: none); see `closeScope`. */
  logEvery?: number;
}

/** The scope the Hono middleware opened, read back from a route's context. */
export function scopeOf(c: {
  get(key: "requestId"): string;
  get(key: "startedAt"): number;
  get(key: "log"): LogFields;
}): RequestScope {
  return {
    requestId: c.get("requestId") ?? crypto.randomUUID(),
    startedAt: c.get("startedAt") ?? Date.now(),
    log: c.get("log") ?? {},
  };
}

/** A new request's scope; `logSample` is the share of routine priced calls that are logged. */
export function openScope(logSample = 1): RequestScope {
  const logEvery = logSample > 0 ? Math.max(1, Math.round(1 / logSample)) : 0;
  return { requestId: crypto.randomUUID(), startedAt: Date.now(), log: {}, logEvery };
}

/** What the proxy's log line says of a priced call that went as it should. */
const ROUTINE_DECISIONS = new Set(["forwarded", "replayed", "quoted", "deduplicated"]);

/**
 * Whether the request was a routine priced call: the proxy decided it (its line has a
 * decision), the answer is 2xx, and nothing went wrong on the way (no error, no failed
 * settlement, no hold lost before it was settled). Such a call is recorded exactly by its usage
 * event, so its log line is sampled; anything else always gets one.
 */
function isRoutine(log: LogFields, status: number): boolean {
  return (
    status >= 200 &&
    status < 300 &&
    typeof log.decision === "string" &&
    ROUTINE_DECISIONS.has(log.decision) &&
    log.error === undefined &&
    log.settleError === undefined &&
    log.holdLost === undefined &&
    log.settled !== false
  );
}

/** Routine calls seen by this isolate: every `logEvery`-th is logged, counting from the first. */
let routineCalls = 0;

/**
 * Stamps the request id and, unless the handler measured its own, the gateway's time on the
 * answer, then writes the request's one log line. Never a key or a secret: only what `log` holds.
 * A routine priced call is logged only if it is the sampled one of its `logEvery`; its line then
 * says how many calls it stands for (`sampled`).
 */
export function closeScope(scope: RequestScope, method: string, path: string, res: Response) {
  res.headers.set("x-request-id", scope.requestId);
  const ms = Date.now() - scope.startedAt;
  if (!res.headers.has("server-timing")) res.headers.set("server-timing", `gateway;dur=${ms}`);
  const every = scope.logEvery ?? 1;
  const sampled = every !== 1 && isRoutine(scope.log, res.status);
  if (sampled && (every === 0 || routineCalls++ % every !== 0)) return;
  const line: LogFields = { requestId: scope.requestId, method, path, status: res.status };
  Object.assign(line, scope.log);
  if (typeof scope.log.gatewayMs !== "number") line.gatewayMs = ms;
  if (sampled) line.sampled = every;
  console.log(JSON.stringify(line));
}

/**
 * The answer to anything a handler threw: its problem+json when it is a refusal, else a 500
 * that names only the request id (the error itself goes to the log line).
 */
export function errorResponse(error: unknown, scope: RequestScope): Response {
  if (error instanceof Problem) {
    if (error.cause !== undefined) scope.log.error = describe(error.cause);
    return problemResponse(error, scope.requestId);
  }
  if (error instanceof HTTPException && error.status < 500) {
    const code =
      error.status === 413
        ? "payload_too_large"
        : error.status === 415
          ? "unsupported_media_type"
          : "bad_request";
    return problemResponse(new Problem(code, error.message || "Bad request."), scope.requestId);
  }
  // Never echo internals: the message goes to the log, the client gets a request id.
  scope.log.error = describe(error);
  return problemResponse(
    new Problem("internal_error", "Something went wrong; quote the request id."),
    scope.requestId,
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
