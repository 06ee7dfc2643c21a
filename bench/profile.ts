/**
 * Where the gateway's CPU goes per priced call (issue 18): V8's own sampling profiler, over
 * workerd's inspector (Chrome DevTools Protocol `Profiler.*`), while the gateway serves a bounded
 * load of `on_success` enrichment calls from one account. The worker and its Durable Objects
 * share one isolate, so the profile holds both the worker's request path and the ledger's two
 * transactions.
 *
 * Usage: `npm run bench:profile [-- CALLS [CONNECTIONS [ACCOUNTS]]]` (default 3,000 calls, 10
 * connections, 1 account; with more, calls go round robin over the accounts' keys, as in the
 * bench's spread phase).
 * Prints the functions with the most self time, by bundle function name, and the share of
 * samples in each of the ledger's and the worker's source areas (by the bundle's source map);
 * writes the whole profile as `gateway.cpuprofile` (open it in Chrome DevTools' Performance
 * panel) to the bench's temp dir and prints its path. Servers listen on 127.0.0.1 only.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { argv } from "node:process";
import WebSocket from "ws";
import { seedAccount } from "../test/e2e/support/api";
import { stopAll } from "../test/e2e/support/wrangler";
import { loadBody, log, OPERATOR_TOKEN, ROUTE } from "./config";
import { createWorkspace, serveGateway } from "./servers";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One CDP session on the inspector target whose title ends with `worker`. */
async function session(inspectorPort: number, worker: string) {
  const targets = (await (
    await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)
  ).json()) as Array<{ title?: string; webSocketDebuggerUrl: string }>;
  const target = targets.find((t) => (t.title ?? "").endsWith(worker));
  if (!target) throw new Error(`no inspector target for ${worker}`);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  let next = 0;
  const pending = new Map<number, (result: Record<string, unknown>) => void>();
  socket.on("message", (data) => {
    const m = JSON.parse(data.toString()) as { id?: number; result?: Record<string, unknown> };
    if (m.id !== undefined) pending.get(m.id)?.(m.result ?? {});
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => socket.close() };
}

/** Runs `calls` priced calls over `connections` concurrent loops; throws on any non-200. */
async function load(base: string, keys: string[], calls: number, connections: number) {
  let left = calls;
  let sent = 0;
  const loop = async () => {
    while (left > 0) {
      left -= 1;
      const key = keys[sent++ % keys.length];
      const res = await fetch(`${base}${ROUTE}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: loadBody(),
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`call answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
}

/** Functions of the request path whose time, callees included, the profile prints. */
const PARTS: [string, string][] = [
  ["prepareCall", "prepareCall: reading the call (route, key hash, body, records)"],
  ["admit", "admit: the ledger's admission transaction"],
  ["forward", "forward: the upstream call (its fetch included)"],
  ["settle", "settle: the ledger's settlement transaction"],
  ["responseHeaders", "responseHeaders: the answer's headers"],
  ["closeScope", "closeScope: request id, timing header, the log line if any"],
];

/**
 * Self time (ms) per function and per source area, and the busy time spent under the ledger's
 * code (its transactions, statements included) against the rest, from the profile's samples.
 *
 * Every sample counts the same, the profile's wall time over its sample count. Weighting each
 * by its own time delta would not do: V8's sampler thread shares the two cores with the load,
 * so a third of the deltas are gaps of 0.3 to 45 ms, each charged whole to the one function
 * sampled next to it (whatever runs first after a wait, or last before one).
 */
function summarize(profile: Profile, sourceOf: (line: number) => Source) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const msPerSample =
    profile.samples.length > 0
      ? (profile.endTime - profile.startTime) / 1000 / profile.samples.length
      : 0;
  const areaOf = (frame: ProfileNode["callFrame"]) =>
    frame.url ? sourceOf(frame.lineNumber).area : `(${frame.functionName || "native"})`;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  const add = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + msPerSample);
  /** Time with each function anywhere on the stack (once per sample). */
  const inclusive = new Map<string, number>();
  let idle = 0;
  let ledger = 0;
  for (const id of profile.samples) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === "(idle)") {
      idle += msPerSample;
      continue;
    }
    add(byFunction, `${frame.functionName || "(anonymous)"} ${areaOf(frame)}`);
    add(byArea, areaOf(frame));
    // Under the ledger: any frame of the stack is the ledger's code.
    let underLedger = false;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (!f) break;
      // The ledger object's code; `src/ledger/client.ts` is the worker's side of the RPC.
      const file = f.url ? sourceOf(f.lineNumber).file : "";
      if (file.startsWith("src/ledger/") && file !== "src/ledger/client.ts") {
        underLedger = true;
      }
      if (!seen.has(f.functionName)) {
        seen.add(f.functionName);
        add(inclusive, f.functionName);
      }
    }
    if (underLedger) ledger += msPerSample;
  }
  const total = (profile.endTime - profile.startTime) / 1000;
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  const parts = PARTS.map(([name, what]) => [what, inclusive.get(name) ?? 0] as const);
  return {
    busy: total - idle,
    ledger,
    parts,
    functions: top(byFunction, 30),
    areas: top(byArea, 25),
  };
}

/**
 * The source area of each line of the bundle. esbuild's unminified output opens each module with
 * a comment naming its path (`// src/ledger/store/counters.ts`, `// node_modules/hono/...`).
 */
function lineSources(bundle: string): (line: number) => Source {
  const sources: Source[] = [];
  let current: Source = { file: "?", area: "?" };
  for (const line of readFileSync(bundle, "utf8").split("\n")) {
    const m = /^\/\/ ((?:\.\.\/)*(?:src|node_modules|demo|bench)\/\S+)$/.exec(line);
    if (m?.[1]) current = { file: m[1].replace(/^(\.\.\/)*/, ""), area: area(m[1]) };
    sources.push(current);
  }
  return (line) => sources[line] ?? { file: "?", area: "?" };
}

/** A bundle line's module file (`src/ledger/client.ts`) and its area (`src/ledger`). */
interface Source {
  file: string;
  area: string;
}

/** A source path shortened to what it says: `src/ledger/store`, `hono`, `@hono/zod-openapi`. */
function area(file: string): string {
  const nm = file.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const parts = file.slice(nm + "node_modules/".length).split("/");
    return (parts[0] ?? "").startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? "?");
  }
  const src = file.indexOf("src/");
  return src >= 0 ? path.dirname(file.slice(src)) : file;
}

async function main() {
  const calls = Number(argv[2] ?? 3000);
  const connections = Number(argv[3] ?? 10);
  const accounts = Number(argv[4] ?? 1);
  const ws = createWorkspace();
  try {
    const server = await serveGateway(ws, {
      label: "profile",
      persistTo: ws.tmp,
      // BENCH_PROFILE_VARS: worker vars to add, as JSON (e.g. {"REQUEST_LOG_SAMPLE":"1"}).
      vars: JSON.parse(process.env.BENCH_PROFILE_VARS ?? "{}") as Record<string, string>,
      inspect: true,
    });
    const keys: string[] = [];
    for (let i = 0; i < accounts; i++) {
      const id = `profile-${i + 1}`;
      keys.push((await seedAccount(server.base, OPERATOR_TOKEN, id, 100_000_000)).memberKey);
    }
    const warmUp = Math.max(Math.min(500, calls), 10 * accounts);
    log(`warming up: ${warmUp} calls over ${accounts} account(s)`);
    await load(server.base, keys, warmUp, connections);
    const cdp = await session(server.inspectorPort as number, "creditgate");
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
    await cdp.send("Profiler.start");
    const started = performance.now();
    await load(server.base, keys, calls, connections);
    const wallMs = performance.now() - started;
    const { profile } = (await cdp.send("Profiler.stop")) as unknown as { profile: Profile };
    cdp.close();
    const out = path.join(ws.tmp, "gateway.cpuprofile");
    writeFileSync(out, JSON.stringify(profile));
    const bundle = path.join(ws.tmp, "build", "gateway", "index.js");
    const { busy, ledger, parts, functions, areas } = summarize(profile, lineSources(bundle));
    const perCall = (ms: number) =>
      `${(ms / calls).toFixed(4).padStart(8)}  ${((100 * ms) / busy).toFixed(1).padStart(5)}%`;
    console.log(
      `${calls} calls over ${accounts} account(s), ${connections} connections, ${wallMs.toFixed(0)} ms: isolate busy ${busy.toFixed(0)} ms, ${(busy / calls).toFixed(3)} ms per call`,
    );
    if (busy >= wallMs * 0.999) {
      console.log(
        "warning: the profile has no (idle) samples, so busy time is the whole wall time",
      );
    }
    console.log(`${perCall(ledger)}  under the ledger's code (its two transactions)`);
    console.log(`${perCall(busy - ledger)}  the rest (the worker, the runtime, GC)`);
    console.log("\nparts of the call, callees included (ms per call, share of busy time):");
    for (const [what, ms] of parts) {
      console.log(`${perCall(ms)}  ${what}${ms === 0 ? " (not in the profile: renamed?)" : ""}`);
    }
    console.log("\nself time by source area (ms per call, share of busy time):");
    for (const [name, ms] of areas) {
      if (name === "((idle))") continue;
      console.log(`${perCall(ms)}  ${name}`);
    }
    console.log("\nfunctions with the most self time:");
    for (const [name, ms] of functions) {
      if (name.startsWith("(idle)")) continue;
      console.log(`${perCall(ms)}  ${name}`);
    }
    console.log(`\nprofile: ${out}`);
  } finally {
    await stopAll();
  }
}

await main();
