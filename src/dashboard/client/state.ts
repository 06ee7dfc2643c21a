/**
 * What the dashboard remembers: the key (session storage only, for this tab, gone when it
 * closes) and the filters the views share. Filters live in memory; changing one notifies the
 * listeners, which reload the views that depend on it.
 */
import { DAY_MS, day, startOfDay } from "./format";

const KEY_ITEM = "creditgate.dashboard.key";

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_ITEM);
  } catch {
    return null;
  }
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY_ITEM, key);
}

export function forgetKey(): void {
  try {
    sessionStorage.removeItem(KEY_ITEM);
  } catch {
    // storage unavailable: nothing was kept
  }
}

export type RangeChoice = "period" | "7d" | "30d";
export type { GroupBy } from "./types";

import type { GroupBy } from "./types";

export const RANGE_LABELS: Record<RangeChoice, string> = {
  period: "This billing period",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
};

export const GROUP_LABELS: Record<GroupBy, string> = {
  team: "Team",
  action: "Action",
  category: "Category",
};

export interface Filters {
  range: RangeChoice;
  team: string;
  action: string;
  category: string;
  groupBy: GroupBy;
}

/** A time range: inclusive `from`, exclusive `to`, epoch ms. */
export interface Range {
  from: number;
  to: number;
}

/** The range a choice means now, given the billing period. */
export function rangeOf(choice: RangeChoice, period: Range, now = Date.now()): Range {
  if (choice === "period") return period;
  const days = choice === "7d" ? 7 : 30;
  const tomorrow = startOfDay(now) + DAY_MS;
  return { from: tomorrow - days * DAY_MS, to: tomorrow };
}

/** The query parameters of a range and the filters (empty ones left out by the API client). */
export function usageParams(range: Range, filters: Filters): Record<string, string> {
  return {
    from: new Date(range.from).toISOString(),
    to: new Date(range.to).toISOString(),
    team: filters.team,
    action: filters.action,
    category: filters.category,
  };
}

/** `2026-07-01-2026-07-31`: the first and last day of a range (UTC), for file names. */
export function rangeSlug(range: Range): string {
  return `${day(range.from)}-${day(range.to - 1)}`;
}

type Listener = (filters: Filters, changed: keyof Filters) => void;

export class FilterState {
  private value: Filters = { range: "period", team: "", action: "", category: "", groupBy: "team" };
  private readonly listeners: Listener[] = [];

  get current(): Filters {
    return { ...this.value };
  }

  set<K extends keyof Filters>(name: K, value: Filters[K]): void {
    if (this.value[name] === value) return;
    this.value = { ...this.value, [name]: value };
    for (const listener of this.listeners) listener(this.current, name);
  }

  onChange(listener: Listener): void {
    this.listeners.push(listener);
  }
}
