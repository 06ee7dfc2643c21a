/**
 * Loads a configuration (creditgate.config.json): validates it whole, first the shapes of
 * schema.ts, then the rules that span fields (unique ids; every reference resolves: a plan's
 * includes, an action's category, seat and upstream; a metered price's unit; route parameters;
 * the largest hold; routes that cannot overlap), and freezes it. Every error names the file,
 * the path of the field and what is wrong, and all of them are listed at once.
 */
import { z } from "zod";
import { paramNames, parsePattern, patternsOverlap, samePattern } from "./pattern";
import { priceCredits, sameShape } from "./price";
import {
  type Action,
  ActionSchema,
  type AddOn,
  ConfigShape,
  MAX_CREDITS,
  NO_SEAT,
  type Plan,
  type Upstream,
  type Value,
} from "./schema";

/** A loaded configuration: validated, defaults applied, frozen. */
export interface Config {
  /** Where it came from, for messages. */
  readonly source: string;
  readonly seats: readonly string[];
  readonly categories: readonly string[];
  readonly plans: readonly Plan[];
  readonly addOns: readonly AddOn[];
  readonly upstreams: readonly Upstream[];
  readonly actions: readonly Action[];
  /** What a credit and an hour of manual work cost, for the value report; null: not declared. */
  readonly value: Value | null;
  /** The plan with this id, if the file declares one. */
  plan(id: string): Plan | undefined;
  /** The add-on with this id, if the file declares one. */
  addOn(id: string): AddOn | undefined;
  /** The ids of the plans that include an action (by its id or its category), in file order. */
  plansIncluding(action: Pick<Action, "id" | "category">): readonly string[];
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly string[],
  ) {
    super(`invalid configuration ${source} (${issues.length} issue(s)):\n${issues.join("\n")}`);
  }
}

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
  if (action.dedupe !== undefined && unit?.from !== "body") {
    ctx.addIssue({
      code: "custom",
      path: ["dedupe"],
      message: `action "${action.id}": dedupe needs a price whose units are the records of a body array (unit from "body"); the unit is ${unit ? `from "${unit.from}"` : "absent"}`,
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
  const prices = [
    { price: action.price, path: ["price"] },
    ...(action.priceSchedule ?? []).map((e, i) => ({
      price: e.price,
      path: ["priceSchedule", i, "price"],
    })),
  ];
  for (const { price, path } of prices) {
    const hold = priceCredits(price, "unit" in price ? price.maxUnits : 1);
    if (!Number.isSafeInteger(hold) || hold > MAX_CREDITS) {
      ctx.addIssue({
        code: "custom",
        path,
        message: `action "${action.id}": the largest hold (${hold} credits) exceeds ${MAX_CREDITS}`,
      });
    }
  }
  let last = Number.NEGATIVE_INFINITY;
  for (const [i, entry] of (action.priceSchedule ?? []).entries()) {
    const from = Date.parse(entry.from);
    if (from <= last) {
      ctx.addIssue({
        code: "custom",
        path: ["priceSchedule", i, "from"],
        message: `action "${action.id}": priceSchedule entries must be in time order, each later than the one before`,
      });
    }
    last = from;
    if (!sameShape(action.price, entry.price)) {
      ctx.addIssue({
        code: "custom",
        path: ["priceSchedule", i, "price"],
        message: `action "${action.id}": a scheduled price counts units as \`price\` does (per request, or the same unit)`,
      });
    }
  }
}

/** The rules across the file: unique ids, references that resolve, routes that cannot clash. */
function checkConfig(config: z.output<typeof ConfigShape>, ctx: z.RefinementCtx) {
  const issue = (path: PropertyKey[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });
  const seats = uniqueIds(config.seats, ["seats"], "seat", issue);
  const categories = uniqueIds(config.categories, ["categories"], "category", issue);
  const noSeat = config.seats.indexOf(NO_SEAT);
  if (noSeat >= 0) {
    issue(["seats", noSeat], `"${NO_SEAT}" is the seat of a member without one; do not declare it`);
  }
  const planIds = config.plans.map((p) => p.id);
  uniqueIds(planIds, ["plans"], "plan", issue, "id");
  uniqueIds(
    config.addOns.map((a) => a.id),
    ["addOns"],
    "add-on",
    issue,
    "id",
  );
  const upstreamIds = new Map<string, number>();
  for (const [i, upstream] of config.upstreams.entries()) {
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
  const routes = config.actions.map((a) => parsePattern(a.path));
  const actionList = config.actions.map((a) => `"${a.id}"`).join(", ");
  for (const [i, action] of config.actions.entries()) {
    const first = actionIds.get(action.id);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["actions", i, "id"],
        message: `duplicate action id "${action.id}" (first at actions[${first}])`,
      });
    } else actionIds.set(action.id, i);
    if (!categories.has(action.category)) {
      issue(
        ["actions", i, "category"],
        `action "${action.id}": category "${action.category}" is not one of categories (${[...categories.keys()].join(", ")})`,
      );
    }
    if (action.seat !== undefined && !seats.has(action.seat)) {
      issue(
        ["actions", i, "seat"],
        `action "${action.id}": seat "${action.seat}" is not one of seats (${[...seats.keys()].join(", ") || "none declared"})`,
      );
    }
    if (!upstreamIds.has(action.upstream)) {
      ctx.addIssue({
        code: "custom",
        path: ["actions", i, "upstream"],
        message: `action "${action.id}": upstream "${action.upstream}" is not declared in upstreams`,
      });
    }
    // Two routes of one method that can match the same path would make the price ambiguous.
    const route = routes[i] ?? [];
    for (const [j, other] of config.actions.slice(0, i).entries()) {
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
  // Actions that share a dedupe group share its records, so they must agree on its window.
  const groups = new Map<string, { action: Action; index: number }>();
  for (const [i, action] of config.actions.entries()) {
    if (!action.dedupe) continue;
    const group = dedupeGroup(action) ?? action.id;
    const first = groups.get(group);
    if (!first) groups.set(group, { action, index: i });
    else if (first.action.dedupe?.windowDays !== action.dedupe.windowDays) {
      issue(
        ["actions", i, "dedupe", "windowDays"],
        `action "${action.id}": dedupe group "${group}" has windowDays ${first.action.dedupe?.windowDays} at "${first.action.id}" (actions[${first.index}]) and ${action.dedupe.windowDays} here; one group has one window`,
      );
    }
  }
  const known = new Set(config.actions.map((a) => a.id));
  for (const [p, plan] of config.plans.entries()) {
    for (const [k, ref] of plan.includes.entries()) {
      if (categories.has(ref) || known.has(ref)) continue;
      issue(
        ["plans", p, "includes", k],
        `plan "${plan.id}" includes "${ref}", which is neither a category (${[...categories.keys()].join(", ")}) nor an action (${actionList})`,
      );
    }
  }
}

/** The dedupe group of an action (its own id unless it names one), or null without dedupe. */
export function dedupeGroup(action: Pick<Action, "id" | "dedupe">): string | null {
  return action.dedupe ? (action.dedupe.group ?? action.id) : null;
}

/** Refuses an id listed twice; returns each id with its first index. */
function uniqueIds(
  ids: readonly string[],
  at: PropertyKey[],
  what: string,
  issue: (path: PropertyKey[], message: string) => void,
  field?: string,
): Map<string, number> {
  const first = new Map<string, number>();
  for (const [i, id] of ids.entries()) {
    const seen = first.get(id);
    if (seen === undefined) first.set(id, i);
    else {
      const path = field ? [...at, i, field] : [...at, i];
      issue(path, `duplicate ${what} id "${id}" (first at ${String(at[0])}[${seen}])`);
    }
  }
  return first;
}

/** The file as loaded: the shapes, each action's rules, then the rules across the file. */
const ConfigSchema = ConfigShape.extend({
  actions: z.array(ActionSchema.superRefine(checkAction)).min(1),
}).superRefine(checkConfig);

/** Parses and validates a configuration; throws a ConfigError listing every issue with its path. */
export function loadConfig(input: unknown, source = "creditgate.config.json"): Config {
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) throw new ConfigError(source, formatIssues(parsed.error.issues));
  // Frozen deep: nothing can change a price, a plan or a route after the file is loaded.
  const data = deepFreeze(parsed.data);
  const plans = new Map(data.plans.map((p) => [p.id, p]));
  const addOns = new Map(data.addOns.map((a) => [a.id, a]));
  const including = (action: Pick<Action, "id" | "category">) =>
    data.plans
      .filter((p) => p.includes.includes(action.id) || p.includes.includes(action.category))
      .map((p) => p.id);
  // Asked on every call: each action's plans are worked out once.
  const byAction = new Map(data.actions.map((a) => [a.id, Object.freeze(including(a))]));
  return {
    source,
    seats: data.seats,
    categories: data.categories,
    plans: data.plans,
    addOns: data.addOns,
    upstreams: data.upstreams,
    actions: data.actions,
    value: data.value ?? null,
    plan: (id) => plans.get(id),
    addOn: (id) => addOns.get(id),
    plansIncluding: (action) => byAction.get(action.id) ?? including(action),
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
