/**
 * The console's form pieces (issue 17): labelled fields, a place next to each form that says
 * what happened (the API's problem with its request id, or what was saved), and forms in modal
 * dialogs that give focus back to the control that opened them. Every form is a real <form>,
 * so it is announced as one and Enter submits it; nothing here checks input the API checks:
 * its problem+json is what the person reads.
 */
import { problemOfError } from "../api";
import { h, uid } from "../dom";
import type { Problem } from "../types";

export type Control = HTMLInputElement | HTMLSelectElement;

export interface Field<C extends Control = Control> {
  field: HTMLElement;
  control: C;
}

interface InputOptions {
  /** The request field this control sets, so a problem naming it can focus it. */
  name: string;
  value?: string;
  hint?: string;
  required?: boolean;
  readOnly?: boolean;
  maxLength?: number;
  type?: "text" | "url" | "number";
  min?: number;
  max?: number;
  step?: string;
  autocomplete?: string;
}

function labelled<C extends Control>(label: string, control: C, hint?: string): Field<C> {
  const id = uid("f");
  control.id = id;
  const help = hint ? h("p", { class: "hint", id: uid("hint"), text: hint }) : null;
  if (help) control.setAttribute("aria-describedby", help.id);
  return {
    field: h(
      "div",
      { class: "field" },
      h("label", { text: label, attrs: { for: id } }),
      control,
      help,
    ),
    control,
  };
}

export function input(label: string, options: InputOptions): Field<HTMLInputElement> {
  const attrs: Record<string, string> = {
    name: options.name,
    type: options.type ?? "text",
    autocomplete: options.autocomplete ?? "off",
  };
  if (options.required) attrs.required = "";
  if (options.readOnly) attrs.readonly = "";
  if (options.maxLength !== undefined) attrs.maxlength = String(options.maxLength);
  if (options.min !== undefined) attrs.min = String(options.min);
  if (options.max !== undefined) attrs.max = String(options.max);
  if (options.step !== undefined) attrs.step = options.step;
  if (options.type === "number") attrs.inputmode = "numeric";
  const control = h("input", { attrs });
  control.value = options.value ?? "";
  return labelled(label, control, options.hint);
}

/** A whole number of credits or calls, or nothing (the field left empty). */
export function count(label: string, name: string, value: number | null, hint: string) {
  return input(label, {
    name,
    type: "number",
    min: 0,
    step: "1",
    value: value === null ? "" : String(value),
    hint,
  });
}

export function choice(
  label: string,
  name: string,
  options: [string, string][],
  value: string,
): Field<HTMLSelectElement> {
  const control = h("select", { attrs: { name } });
  control.replaceChildren(
    ...options.map(([v, text]) => h("option", { text, attrs: { value: v } })),
  );
  control.value = value;
  return labelled(label, control);
}

export function checkbox(label: string, name: string, checked: boolean): Field<HTMLInputElement> {
  const id = uid("f");
  const control = h("input", { id, attrs: { type: "checkbox", name } });
  control.checked = checked;
  const field = h(
    "div",
    { class: "check" },
    control,
    h("label", { text: label, attrs: { for: id } }),
  );
  return { field, control };
}

export function fieldset(legend: string, ...children: (Node | null)[]): HTMLFieldSetElement {
  return h("fieldset", {}, h("legend", { text: legend }), ...children);
}

/** The number in a field: null when it is empty; NaN (refused by the API) when it is not a number. */
export function numberOf(control: HTMLInputElement): number | null {
  const text = control.value.trim();
  return text === "" ? null : Number(text);
}

/**
 * Where a form says what happened. A problem is an alert (read at once) with the API's detail
 * and request id; a success is a status message.
 */
export class Outcome {
  readonly root = h("div", { class: "form-outcome" });
  /** Kept in the page, so assistive technology announces each new message in it. */
  private readonly status = h("div", { attrs: { role: "status" } });

  constructor() {
    this.root.append(this.status);
  }

  problem(problem: Problem): void {
    this.status.replaceChildren();
    this.root.replaceChildren(
      this.status,
      h(
        "div",
        { class: "problem", attrs: { role: "alert", tabindex: "-1" } },
        h("p", { text: problem.detail }),
        problem.requestId
          ? h("p", { class: "hint", text: `Request id: ${problem.requestId}` })
          : null,
      ),
    );
  }

  success(text: string): void {
    this.root.replaceChildren(this.status);
    this.status.replaceChildren(h("p", { class: "success", text }));
  }

  clear(): void {
    this.status.replaceChildren();
    this.root.replaceChildren(this.status);
  }
}

export interface FormOptions {
  /** The accessible name of the form. */
  label: string;
  submit: string;
  fields: (Node | null)[];
  /**
   * Sends the form. Returns what to say on success; throws on a refusal (its problem is shown
   * next to the form, and the field it names, if any, gets focus).
   */
  send: () => Promise<string>;
  /** After a success, once the message is shown. */
  done?: (message: string) => void;
  /** Buttons after the submit button (Cancel). */
  extra?: HTMLElement[];
}

export interface Form {
  form: HTMLFormElement;
  outcome: Outcome;
  submit: HTMLButtonElement;
}

export function form(options: FormOptions): Form {
  const outcome = new Outcome();
  const submit = h("button", {
    class: "primary",
    text: options.submit,
    attrs: { type: "submit" },
  });
  const el = h(
    "form",
    { attrs: { "aria-label": options.label, novalidate: "" } },
    ...options.fields,
    outcome.root,
    h("div", { class: "form-actions" }, submit, ...(options.extra ?? [])),
  );
  el.addEventListener("submit", (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    submit.disabled = true;
    el.setAttribute("aria-busy", "true");
    outcome.clear();
    options
      .send()
      .then((message) => {
        outcome.success(message);
        options.done?.(message);
      })
      .catch((error: unknown) => {
        const problem = problemOfError(error);
        outcome.problem(problem);
        focusProblem(el, outcome, problem);
      })
      .finally(() => {
        submit.disabled = false;
        el.removeAttribute("aria-busy");
      });
  });
  return { form: el, outcome, submit };
}

/** The control the problem names (`teamBudget`, `rules.teamBudget`), else the problem itself. */
function focusProblem(el: HTMLFormElement, outcome: Outcome, problem: Problem): void {
  const name = problem.field?.split(".").pop();
  const named = name
    ? el.querySelector<HTMLElement>(`[name="${CSS.escape(name)}"]:not([type="hidden"])`)
    : null;
  if (named) {
    named.setAttribute("aria-invalid", "true");
    named.addEventListener("input", () => named.removeAttribute("aria-invalid"), { once: true });
    named.focus();
    return;
  }
  outcome.root.querySelector<HTMLElement>("[role=alert]")?.focus();
}

/** The accessible name of a control, as its aria-label or its text gives it. */
export function accessibleName(el: Element): string {
  return el.getAttribute("aria-label") ?? el.textContent ?? "";
}

/**
 * A modal dialog around content: opened from a control, it gives focus back to that control
 * when it closes (Escape, Cancel, or a success).
 */
export class Dialog {
  readonly root: HTMLDialogElement;
  readonly body = h("div", { class: "dialog-body" });
  private opener: HTMLElement | null = null;

  constructor(
    private readonly host: HTMLElement,
    title: string,
  ) {
    const id = uid("dlg");
    this.root = h(
      "dialog",
      { class: "console-dialog", attrs: { "aria-labelledby": id } },
      h("h2", { id, text: title }),
      this.body,
    );
    this.root.addEventListener("close", () => {
      this.root.remove();
      this.returnFocus();
    });
  }

  /**
   * Back to the control that opened the dialog; if the page drew that control again meanwhile
   * (a list reloaded after a change), to the new control of the same name.
   */
  private returnFocus(): void {
    const opener = this.opener;
    if (!opener) return;
    if (opener.isConnected) {
      opener.focus();
      return;
    }
    const name = accessibleName(opener);
    const same = [...this.host.querySelectorAll<HTMLElement>("button")].find(
      (b) => accessibleName(b) === name,
    );
    same?.focus();
  }

  /** A Cancel button that closes the dialog. */
  cancel(text = "Cancel"): HTMLButtonElement {
    const button = h("button", { text, attrs: { type: "button" } });
    button.addEventListener("click", () => this.close());
    return button;
  }

  open(opener: HTMLElement, ...content: Node[]): void {
    this.opener = opener;
    this.body.replaceChildren(...content);
    this.host.append(this.root);
    this.root.showModal();
    const first = this.root.querySelector<HTMLElement>(
      "input:not([type=hidden]):not([readonly]), select, textarea, button",
    );
    first?.focus();
  }

  close(): void {
    if (this.root.open) this.root.close();
  }
}

/** A button whose accessible name says what it acts on ("Rules for Growth"). */
export function rowButton(
  text: string,
  name: string,
  onClick: (button: HTMLButtonElement) => void,
) {
  const button = h("button", {
    class: "small",
    text,
    attrs: { type: "button", "aria-label": name },
  });
  button.addEventListener("click", () => onClick(button));
  return button;
}
