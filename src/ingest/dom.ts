import { linkedom } from '../heavy-deps.ts';

// The little of the DOM that extraction walks. The project compiles without the DOM lib, so linkedom's and
// Readability's DOM types are not available to lean on.
export interface DomNode {
  readonly nodeType: number;
  readonly nodeName: string;
  readonly textContent: string | null;
  readonly childNodes: ArrayLike<DomNode>;
  readonly parentNode: DomNode | null;
  getAttribute?(name: string): string | null;
}
export interface DomElement extends DomNode {
  readonly children: ArrayLike<DomElement>;
  readonly parentElement: DomElement | null;
  readonly previousElementSibling: DomElement | null;
  readonly nextElementSibling: DomElement | null;
  readonly firstElementChild: DomElement | null;
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
  removeAttribute(name: string): void;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  remove(): void;
  replaceWith(...nodes: DomNode[]): void;
  contains(other: DomNode): boolean;
}
export interface DomDocument {
  readonly title?: string;
  readonly body: DomElement | null;
  readonly documentElement: DomElement | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}

export const ELEMENT_NODE = 1;
export const TEXT_NODE = 3;

export function isElement(node: DomNode): node is DomElement {
  return node.nodeType === ELEMENT_NODE;
}

/**
 * The elements under `root` whose tag name (lower case) is one of `names`, in document order. A walk along the
 * element links: linkedom answers a selector query by matching the selector against every element, which for a list
 * of tag names costs several times as much.
 */
export function elementsByTag(
  root: { readonly firstElementChild?: DomElement | null; readonly documentElement?: DomElement | null },
  names: ReadonlySet<string>,
): DomElement[] {
  const found: DomElement[] = [];
  const first = root.firstElementChild ?? root.documentElement ?? null;
  let node: DomElement | null = first;
  while (node) {
    if (names.has(node.nodeName.toLowerCase())) found.push(node);
    if (node.firstElementChild) {
      node = node.firstElementChild;
      continue;
    }
    while (node && node !== root && !node.nextElementSibling) node = node.parentElement;
    if (!node || node === root) break;
    node = node.nextElementSibling;
  }
  return found;
}

export function parseDocument(html: string): DomDocument {
  return linkedom().parseHTML(completeDocument(html)).document as unknown as DomDocument;
}

/**
 * linkedom, unlike a browser, does not repair the frame of a document: a fragment gets no body at all, and anything
 * before `<html>` (a stray `<style>`, a PHP warning) or a missing `<html>` can leave the real body's content outside
 * `document.body`. Rebuild the frame unless the page already has a sound one: what comes before `<body>` becomes
 * the head, the rest the body.
 */
function completeDocument(html: string): string {
  const start = html.replace(/^(?:\s|<!--[\s\S]*?-->|<!doctype[^>]*>|<\?xml[^>]*>)*/i, '');
  if (/^<html[\s>]/i.test(start) && /<body[\s>]/i.test(html)) return html;
  const lang = /<html[^>]*\slang\s*=\s*["']?([^"'\s>]+)/i.exec(html)?.[1];
  const bodyAt = html.search(/<body[\s>]/i);
  let head = '';
  let rest: string;
  if (bodyAt >= 0) {
    head = html.slice(0, bodyAt);
    rest = html.slice(bodyAt);
  } else {
    rest = html.replace(/<head(?:\s[^>]*)?>([\s\S]*?)<\/head>/i, (_match, inner: string) => {
      head = inner;
      return '';
    });
  }
  head = head.replace(/<!doctype[^>]*>|<\/?html[^>]*>|<\/?head(?:\s[^>]*)?>/gi, '');
  rest = rest.replace(/<!doctype[^>]*>|<\/?html[^>]*>|<\/?body[^>]*>/gi, '');
  return `<!doctype html><html${lang ? ` lang="${lang}"` : ''}><head>${head}</head><body>${rest}</body></html>`;
}

/** Letters and digits only: what a reader sees as text, whatever the markup's whitespace. */
export function visibleLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 32 && c !== 160) n++;
  }
  return n;
}

export function clean(value: string | null | undefined): string | null {
  const text = value?.replace(/\s+/g, ' ').trim();
  return text ? text : null;
}

export function absoluteUrl(href: string | null | undefined, base: string): string | null {
  if (!href) return null;
  try {
    const resolved = new URL(href.trim(), base);
    return resolved.protocol === 'http:' || resolved.protocol === 'https:' ? resolved.href : null;
  } catch {
    return null;
  }
}
