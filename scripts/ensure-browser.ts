/**
 * `npm test` runs this before the tests: the dashboard's browser test needs a Chromium or
 * Chrome. One found on the machine is used as it is. Otherwise, on Debian or Ubuntu with root
 * (or sudo without a password), Debian's `chromium` is installed with apt-get. Otherwise the run
 * stops at once with one line naming the command that installs one. It never skips the test and
 * never downloads a browser build of its own.
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { findBrowser, isDebianLike, missingBrowserMessage } from "./browser";

/** How to run apt-get here: as root directly, else through sudo when it asks no password. */
function aptRunner(): string[] | null {
  if (process.platform !== "linux" || !isDebianLike()) return null;
  if (spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status !== 0) return null;
  if (process.getuid?.() === 0) return [];
  const sudo = spawnSync("sudo", ["-n", "true"], { stdio: "ignore" });
  return sudo.status === 0 ? ["sudo", "-n"] : null;
}

function apt(prefix: string[], args: string[]): boolean {
  const [command = "apt-get", ...rest] = [...prefix, "apt-get", ...args];
  const run = spawnSync(command, rest, {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return run.status === 0;
}

function main(): number {
  const found = findBrowser();
  if (found) return 0;
  // A browser named by hand that is not there is a mistake to fix, not a reason to install one.
  const prefix = process.env.CHROMIUM_PATH ? null : aptRunner();
  if (prefix) {
    console.log(
      "No Chromium or Chrome here: installing Debian's chromium with apt-get (about a minute)...",
    );
    const installed =
      apt(prefix, ["update", "-qq"]) && apt(prefix, ["install", "-y", "-qq", "chromium"]);
    const after = findBrowser();
    if (installed && after) {
      console.log(`Installed ${after}.`);
      return 0;
    }
  }
  console.error(missingBrowserMessage());
  return 1;
}

process.exitCode = main();
