/** A few DOM helpers for the page: elements are built with `h`, text always goes in as text (never as HTML). */

type Child = Node | string | number | false | null | undefined
type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>

/**
 * Create an element: `h("li", { class: "node", "data-path": path }, name, h("span", {}, state))`. Attributes that
 * are functions become event listeners (`onclick`), `false`/`undefined` ones are left out.
 */
export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: ReadonlyArray<Child | ReadonlyArray<Child>>
): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value)
    else element.setAttribute(name, value === true ? "" : String(value))
  }
  append(element, children)
  return element
}

const append = (element: Element, children: ReadonlyArray<Child | ReadonlyArray<Child>>) => {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    element.append(typeof child === "number" ? String(child) : child)
  }
}

/** Replace every child of `element`. */
export const replace = (element: Element, ...children: ReadonlyArray<Child | ReadonlyArray<Child>>) => {
  element.replaceChildren()
  append(element, children)
}

export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id)
  if (!element) throw new Error(`the page has no #${id}`)
  return element as T
}

/** `14:03:07` */
export const clock = (at: number) => new Date(at).toLocaleTimeString([], { hour12: false })

/** `850 ms`, `2.4 s` */
export const duration = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`)

/** Keep a scrolled-to-bottom log at the bottom as it grows. */
export const stickToBottom = (element: HTMLElement, wasAtBottom: boolean) => {
  if (wasAtBottom) element.scrollTop = element.scrollHeight
}

export const atBottom = (element: HTMLElement) => element.scrollHeight - element.scrollTop - element.clientHeight < 40
