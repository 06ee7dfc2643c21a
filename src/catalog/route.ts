/**
 * Route patterns of the catalog ("/v1/ai/agents/:agentId/conversations"): parsing, the overlap
 * test the schema uses to refuse ambiguous routes, and the matcher compiled once at load.
 */
import { PARAM_VALUE } from "../lib/formats";
import { type Action, PARAM_SEGMENT } from "./schema";

export type Segment = { kind: "literal"; value: string } | { kind: "param"; name: string };

/** Splits a pattern that starts with "/" into its segments ("/" alone has none). */
export function parsePattern(pattern: string): Segment[] {
  return pattern
    .split("/")
    .slice(1)
    .filter((part) => part !== "")
    .map((part): Segment => {
      const param = PARAM_SEGMENT.exec(part);
      return param?.[1] ? { kind: "param", name: param[1] } : { kind: "literal", value: part };
    });
}

/** The parameter names of a pattern, in order. */
export function paramNames(pattern: string): string[] {
  return parsePattern(pattern).flatMap((s) => (s.kind === "param" ? [s.name] : []));
}

/** Whether some path matches both patterns (a parameter matches any literal segment). */
export function patternsOverlap(a: readonly Segment[], b: readonly Segment[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((sa, i) => {
    const sb = b[i];
    if (!sb) return false;
    if (sa.kind === "param" || sb.kind === "param") return true;
    return sa.value === sb.value;
  });
}

/** Whether a pattern and another are the same route once parameter names are ignored. */
export function samePattern(a: readonly Segment[], b: readonly Segment[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((sa, i) => {
    const sb = b[i];
    if (!sb || sa.kind !== sb.kind) return false;
    return sa.kind === "param" || (sb.kind === "literal" && sa.value === sb.value);
  });
}

export type RouteMatch =
  | { kind: "action"; action: Action; params: Record<string, string> }
  | { kind: "method_not_allowed"; allow: string[] }
  | { kind: "none" };

interface CompiledRoute {
  action: Action;
  segments: readonly Segment[];
}

/** Routes grouped by segment count; the schema guarantees at most one match per method. */
export type RouteTable = ReadonlyMap<number, readonly CompiledRoute[]>;

/** Precompiles the actions' patterns once, at load. */
export function compileRoutes(actions: readonly Action[]): RouteTable {
  const table = new Map<number, CompiledRoute[]>();
  for (const action of actions) {
    const segments = parsePattern(action.path);
    const bucket = table.get(segments.length) ?? [];
    bucket.push({ action, segments });
    table.set(segments.length, bucket);
  }
  return table;
}

/** Matches a normalized path: literals exactly (case-sensitive), params one safe segment. */
export function matchRoute(table: RouteTable, method: string, normalizedPath: string): RouteMatch {
  const parts = normalizedPath === "/" ? [] : normalizedPath.split("/").slice(1);
  const candidates = table.get(parts.length);
  if (!candidates || !normalizedPath.startsWith("/")) return { kind: "none" };
  const allow: string[] = [];
  for (const route of candidates) {
    const params = bindParams(route.segments, parts);
    if (!params) continue;
    if (route.action.method === method) return { kind: "action", action: route.action, params };
    allow.push(route.action.method);
  }
  if (allow.length === 0) return { kind: "none" };
  return { kind: "method_not_allowed", allow: [...new Set(allow)].sort() };
}

function bindParams(
  segments: readonly Segment[],
  parts: readonly string[],
): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (const [i, segment] of segments.entries()) {
    const part = parts[i];
    if (part === undefined) return null;
    if (segment.kind === "literal") {
      if (part !== segment.value) return null;
    } else {
      if (!PARAM_VALUE.test(part) || part === "." || part === "..") return null;
      params[segment.name] = part;
    }
  }
  return params;
}
