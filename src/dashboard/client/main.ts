/**
 * The dashboard's browser code (issue 7), bundled by scripts/build-dashboard.mjs into
 * /dashboard/app.js. Shows the sign-in until an admin or finance key is given, then the
 * dashboard; signing out (or a 401) forgets the key and returns here.
 */
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import "./views/teams.css";
import { Api } from "./api";
import { Dashboard } from "./app";
import { forgetKey, storedKey, storeKey } from "./state";
import type { Account } from "./types";
import { refusal, renderSignIn } from "./views/signin";

let current: Dashboard | null = null;

function signIn(root: HTMLElement, message = ""): void {
  current?.destroy();
  current = null;
  forgetKey();
  renderSignIn(root, ({ key, account }) => open(root, key, account), message);
}

function open(root: HTMLElement, key: string, account: Account): void {
  storeKey(key);
  current = new Dashboard(root, key, account, (message) => signIn(root, message));
  void current.start();
}

async function boot(root: HTMLElement): Promise<void> {
  const key = storedKey();
  if (!key) return signIn(root);
  root.textContent = "Loading the dashboard…";
  try {
    open(root, key, await new Api(key).get<Account>("/v1/account"));
  } catch (error) {
    signIn(root, refusal(error));
  }
}

const root = document.getElementById("app");
if (root) void boot(root);
