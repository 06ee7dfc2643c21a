/** Stopping on a signal, for the bench and serve.ts. */
import process from "node:process";

export type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** Calls `handler` on each signal a terminal or a supervisor stops a process with. */
export function onStopSignal(handler: (signal: StopSignal) => void): void {
  // test/e2e/node.d.ts types process.on for "exit" only, in an interface that cannot be
  // extended from outside its file (@types/node, where present, types the signals too); the
  // call is the same for signals.
  const emitter = process as unknown as { on(event: StopSignal, listener: () => void): unknown };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    emitter.on(signal, () => handler(signal));
  }
}
