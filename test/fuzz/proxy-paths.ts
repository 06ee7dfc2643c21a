/**
 * Spellings of a catalog path: percent-encoded characters and at most one structural trick
 * (double slash, dot segments, trailing slash, backslash) that every standard server resolves to
 * the same path, and tricks that change its meaning (case, encoded separators, double encoding,
 * controls, malformed escapes, Unicode, extra segments, over-long, matrix parameters). Plus
 * `soupCase`: catalog paths mutated with all of those at random, judged only by what they reach.
 */
import fc from "fast-check";
import type { Action } from "../../src/catalog";
import { chaosActions } from "./harness";
import {
  ANY_ACTION,
  FRESH_RECORD,
  type Part,
  type ProxyCase,
  sometimes,
  type Who,
} from "./proxy-case";

const segmentValue = fc
  .stringMatching(/^[A-Za-z0-9._~-]{1,16}$/)
  .filter((v) => v !== "." && v !== "..");
const hex = (c: string, lower: boolean) => {
  const h = (c.codePointAt(0) ?? 0).toString(16).padStart(2, "0");
  return `%${lower ? h : h.toUpperCase()}`;
};

/** Tricks that change what the path means, so the call must be refused. */
const SPOILING = [
  "case flip",
  "encoded slash",
  "encoded backslash",
  "double encoding",
  "encoded control",
  "malformed escape",
  "unicode",
  "junk segment",
  "over-long",
  "matrix parameter",
] as const;
/** Tricks a standard server resolves to the same path: at most one per case, so none interfere. */
const STRUCTURAL = [
  "double slash",
  "dot segment",
  "dot-dot",
  "encoded dot-dot",
  "trailing slash",
  "backslash",
] as const;

interface PathPlan {
  params: Record<string, string>;
  encode: { seg: number; at: number; lower: boolean }[];
  spoil: { trick: (typeof SPOILING)[number]; seg: number; at: number; pick: number } | null;
  structural: { trick: (typeof STRUCTURAL)[number]; at: number; filler: string } | null;
}

const CONTROL = ["%00", "%09", "%0A", "%0D", "%1B", "%7F"];
/** Each ends in a non-hex character, so it cannot join what follows into a valid escape. */
const MALFORMED = ["%z", "%zz", "%e2%80z", "%C0%AF", "%ED%A0%80", "%2z", "%%"];
const UNICODE = ["ı", "ſ", "ｃ", "é", "\u200b", "\u0430", "K"];
const DOTDOT = ["%2e%2e", "%2E%2e", ".%2e", "%2e."];

/** Applies a plan to an action's path pattern; returns the raw path and the tricks used. */
function spell(action: Action, plan: PathPlan): { path: string; tricks: string[] } {
  const tricks: string[] = [];
  const pattern = action.path.split("/").slice(1);
  const isParam = pattern.map((s) => s.startsWith(":"));
  const segs = pattern.map((s) => (s.startsWith(":") ? (plan.params[s.slice(1)] ?? "x") : s));
  let joined: string | null = null;
  if (plan.spoil) {
    const { trick, pick } = plan.spoil;
    const literals = segs
      .map((_, i) => i)
      .filter((i) => !isParam[i] && /[a-z]/.test(pattern[i] ?? ""));
    const i = plan.spoil.seg % segs.length;
    const lit = literals[plan.spoil.seg % literals.length] ?? 0;
    const s = segs[i] ?? "";
    const at = plan.spoil.at % (s.length + 1);
    const insert = (piece: string) => {
      segs[i] = `${s.slice(0, at)}${piece}${s.slice(at)}`;
    };
    tricks.push(trick);
    switch (trick) {
      case "case flip": {
        const t = segs[lit] ?? "";
        const k = [...t].findIndex((c, j) => j >= at % t.length && /[a-z]/.test(c));
        const j = k >= 0 ? k : t.search(/[a-z]/);
        segs[lit] = `${t.slice(0, j)}${t.charAt(j).toUpperCase()}${t.slice(j + 1)}`;
        break;
      }
      case "encoded slash":
      case "encoded backslash": {
        const sep = trick === "encoded slash" ? ["%2F", "%2f"][pick % 2] : ["%5C", "%5c"][pick % 2];
        const j = Math.min(i, segs.length - 2);
        if (j >= 0) segs.splice(j, 2, `${segs[j]}${sep}${segs[j + 1]}`);
        else insert(sep ?? "%2F");
        break;
      }
      case "double encoding":
        insert(`%25${(0x61 + (pick % 26)).toString(16)}`);
        break;
      case "encoded control":
        insert(CONTROL[pick % CONTROL.length] ?? "%00");
        break;
      case "malformed escape":
        insert(MALFORMED[pick % MALFORMED.length] ?? "%");
        break;
      case "unicode": {
        const t = segs[lit] ?? "";
        segs[lit] =
          `${t.slice(0, at % (t.length + 1))}${UNICODE[pick % UNICODE.length]}${t.slice(at % (t.length + 1))}`;
        break;
      }
      case "junk segment":
        segs.splice(i + (pick % 2), 0, `zz${pick}`);
        break;
      case "over-long":
        segs.push("a".repeat(2100));
        break;
      case "matrix parameter":
        segs[i] = `${s};v=${pick}`;
        break;
    }
  }
  // Percent-encoding an unreserved ASCII character outside any escape: decoded once, it is the
  // same character. After the spoiling trick, so it can hide no refusal.
  for (const mark of plan.encode) {
    const i = mark.seg % segs.length;
    const s = segs[i] ?? "";
    const spots = [...s.matchAll(/[A-Za-z0-9._~-]/g)]
      .map((m) => m.index)
      .filter((j) => !s.slice(Math.max(0, j - 2), j).includes("%"));
    const j = spots[mark.at % Math.max(1, spots.length)];
    if (j === undefined) continue;
    segs[i] = `${s.slice(0, j)}${hex(s.charAt(j), mark.lower)}${s.slice(j + 1)}`;
    tricks.push("encoded character");
  }
  if (plan.structural) {
    const { trick, filler } = plan.structural;
    const at = 1 + (plan.structural.at % segs.length);
    tricks.push(trick);
    switch (trick) {
      case "double slash":
        segs.splice(at, 0, "");
        break;
      case "dot segment":
        segs.splice(at, 0, ".");
        break;
      case "dot-dot":
        segs.splice(at, 0, filler, "..");
        break;
      case "encoded dot-dot":
        segs.splice(at, 0, filler, DOTDOT[filler.length % DOTDOT.length] ?? "%2e%2e");
        break;
      case "trailing slash":
        segs.push("");
        break;
      case "backslash": {
        const parts = [...segs];
        joined = `/${parts.slice(0, at).join("/")}\\${parts.slice(at).join("/")}`;
        break;
      }
    }
  }
  return { path: joined ?? `/${segs.join("/")}`, tricks };
}

/** The action's path, spelled plainly or with tricks. */
export function pathArb(action: Action): fc.Arbitrary<Part<string> & { tricks: string[] }> {
  const names = action.path
    .split("/")
    .filter((s) => s.startsWith(":"))
    .map((s) => s.slice(1));
  const plan: fc.Arbitrary<PathPlan> = fc.record({
    params: fc.record(Object.fromEntries(names.map((n) => [n, segmentValue]))),
    encode: fc.array(fc.record({ seg: fc.nat(), at: fc.nat(), lower: fc.boolean() }), {
      maxLength: 2,
    }),
    spoil: sometimes(
      fc.record({
        trick: fc.constantFrom(...SPOILING),
        seg: fc.nat(),
        at: fc.nat(),
        pick: fc.nat(),
      }),
      15,
    ),
    structural: sometimes(
      fc.record({
        trick: fc.constantFrom(...STRUCTURAL),
        at: fc.nat(),
        filler: segmentValue,
      }),
      35,
    ),
  });
  return plan.map((p) => {
    const { path, tricks } = spell(action, p);
    return { value: path, tricks, ...(p.spoil ? { spoil: `path: ${p.spoil.trick}` } : {}) };
  });
}

/** Path segments to assemble paths from: the catalog's own, and every trick in the book. */
const SOUP = [
  ...new Set(chaosActions.flatMap((a) => a.path.split("/").filter((s) => s && !s.startsWith(":")))),
  "agent-7",
  "p1",
  "",
  ".",
  "..",
  "%2e",
  "%2e%2e",
  ".%2E",
  "%2F",
  "%5c",
  "%00",
  "%25",
  "%",
  "V1",
  "Enrichment",
  "compan%69es",
  "%63ompanies",
  "ｃompanies",
  "companies;x=1",
  "~",
  "%7e",
  "é",
  "a".repeat(300),
];

/** A catalog path with params filled in, mutated with SOUP segments: it must be priced as whatever it reaches. */
export const soupCase: fc.Arbitrary<ProxyCase> = fc
  .record({
    action: fc.constantFrom(...chaosActions),
    edits: fc.array(
      fc.record({
        op: fc.constantFrom("insert", "replace", "delete"),
        at: fc.nat(),
        seg: fc.constantFrom(...SOUP),
      }),
      { maxLength: 3 },
    ),
    backslash: fc.boolean(),
    method: fc.option(fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"), {
      freq: 2,
    }),
    query: fc.constantFrom("", "?limit=3", "?limit=3&LIMIT=100"),
    records: fc.integer({ min: 1, max: 5 }),
  })
  .map(({ action, edits, backslash, method: other, query, records }) => {
    // With no intended action the oracle calls as the core member; "other seat" is the sales one.
    const who: Who = action.seat === "sales" ? "other seat" : "member";
    const method = other ?? action.method;
    const segs = action.path
      .split("/")
      .slice(1)
      .map((s) => (s.startsWith(":") ? "agent-7" : s));
    for (const { op, at, seg } of edits) {
      const i = at % (segs.length + (op === "insert" ? 1 : 0));
      if (op === "insert") segs.splice(i, 0, seg);
      else if (op === "replace") segs[i] = seg;
      else if (segs.length > 1) segs.splice(i, 1);
    }
    const path = `/${segs.join(backslash ? "\\" : "/")}`;
    const hasBody = method !== "GET" && method !== "HEAD";
    const json = {
      records: Array.from({ length: records }, (_, i) => ({ domain: `d${i}${FRESH_RECORD}` })),
      items: [1, 2, 3],
    };
    return {
      action: ANY_ACTION,
      method,
      path,
      tricks: edits.map((e) => `${e.op} ${e.seg}`),
      query,
      who,
      headers: [],
      body: hasBody ? { text: JSON.stringify(json) } : null,
      framing: { kind: "buffered" as const },
      steer: { kind: "echo" as const, usageUnits: null },
      spoils: [],
      plain: false,
    };
  });
