/**
 * Building the page with createElement and textContent only: names and reasons come from users
 * and the API, so nothing is ever parsed as HTML. No inline styles either (the CSP forbids them).
 */

type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  id?: string;
  text?: string;
  testid?: string;
  /** Any other attribute (aria-*, role, for, type, ...); never `style`. */
  attrs?: Record<string, string>;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.id) el.id = props.id;
  if (props.testid) el.dataset.testid = props.testid;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (name === "style" || name.startsWith("on")) continue;
    el.setAttribute(name, value);
  }
  if (props.text !== undefined) el.textContent = props.text;
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

let nextId = 0;
/** A unique id for label/control and heading/region pairs. */
export function uid(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A table with a caption, column headers and rows of text cells. */
export function table(
  caption: string,
  headers: string[],
  rows: (string | Node)[][],
  props: Props = {},
): HTMLTableElement {
  const head = h(
    "thead",
    {},
    h("tr", {}, ...headers.map((text) => h("th", { text, attrs: { scope: "col" } }))),
  );
  const body = h(
    "tbody",
    {},
    ...rows.map((row) =>
      h(
        "tr",
        {},
        ...row.map((cell, i) =>
          i === 0 ? h("th", { attrs: { scope: "row" } }, cell) : h("td", {}, cell),
        ),
      ),
    ),
  );
  return h("table", props, h("caption", { text: caption }), head, body);
}

/** A labelled <select> with options [value, label]. */
export function select(
  label: string,
  testid: string,
  options: [string, string][],
  value: string,
  onChange: (value: string) => void,
): { field: HTMLElement; control: HTMLSelectElement } {
  const id = uid("f");
  const control = h("select", { id, testid });
  setOptions(control, options, value);
  control.addEventListener("change", () => onChange(control.value));
  const field = h(
    "div",
    { class: "field" },
    h("label", { text: label, attrs: { for: id } }),
    control,
  );
  return { field, control };
}

/** Replaces a select's options, keeping `value` selected (added if missing). */
export function setOptions(
  control: HTMLSelectElement,
  options: [string, string][],
  value: string,
): void {
  const missing: [string, string][] = options.some(([v]) => v === value) ? [] : [[value, value]];
  const list = [...options, ...missing];
  control.replaceChildren(...list.map(([v, text]) => h("option", { text, attrs: { value: v } })));
  control.value = value;
}

/** A paragraph that says what to do when there is nothing to show. */
export function empty(text: string): HTMLElement {
  return h("p", { class: "empty", text });
}

/**
 * Content for screen readers only. The wrapper, not the table, is hidden: a table is never
 * narrower than its content, so hiding it directly would still widen the page.
 */
export function visuallyHidden(child: Node): HTMLElement {
  return h("div", { class: "visually-hidden" }, child);
}
