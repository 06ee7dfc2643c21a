/** The catalog: a configuration's actions and upstreams, with their routes compiled once. */
import type { Config } from "../config/load";
import type { Action, Upstream } from "../config/schema";
import { compileRoutes, matchRoute, type RouteMatch } from "./route";

export interface Catalog {
  /** The configuration the catalog is of (plans, seats, categories). */
  readonly config: Config;
  readonly actions: readonly Action[];
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** The action with this id, if any. */
  action(id: string): Action | undefined;
  /** The action a method and normalized path resolve to (exact, case-sensitive). */
  resolve(method: string, normalizedPath: string): RouteMatch;
}

export function loadCatalog(config: Config): Catalog {
  const upstreams = new Map(config.upstreams.map((u) => [u.id, u]));
  const byId = new Map(config.actions.map((a) => [a.id, a]));
  const routes = compileRoutes(config.actions);
  return {
    config,
    actions: config.actions,
    upstreams,
    action: (id) => byId.get(id),
    resolve: (method, normalizedPath) => matchRoute(routes, method, normalizedPath),
  };
}
