// Tiny DOM helpers: element builders and a slot that re-renders only when its data changed.
import { visible } from '../../src/core/display/visible';

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type AttrValue = string | number | boolean | null | undefined;
type Attrs = Record<string, AttrValue | ((event: Event) => void)>;

/**
 * Builds an element. Attributes: `true` sets an empty attribute, `false`/`null`/`undefined` leave it
 * out, `on<event>` functions become listeners. Text children are text nodes, never parsed as HTML,
 * and go through `visible` (src/core/display): bidi overrides, zero-width and control characters in
 * anything an agent or a server wrote show as escapes (`<U+202E>`), never reorder or hide text. So do
 * the attributes a person reads (`title`, `aria-label`, `placeholder`).
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Builds an SVG element (same rules as `h`). */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** Attributes shown to a person (tooltips, screen readers). */
const READ_ATTRS: ReadonlySet<string> = new Set(['title', 'aria-label', 'placeholder']);

function apply(el: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, READ_ATTRS.has(name) ? visible(String(value)) : String(value));
  }
}

function append(el: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(visible(String(child), { multiline: true })));
  }
}

/** Text already made visible (`displayArgs` output): appended as it is, not escaped twice. */
export function shown(text: string): Text {
  return document.createTextNode(text);
}

/** Flattens children into nodes. */
export function nodes(children: Child): Node[] {
  const holder = document.createDocumentFragment();
  append(holder, [children]);
  return [...holder.childNodes];
}

/**
 * A region of the page owned by one renderer. `update` replaces its content only when `key` (a
 * digest of the data it shows) changed, and keeps keyboard focus: an element with `data-key` that
 * had focus is focused again in the new content.
 */
export class Slot {
  private key: string | undefined;

  constructor(readonly el: HTMLElement) {}

  update(key: string, render: () => Child): void {
    if (key === this.key) return;
    this.key = key;
    const focused = document.activeElement;
    const focusKey = focused instanceof HTMLElement && this.el.contains(focused) ? focused.dataset['key'] : undefined;
    this.el.replaceChildren(...nodes(render()));
    if (focusKey !== undefined) {
      const again = this.el.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusKey)}"]`);
      again?.focus();
    }
  }

  /** Forgets the key, so the next `update` renders. */
  invalidate(): void {
    this.key = undefined;
  }
}
