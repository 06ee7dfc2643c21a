/** The path an action forwards to, built from its template: never from the client's path. */
import { parsePattern } from "../config/pattern";
import type { Action } from "../config/schema";

/** Fills the action's upstreamPath template with the matched, percent-encoded params. */
export function upstreamPath(action: Action, params: Readonly<Record<string, string>>): string {
  const segments = parsePattern(action.upstreamPath).map((segment) => {
    if (segment.kind === "literal") return segment.value;
    const value = Object.hasOwn(params, segment.name) ? params[segment.name] : undefined;
    // The matcher never yields these; refuse them anyway so no value can climb the upstream path.
    if (value === undefined || value === "" || value === "." || value === "..") {
      throw new Error(`action ${action.id}: no usable value for :${segment.name}`);
    }
    return encodeURIComponent(value);
  });
  return `/${segments.join("/")}`;
}
