/**
 * The dashboard's browser code (issue 7), bundled by scripts/build-dashboard.mjs into
 * /dashboard/app.js. Shows the sign-in until an admin or finance key is given, then the
 * dashboard; signing out (or a 401) forgets the key and returns here. When the page is
 * reloaded with a kept key and the gateway cannot be reached (network error, 5xx), the key is
 * kept and the error shows with a Retry.
 */
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import "./views/teams.css";
import "./views/signin.css";
import "./views/value.css";
import "./console/console.css";
import { Api, ApiError, problemOfError } from "./api";
import { Dashboard } from "./app";
import { h } from "./dom";
import { forgetKey, storedKey, storeKey } from "./state";
import type { Account } from "./types";
import { Banner } from "./views/shell";
import { refusal, renderSignIn } from "./views/signin";

let current: Dashboard | null = null;

function signIn(root: HTMLElement, message = ""): void {
  current?.destroy();
  current = null;
  forgetKey();
  renderSignIn(root, ({ key, account }) => open(root, key, account), message);
}

function open(root: HTMLElement, key: string, account: Account): void {
  current?.destroy();
  storeKey(key);
  const dashboard = new Dashboard(root, key, account, (message) => {
    // A torn-down or replaced dashboard (a late 401 of an old session) signs nobody out.
    if (dashboard.isDestroyed || current !== dashboard) return;
    signIn(root, message);
  });
  current = dashboard;
  void dashboard.start();
}

/** The kept key could not be checked for a reason other than the key: keep it, offer a Retry. */
function unreachable(root: HTMLElement, error: unknown): void {
  const banner = new Banner();
  banner.show(problemOfError(error), { retry: () => void boot(root), dismiss: false });
  const other = h("button", {
    text: "Sign in with another key",
    testid: "signin-other",
    attrs: { type: "button" },
  });
  other.addEventListener("click", () => signIn(root));
  root.replaceChildren(
    h(
      "section",
      { class: "signin-page", attrs: { "aria-labelledby": "boot-title" } },
      h("h1", { id: "boot-title", text: "creditgate dashboard" }),
      h("p", {
        class: "hint",
        text: "The dashboard could not load. Your key is still kept in this tab: retry when the gateway is reachable.",
      }),
      banner.root,
      other,
    ),
  );
}

async function boot(root: HTMLElement): Promise<void> {
  const key = storedKey();
  if (!key) return signIn(root);
  root.textContent = "Loading the dashboard…";
  let account: Account;
  try {
    account = await new Api(key).get<Account>("/v1/account");
  } catch (error) {
    // Only a 401 means the key is bad; anything else (network, 5xx) keeps it.
    if (error instanceof ApiError && error.problem.status === 401) signIn(root, refusal(error));
    else unreachable(root, error);
    return;
  }
  open(root, key, account);
}

const root = document.getElementById("app");
if (root) void boot(root);
