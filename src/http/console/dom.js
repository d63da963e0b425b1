// DOM helpers of the console. Every piece of text from the API (titles, sources, reasons: all of it comes
// from outside) goes into the page as text nodes; the one HTML string, a post's sanitised HTML, goes
// through safeFragment(), which parses it inertly and copies an allowlist of elements and attributes.

/** An element with attributes (`on*` functions become listeners) and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element, for the overview's charts. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

function setAttributes(el, attrs) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Replaces an element's children (skipping null, undefined and false, as h() does). */
export function fill(el, ...children) {
  append(clear(el), children);
  return el;
}

/** A titled card; the title names it as a region. */
export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), children);
}

/** A table in a keyboard-scrollable region (wide tables scroll sideways on a phone). */
export function dataTable(caption, columns, rows) {
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': `${caption} (table)` },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((cells) =>
          h(
            'tr',
            {},
            cells.map((c) => h('td', {}, c)),
          ),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------- formatting

export function formatDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function time(iso) {
  return iso ? h('time', { datetime: iso }, formatDate(iso)) : '—';
}

export function usd(value) {
  if (typeof value !== 'number') return '—';
  return value === 0 ? '$0' : value < 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(2)}`;
}

export function words(status) {
  return String(status ?? '').replaceAll('_', ' ');
}

/** A status as a badge; its class picks a colour, its text says it (colour is never the only cue). */
export function statusBadge(status) {
  return h('span', { class: `badge status-${String(status).replace(/[^a-z_]/g, '')}` }, words(status));
}

// ---------------------------------------------------------------- the post's HTML

// The only Trusted Types policy the page's CSP allows. Its input is the API's sanitised HTML; the
// document it makes is inert (DOMParser runs no script and loads nothing) and is never attached:
// safeFragment() copies what it allows out of it.
const policy = globalThis.trustedTypes?.createPolicy('console-html', { createHTML: (html) => html }) ?? {
  createHTML: (html) => html,
};

const KEEP = new Set([
  'P',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'UL',
  'OL',
  'LI',
  'A',
  'STRONG',
  'EM',
  'B',
  'I',
  'CODE',
  'PRE',
  'BLOCKQUOTE',
  'HR',
  'BR',
  'TABLE',
  'THEAD',
  'TBODY',
  'TR',
  'TH',
  'TD',
  'DEL',
  'SUP',
  'SUB',
  'ABBR',
  'DL',
  'DT',
  'DD',
]);
const DROP = new Set(['SCRIPT', 'STYLE', 'IFRAME', 'OBJECT', 'EMBED', 'TEMPLATE', 'SVG', 'MATH', 'NOSCRIPT', 'FORM']);

/** A post's HTML as a fragment of allowlisted elements; images become their alt text (nothing is loaded). */
export function safeFragment(html) {
  const doc = new DOMParser().parseFromString(policy.createHTML(String(html ?? '')), 'text/html');
  const out = document.createDocumentFragment();
  const copy = (from, to) => {
    for (const node of from.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        to.append(document.createTextNode(node.data));
        continue;
      }
      if (node.nodeType !== Node.ELEMENT_NODE || DROP.has(node.tagName)) continue;
      if (node.tagName === 'IMG') {
        to.append(h('span', { class: 'image-note' }, `[image: ${node.getAttribute('alt') || 'no description'}]`));
        continue;
      }
      // The page's own h1 is the title; a heading inside the post steps down one level.
      const tag = node.tagName === 'H1' ? 'H2' : node.tagName;
      if (!KEEP.has(tag)) {
        copy(node, to);
        continue;
      }
      const el = document.createElement(tag);
      if (tag === 'A') {
        const href = node.getAttribute('href') ?? '';
        if (/^(https?:|mailto:)/i.test(href)) {
          el.setAttribute('href', href);
          el.setAttribute('rel', 'noopener noreferrer nofollow');
        }
      }
      for (const name of ['colspan', 'rowspan', 'start', 'title']) {
        const value = node.getAttribute(name);
        if (value !== null && /^[\w .,:;'"!?()-]{0,200}$/u.test(value)) el.setAttribute(name, value);
      }
      copy(node, el);
      to.append(el);
    }
  };
  copy(doc.body, out);
  return out;
}

// ---------------------------------------------------------------- sentences in rendered text

const BLOCKS = 'p, li, blockquote, td, th, h2, h3, h4, h5, h6, dd, dt';

/** Text compared the way the grounding gate compares it: case, quotes, dashes, emphasis and spacing folded. */
function fold(ch) {
  if (/[‘’‛′]/.test(ch)) return "'";
  if (/[“”„″]/.test(ch)) return '"';
  if (/[‐‑‒–—]/.test(ch)) return '-';
  if (/[*_`]/.test(ch)) return '';
  if (/\s/.test(ch)) return ' ';
  return ch.toLowerCase();
}

function folded(text) {
  let out = '';
  for (const ch of text) {
    const f = fold(ch);
    if (f === ' ' && (out.endsWith(' ') || out === '')) continue;
    out += f;
  }
  return out.replace(/\s*\[\d+\]/g, '').trim();
}

/**
 * Wraps each sentence found in `root`'s text in a <mark> (split across inline elements when it has to
 * be); returns, per sentence, the first mark or null when it was not found.
 */
export function markSentences(root, sentences, makeMark) {
  const found = sentences.map(() => null);
  for (const block of root.querySelectorAll(BLOCKS)) {
    // The block's text nodes, and the folded text with, for each folded character, where it came from.
    const nodes = [];
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n);
    const raw = nodes.map((n) => n.data).join('');
    const skip = new Set();
    for (const m of raw.matchAll(/\s*\[\d+\]/g)) for (let i = m.index; i < m.index + m[0].length; i++) skip.add(i);
    let text = '';
    const origin = [];
    for (let i = 0; i < raw.length; i++) {
      if (skip.has(i)) continue;
      const f = fold(raw[i]);
      if (!f || (f === ' ' && (text.endsWith(' ') || text === ''))) continue;
      text += f;
      origin.push(i);
    }
    sentences.forEach((sentence, index) => {
      if (found[index]) return;
      const needle = folded(sentence);
      const at = needle ? text.indexOf(needle) : -1;
      if (at < 0) return;
      found[index] = wrap(nodes, origin[at], origin[at + needle.length - 1] + 1, () => makeMark(index));
    });
  }
  return found;
}

/** Wraps characters [start, end) of the nodes' joined text in marks, one per text node touched. */
function wrap(nodes, start, end, makeMark) {
  let offset = 0;
  let first = null;
  for (const node of [...nodes]) {
    const length = node.data.length;
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + length);
    offset += length;
    if (from >= to) continue;
    let target = node;
    if (from - (offset - length) > 0) target = target.splitText(from - (offset - length));
    if (to - from < target.data.length) target.splitText(to - from);
    const mark = makeMark();
    target.replaceWith(mark);
    mark.append(target);
    first ??= mark;
  }
  return first;
}

// ---------------------------------------------------------------- dialogs

/**
 * A modal confirmation (a native <dialog>: focus moves in and back, Escape cancels). `fields` are extra
 * form controls; resolves with the form's values, or null when cancelled.
 */
export function confirmDialog({ title, body, confirmLabel, fields = [], danger = false }) {
  return new Promise((resolve) => {
    const form = h(
      'form',
      { method: 'dialog', class: 'dialog-form' },
      h('h2', { id: 'dialog-title' }, title),
      body ? h('p', {}, body) : null,
      fields,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close('cancel') }, 'Cancel'),
        h('button', { type: 'submit', value: 'confirm', class: danger ? 'danger' : 'primary' }, confirmLabel),
      ),
    );
    const dialog = h('dialog', { 'aria-labelledby': 'dialog-title' }, form);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const values = Object.fromEntries(new FormData(form));
      dialog.close('confirm');
      dialog.remove();
      resolve(values);
    });
    dialog.addEventListener('close', () => {
      if (dialog.returnValue === 'confirm') return;
      dialog.remove();
      resolve(null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A labelled form control for a dialog or form. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}
