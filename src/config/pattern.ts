/**
 * Route patterns of the configuration ("/v1/ai/agents/:agentId/conversations"): parsing, and
 * the overlap test that refuses ambiguous routes when the file is loaded.
 */
import { PARAM_SEGMENT } from "./schema";

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
