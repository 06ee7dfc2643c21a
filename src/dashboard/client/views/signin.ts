/**
 * Sign-in: paste an account key. The key is checked with `GET /v1/account` (200 for admin and
 * finance keys, 403 for member keys, 401 for unknown ones) and only then kept, in session
 * storage. It never goes into a URL, a log or the page.
 *
 * The key field is a text input masked by CSS (`-webkit-text-security: disc`, with a Show
 * toggle), not `type="password"`: a password field makes password managers offer to save the
 * key with the site's passwords. Autocomplete, spellcheck and autocapitalize are off, and the
 * common password managers' own "ignore" attributes are set.
 */
import { Api, ApiError } from "../api";
import { h, uid } from "../dom";
import type { Account } from "../types";

export interface SignedIn {
  key: string;
  account: Account;
}

/** Why a key was refused, in words a person can act on. */
export function refusal(error: unknown): string {
  if (!(error instanceof ApiError)) return "The key could not be checked. Try again.";
  const { status, detail } = error.problem;
  if (status === 403) {
    return "This is a member key. The dashboard needs an admin or finance key of the account.";
  }
  if (status === 401) return "This key is not valid: it is unknown or has been revoked.";
  return `The key could not be checked: ${detail}`;
}

export function renderSignIn(
  root: HTMLElement,
  onSignedIn: (signedIn: SignedIn) => void,
  message = "",
): void {
  const inputId = uid("key");
  const hintId = uid("hint");
  const errorId = uid("err");
  const input = h("input", {
    id: inputId,
    testid: "signin-key",
    class: "masked",
    attrs: {
      type: "text",
      name: "key",
      autocomplete: "off",
      autocapitalize: "off",
      autocorrect: "off",
      spellcheck: "false",
      required: "",
      "data-1p-ignore": "",
      "data-lpignore": "true",
      "data-bwignore": "",
      "data-form-type": "other",
      "aria-describedby": `${hintId} ${errorId}`,
    },
  });
  const toggle = h("button", {
    class: "key-toggle",
    testid: "signin-show",
    text: "Show",
    attrs: { type: "button", "aria-controls": inputId, "aria-pressed": "false" },
  });
  toggle.addEventListener("click", () => {
    const masked = input.classList.toggle("masked");
    toggle.textContent = masked ? "Show" : "Hide";
    toggle.setAttribute("aria-pressed", String(!masked));
    input.focus();
  });
  const error = h("p", {
    id: errorId,
    class: "form-error",
    testid: "signin-error",
    text: message,
    attrs: { role: "alert" },
  });
  error.hidden = message === "";
  const submit = h("button", {
    class: "primary",
    testid: "signin-submit",
    text: "Sign in",
    attrs: { type: "submit" },
  });
  const form = h(
    "form",
    { class: "signin", attrs: { method: "post", novalidate: "" } },
    h("label", { text: "Account key", attrs: { for: inputId } }),
    h("div", { class: "key-field" }, input, toggle),
    h("p", {
      id: hintId,
      class: "hint",
      text: "Paste an admin or finance key (cg_…). It stays in this browser tab only and is forgotten when you sign out or close the tab.",
    }),
    error,
    submit,
  );
  const fail = (text: string) => {
    error.textContent = text;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return fail("Paste a key first.");
    submit.disabled = true;
    submit.textContent = "Checking…";
    error.hidden = true;
    try {
      const account = await new Api(key).get<Account>("/v1/account");
      input.value = "";
      onSignedIn({ key, account });
    } catch (e) {
      fail(refusal(e));
    } finally {
      submit.disabled = false;
      submit.textContent = "Sign in";
    }
  });
  root.replaceChildren(
    h(
      "section",
      { class: "signin-page", attrs: { "aria-labelledby": "signin-title" } },
      h("h1", { id: "signin-title", text: "creditgate dashboard" }),
      h("p", {
        class: "hint",
        text: "Balance, spend, forecast and alerts of your account, from the gateway's API.",
      }),
      form,
    ),
  );
  input.focus();
}
