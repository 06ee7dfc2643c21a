/**
 * The catalog's route matcher, compiled once at load from the configuration's route patterns
 * (config/pattern.ts parses them and refuses ambiguous ones).
 */
import { parsePattern, type Segment } from "../config/pattern";
import type { Action } from "../config/schema";
import { PARAM_VALUE } from "../lib/formats";

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
