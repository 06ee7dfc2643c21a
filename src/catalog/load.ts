/**
 * Loads a catalog definition: validates it whole (the shapes of schema.ts, then the rules that
 * span fields: a metered price's unit, route parameters, the largest hold, unique ids, known
 * upstreams, routes that cannot overlap) and precompiles its routes.
 */
import { z } from "zod";
import { priceCredits } from "./price";
import {
  compileRoutes,
  matchRoute,
  paramNames,
  parsePattern,
  patternsOverlap,
  type RouteMatch,
  samePattern,
} from "./route";
import { type Action, ActionSchema, MAX_CREDITS, type Upstream, UpstreamSchema } from "./schema";

/** One action's cross-field rules; issue paths are relative to the action. */
function checkAction(action: Action, ctx: z.RefinementCtx) {
  const unit = "unit" in action.price ? action.price.unit : undefined;
  const fromHeader = unit?.from === "response_header";
  if ((action.settlement === "metered") !== fromHeader) {
    ctx.addIssue({
      code: "custom",
      path: ["settlement"],
      message: `action "${action.id}": settlement "metered" and a price unit from "response_header" go together (settlement is "${action.settlement}", unit is ${unit ? `from "${unit.from}"` : "absent"})`,
    });
  }
  if (unit?.from === "body" && !["POST", "PUT", "PATCH"].includes(action.method)) {
    ctx.addIssue({
      code: "custom",
      path: ["price", "unit"],
      message: `action "${action.id}": units from the body need a POST, PUT or PATCH route`,
    });
  }
  const names = paramNames(action.path);
  const duplicates = names.filter((n, i) => names.indexOf(n) !== i);
  if (duplicates.length > 0) {
    ctx.addIssue({
      code: "custom",
      path: ["path"],
      message: `action "${action.id}": parameter ":${duplicates[0]}" appears twice in the path`,
    });
  }
  for (const name of paramNames(action.upstreamPath)) {
    if (!names.includes(name)) {
      ctx.addIssue({
        code: "custom",
        path: ["upstreamPath"],
        message: `action "${action.id}": upstreamPath uses ":${name}" which is not a parameter of path ${action.path}`,
      });
    }
  }
  const hold = priceCredits(action.price, "unit" in action.price ? action.price.maxUnits : 1);
  if (!Number.isSafeInteger(hold) || hold > MAX_CREDITS) {
    ctx.addIssue({
      code: "custom",
      path: ["price"],
      message: `action "${action.id}": the largest hold (${hold} credits) exceeds ${MAX_CREDITS}`,
    });
  }
}

/** The catalog's rules across actions and upstreams. */
function checkCatalog(catalog: { upstreams: Upstream[]; actions: Action[] }, ctx: z.RefinementCtx) {
  const upstreamIds = new Map<string, number>();
  for (const [i, upstream] of catalog.upstreams.entries()) {
    const first = upstreamIds.get(upstream.id);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["upstreams", i, "id"],
        message: `duplicate upstream id "${upstream.id}" (first at upstreams[${first}])`,
      });
    } else upstreamIds.set(upstream.id, i);
  }
  const actionIds = new Map<string, number>();
  const routes = catalog.actions.map((a) => parsePattern(a.path));
  for (const [i, action] of catalog.actions.entries()) {
    const first = actionIds.get(action.id);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["actions", i, "id"],
        message: `duplicate action id "${action.id}" (first at actions[${first}])`,
      });
    } else actionIds.set(action.id, i);
    if (!upstreamIds.has(action.upstream)) {
      ctx.addIssue({
        code: "custom",
        path: ["actions", i, "upstream"],
        message: `action "${action.id}": upstream "${action.upstream}" is not declared in upstreams`,
      });
    }
    // Two routes of one method that can match the same path would make the price ambiguous.
    const route = routes[i] ?? [];
    for (const [j, other] of catalog.actions.slice(0, i).entries()) {
      const otherRoute = routes[j] ?? [];
      if (other.method !== action.method || !patternsOverlap(route, otherRoute)) continue;
      const same = samePattern(route, otherRoute);
      ctx.addIssue({
        code: "custom",
        path: ["actions", i, "path"],
        message: `action "${action.id}": ${same ? "duplicate" : "ambiguous"} route ${action.method} ${action.path} conflicts with "${other.id}" (${other.method} ${other.path})${same ? "" : ": a parameter overlaps a literal segment"}`,
      });
    }
  }
}

/** The catalog as loaded: the shapes, each action's rules, then the catalog's. */
const CatalogSchema = z
  .strictObject({
    upstreams: z.array(UpstreamSchema).min(1),
    actions: z.array(ActionSchema.superRefine(checkAction)).min(1),
  })
  .superRefine(checkCatalog);

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
