/** The priced actions: schema, loading, route matching, pricing. */
import { z } from "zod";
import { demoCatalogDefinition } from "./demo";
import { loadCatalog } from "./load";
import { type Action, CATEGORIES, METHODS, PriceSchema, SEATS, SETTLEMENTS, TIERS } from "./schema";

export { demoCatalogDefinition } from "./demo";
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
export * from "./schema";
export { upstreamPath } from "./upstream";

/** The catalog the gateway serves; loading it at import makes a bad catalog fail every test. */
export const demoCatalog = loadCatalog(demoCatalogDefinition);

/** The public shape of an action in `GET /admin/v1/catalog`. */
const ActionDescriptionSchema = z.object({
  id: z.string(),
  name: z.string(),
  category: z.enum(CATEGORIES),
  method: z.enum(METHODS),
  path: z.string(),
  price: PriceSchema,
  settlement: z.enum(SETTLEMENTS),
  minTier: z.enum(TIERS),
  seat: z.enum(SEATS).optional(),
  timeoutMs: z.int(),
});
export type ActionDescription = z.output<typeof ActionDescriptionSchema>;

/** An action as the operator's catalog listing shows it (no upstream details). */
export function describeAction(action: Action): ActionDescription {
  const description: ActionDescription = {
    id: action.id,
    name: action.name,
    category: action.category,
    method: action.method,
    path: action.path,
    price: structuredClone(action.price),
    settlement: action.settlement,
    minTier: action.minTier,
    timeoutMs: action.timeoutMs,
  };
  if (action.seat !== undefined) description.seat = action.seat;
  return description;
}
