/**
 * Runs one command as the leader of its own process group and makes sure nothing of that group
 * outlives the test that started it: the group is SIGKILLed when the test process (`parentPid`)
 * goes away or when `lifetimeMs` has passed, whatever state the test runner is in.
 *
 *   node guard.mjs <parentPid> <lifetimeMs> <command> [args...]
 *
 * SIGTERM is passed to the command (wrangler stops its workerd processes itself); if it is still
 * running 5 s later the whole group is killed. The guard exits with the command's exit code.
 */
import { spawn } from "node:child_process";

const [parentArg, lifetimeArg, command, ...args] = process.argv.slice(2);
const parentPid = Number(parentArg);
const lifetimeMs = Number(lifetimeArg);
if (!Number.isInteger(parentPid) || !Number.isFinite(lifetimeMs) || !command) {
  console.error("usage: node guard.mjs <parentPid> <lifetimeMs> <command> [args...]");
  process.exit(2);
}

function killGroup() {
  try {
    process.kill(-process.pid, "SIGKILL");
  } catch {
    process.exit(137);
  }
}

const child = spawn(command, args, { stdio: "inherit" });
child.on("error", (error) => {
  console.error(`guard: cannot start ${command}: ${error.message}`);
  process.exit(127);
});
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGKILL" ? 137 : 143)));

process.on("SIGTERM", () => {
  child.kill("SIGTERM");
  setTimeout(killGroup, 5_000).unref();
});

const deadline = Date.now() + lifetimeMs;
setInterval(() => {
  let parentAlive = true;
  try {
    process.kill(parentPid, 0);
  } catch {
    parentAlive = false;
  }
  if (!parentAlive || Date.now() > deadline) {
    console.error(`guard: ${parentAlive ? "lifetime over" : "test process gone"}: killing group`);
    killGroup();
  }
}, 250);
