/**
 * Where a Chromium or Chrome for the browser tests is on this machine: `CHROMIUM_PATH` if set,
 * else the first of the usual names on PATH, else the usual install locations. Used by `npm
 * test` (scripts/ensure-browser.ts, which installs one where it can) and by the e2e tests, which
 * drive it with playwright-core. Nothing here downloads a browser.
 */
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";

/** Names a Chromium or Chrome binary goes by on PATH, Debian's first. */
const NAMES = ["chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "chrome"];

/** Install locations that are often not on PATH. */
const LOCATIONS = [
  "/usr/bin/chromium",
  "/usr/lib/chromium/chromium",
  "/snap/bin/chromium",
  "/opt/google/chrome/chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
];

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The browser to drive, or null when this machine has none. */
export function findBrowser(env: NodeJS.ProcessEnv = process.env): string | null {
  const chosen = env.CHROMIUM_PATH;
  if (chosen) return executable(chosen) ? chosen : null;
  const dirs = (env.PATH ?? "").split(path.delimiter).filter((d) => d !== "");
  for (const name of NAMES) {
    for (const dir of dirs) {
      const file = path.join(dir, name);
      if (executable(file)) return file;
    }
  }
  return LOCATIONS.find(executable) ?? null;
}

/** Whether this is Debian or a derivative (Ubuntu): apt-get can install `chromium`. */
export function isDebianLike(): boolean {
  if (existsSync("/etc/debian_version")) return true;
  try {
    return /^ID(_LIKE)?=.*\b(debian|ubuntu)\b/m.test(readFileSync("/etc/os-release", "utf8"));
  } catch {
    return false;
  }
}

/** The one command that installs a browser here, for a message that tells the user. */
export function installCommand(): string {
  if (process.platform === "darwin") return "brew install --cask chromium";
  if (isDebianLike()) return "sudo apt-get install -y chromium";
  return "install Chromium or Chrome with your package manager";
}

/** The line a run that has no browser stops with. */
export function missingBrowserMessage(): string {
  const chosen = process.env.CHROMIUM_PATH;
  if (chosen) return `CHROMIUM_PATH=${chosen} is not an executable browser; fix it or unset it.`;
  return `No Chromium or Chrome found for the dashboard's browser test: run \`${installCommand()}\` (or set CHROMIUM_PATH to one), then npm test again.`;
}
