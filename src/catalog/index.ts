/** The priced actions of the configuration: loading, route matching, pricing. */
import { z } from "zod";
import { config } from "../config/bundled";
import { type Action, METHODS, PriceSchema, SETTLEMENTS } from "../config/schema";
import { type Catalog, loadCatalog } from "./load";

export type { Action, Price, Upstream } from "../config/schema";
export { type Catalog, loadCatalog } from "./load";
export { isPlainPath, type NormalizedPath, normalizePath } from "./path";
export {
  creditsFor,
  holdCredits,
  needsJsonBody,
  parseReportedUnits,
  termsOf,
  type UnitsResult,
  unitsForRequest,
} from "./price";
export type { RouteMatch } from "./route";
export { upstreamPath } from "./upstream";

/** The catalog the gateway serves: the configuration built into the worker. */
export const bundledCatalog: Catalog = loadCatalog(config);

/** The public shape of an action in `GET /admin/v1/catalog`. */
const ActionDescriptionSchema = z.object({
  id: z.string(),
  name: z.string(),
  category: z.string(),
  method: z.enum(METHODS),
  path: z.string(),
  price: PriceSchema,
  settlement: z.enum(SETTLEMENTS),
  /** The plans that include the action. */
  plans: z.array(z.string()),
  seat: z.string().optional(),
  timeoutMs: z.int(),
});
export type ActionDescription = z.output<typeof ActionDescriptionSchema>;

/** An action as the operator's catalog listing shows it (no upstream details). */
export function describeAction(catalog: Catalog, action: Action): ActionDescription {
  const description: ActionDescription = {
    id: action.id,
    name: action.name,
    category: action.category,
    method: action.method,
    path: action.path,
    price: structuredClone(action.price),
    settlement: action.settlement,
    plans: [...catalog.config.plansIncluding(action)],
    timeoutMs: action.timeoutMs,
  };
  if (action.seat !== undefined) description.seat = action.seat;
  return description;
}
