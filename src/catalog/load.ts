/** Loads a catalog definition: validates it whole and precompiles its routes. */
import type { z } from "zod";
import { compileRoutes, matchRoute, type RouteMatch } from "./route";
import { type Action, CatalogSchema, type Upstream } from "./schema";

export interface Catalog {
  readonly actions: readonly Action[];
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** The action with this id, if any. */
  action(id: string): Action | undefined;
  /** The action a method and normalized path resolve to (exact, case-sensitive). */
  resolve(method: string, normalizedPath: string): RouteMatch;
}

/** Parses and validates a catalog; throws an Error listing every issue with its path. */
export function loadCatalog(input: unknown): Catalog {
  const parsed = CatalogSchema.safeParse(input);
  if (!parsed.success) {
    const lines = formatIssues(parsed.error.issues);
    throw new Error(`invalid catalog (${lines.length} issue(s)):\n${lines.join("\n")}`);
  }
  // Frozen deep: a caller cannot change a price or a route after the routes are compiled.
  const { actions, upstreams: upstreamList } = deepFreeze(parsed.data);
  const upstreams = new Map(upstreamList.map((u) => [u.id, u]));
  const byId = new Map(actions.map((a) => [a.id, a]));
  const routes = compileRoutes(actions);
  return {
    actions,
    upstreams,
    action: (id) => byId.get(id),
    resolve: (method, normalizedPath) => matchRoute(routes, method, normalizedPath),
  };
}

/** One line per issue, "- actions[2].price.credits: message". */
function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      // Report the alternative that came closest, not every branch's noise.
      const closest = issue.errors.reduce((best, branch) =>
        mismatch(branch) < mismatch(best) ? branch : best,
      );
      if (closest.length > 0) return formatIssues(closest, path);
    }
    return [`- ${formatPath(path)}: ${issue.message}`];
  });
}

/** How badly a union branch missed: a wrong shape (unknown keys, wrong type) weighs most. */
function mismatch(issues: readonly z.core.$ZodIssue[]): number {
  return issues.reduce((sum, issue) => {
    const shape = issue.code === "unrecognized_keys" || issue.code === "invalid_type";
    return sum + (shape ? 10 : 1);
  }, 0);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(catalog)";
  return path
    .map((key, i) => {
      if (typeof key === "number") return `[${key}]`;
      return i === 0 ? String(key) : `.${String(key)}`;
    })
    .join("");
}
