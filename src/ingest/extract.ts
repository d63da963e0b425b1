import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { markdownWithoutMarkup } from '../text/html.ts';

export interface ExtractedArticle {
  title: string | null;
  byline: string | null;
  lang: string | null;
  excerpt: string | null;
  /** The article as simple Markdown: headings, paragraphs, `- ` lists, `> ` quotes, fenced code. */
  markdown: string;
  /** `<link rel=canonical>` (or og:url), made absolute. */
  canonicalUrl?: string | null;
  /** ISO 8601, from the page's article metadata, when it has any. */
  publishedAt?: string | null;
  siteName?: string | null;
  /** The article's headings, in order, without their `#` marks. */
  headings?: string[];
  /** Links inside the article, made absolute against the page (or its `<base href>`); http(s) only. */
  links?: Array<{ url: string; text: string }>;
}

// The little of the DOM we walk. The project compiles without the DOM lib, so linkedom's and Readability's
// DOM types are not available to lean on.
interface DomNode {
  readonly nodeType: number;
  readonly nodeName: string;
  readonly textContent: string | null;
  readonly childNodes: ArrayLike<DomNode>;
  getAttribute?(name: string): string | null;
}
interface DomElement extends DomNode {
  getAttribute(name: string): string | null;
  remove(): void;
}
interface DomDocument {
  readonly title?: string;
  readonly body: DomNode | null;
  readonly documentElement: { getAttribute(name: string): string | null } | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;

/**
 * Extract the main article of an HTML page and render it as simple Markdown, with its metadata. Links keep only
 * their text in the Markdown; their targets, made absolute against the page URL, are listed in `links`.
 */
export function extractArticle(html: string, url: string): ExtractedArticle {
  // One parse serves both: the metadata is read before Readability rearranges the document.
  const parsed = parseDocument(html);
  const meta = readPageMetadata(parsed, url);
  const article = readArticle(parsed, meta.base);
  if (article) {
    // Titles often carry the site's name ("Story – Site"); the article's own H1, when the title starts with it, is the cleaner one.
    const h1 = /^# (.+)$/m.exec(article.markdown)?.[1] ?? meta.h1;
    const title = h1 && article.title && article.title !== h1 && article.title.startsWith(h1) ? h1 : article.title;
    return {
      ...article,
      title,
      byline: article.byline ?? meta.author,
      canonicalUrl: meta.canonicalUrl,
      publishedAt: normaliseDate(article.publishedAt) ?? meta.publishedAt,
      siteName: article.siteName ?? meta.siteName,
      headings: headingsOf(article.markdown),
    };
  }

  // Readability found nothing usable: fall back to the whole body's text, still without scripts, styles and chrome.
  const document = parseDocument(html);
  removeBoilerplate(document);
  const markdown = document.body ? toMarkdown(document.body) : '';
  return {
    title: clean(document.title),
    byline: meta.author,
    lang: clean(document.documentElement?.getAttribute('lang')),
    excerpt: null,
    markdown,
    canonicalUrl: meta.canonicalUrl,
    publishedAt: meta.publishedAt,
    siteName: meta.siteName,
    headings: headingsOf(markdown),
    links: document.body ? linksIn(document.body, meta.base) : [],
  };
}

/**
 * An HTML fragment (a feed entry's content) as the same simple Markdown, with its links made absolute against
 * `baseUrl`. Nothing of the HTML survives but its text and structure.
 */
export function htmlFragmentToMarkdown(
  html: string,
  baseUrl: string | null,
): { markdown: string; links: Array<{ url: string; text: string }> } {
  const document = parseDocument(`<!doctype html><html><head></head><body>${html}</body></html>`);
  removeBoilerplate(document);
  if (!document.body) return { markdown: '', links: [] };
  return { markdown: toMarkdown(document.body), links: baseUrl ? linksIn(document.body, baseUrl) : [] };
}

type PageMetadata = {
  base: string;
  h1: string | null;
  canonicalUrl: string | null;
  publishedAt: string | null;
  author: string | null;
  siteName: string | null;
};

function readPageMetadata(document: DomDocument, url: string): PageMetadata {
  const attr = (selector: string, name: string) => clean(document.querySelector(selector)?.getAttribute(name));
  const base = absolute(attr('base[href]', 'href'), url) ?? url;
  return {
    base,
    h1: clean(document.querySelector('h1')?.textContent),
    canonicalUrl: absolute(attr('link[rel~="canonical"]', 'href') ?? attr('meta[property="og:url"]', 'content'), base),
    publishedAt: normaliseDate(
      attr('meta[property="article:published_time"]', 'content') ??
        attr('meta[name="date"]', 'content') ??
        attr('meta[itemprop="datePublished"]', 'content') ??
        attr('time[datetime]', 'datetime'),
    ),
    author: attr('meta[name="author"]', 'content') ?? attr('meta[property="article:author"]', 'content'),
    siteName: attr('meta[property="og:site_name"]', 'content'),
  };
}

function absolute(href: string | null | undefined, base: string): string | null {
  if (!href) return null;
  try {
    const resolved = new URL(href, base);
    return resolved.protocol === 'http:' || resolved.protocol === 'https:' ? resolved.href : null;
  } catch {
    return null;
  }
}

function normaliseDate(value: string | null | undefined): string | null {
  if (!value) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}

function headingsOf(markdown: string): string[] {
  return markdown
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => line.replace(/^#{1,6} /, ''));
}

function linksIn(root: DomNode, base: string): Array<{ url: string; text: string }> {
  const links = new Map<string, string>();
  const walk = (node: DomNode): void => {
    if (!isElement(node)) return;
    if (node.nodeName === 'A') {
      const url = absolute(node.getAttribute?.('href'), base);
      if (url && !links.has(url) && links.size < 500)
        links.set(url, tidyInline(node.textContent ?? '').replace(/\n/g, ' '));
    }
    for (const child of children(node)) walk(child);
  };
  walk(root);
  return [...links].map(([url, text]) => ({ url, text }));
}

// Page chrome that is never the article: consent banners, comment threads, ads, share bars, newsletter
// boxes, related-story rails, dialogs. Readability drops most of it; removing it first means its sentences can
// never end up in the text, even when a page is small enough that Readability keeps everything.
const BOILERPLATE_SELECTOR = [
  'script',
  'style',
  'noscript',
  'template',
  'iframe',
  'nav',
  'form',
  'aside',
  'dialog',
  '[role="dialog"]',
  '[role="alertdialog"]',
  '[role="navigation"]',
  '[role="complementary"]',
  '[aria-modal="true"]',
  '[hidden]',
  '[aria-hidden="true"]',
].join(',');
const BOILERPLATE_NAME =
  /(?:^|[\s_-])(?:cookies?|consent|gdpr|cmp|comments?|disqus|respond|advert\w*|ads?|adsense|sponsor(?:ed)?|promo\w*|newsletter|subscribe|subscription|share|sharing|social|related|recommended|popular|trending|popup|modal|overlay|outbrain|taboola|paywall|breadcrumbs?)(?:[\s_-]|$)/i;
const NEVER_REMOVED = new Set(['HTML', 'BODY', 'MAIN', 'ARTICLE']);

function removeBoilerplate(document: DomDocument): void {
  for (const element of Array.from(document.querySelectorAll(BOILERPLATE_SELECTOR))) element.remove();
  for (const element of Array.from(document.querySelectorAll('[class],[id]'))) {
    if (NEVER_REMOVED.has(element.nodeName)) continue;
    const names = `${element.getAttribute('class') ?? ''} ${element.getAttribute('id') ?? ''}`;
    if (BOILERPLATE_NAME.test(names)) element.remove();
  }
}

function parseDocument(html: string): DomDocument {
  return parseHTML(completeDocument(html)).document as unknown as DomDocument;
}

/**
 * linkedom, unlike a browser, does not supply a missing `<html>`, `<head>` or `<body>`: a fragment would have no
 * body at all (and an empty string no document element). Rebuild the frame around such input.
 */
function completeDocument(html: string): string {
  if (/<html[\s>]/i.test(html) && /<body[\s>]/i.test(html)) return html;
  let rest = html.replace(/<!doctype[^>]*>/i, '');
  const lang = /<html[^>]*\slang\s*=\s*["']?([^"'\s>]+)/i.exec(rest)?.[1];
  rest = rest.replace(/<\/?html[^>]*>/gi, '');
  let head = '';
  rest = rest.replace(/<head[^>]*>([\s\S]*?)<\/head>/i, (_match, inner: string) => {
    head = inner;
    return '';
  });
  rest = rest.replace(/<\/?body[^>]*>/gi, '');
  return `<!doctype html><html${lang ? ` lang="${lang}"` : ''}><head>${head}</head><body>${rest}</body></html>`;
}

type ReadArticle = ExtractedArticle & { publishedAt: string | null; siteName: string | null };

function readArticle(document: DomDocument, base: string): ReadArticle | null {
  removeBoilerplate(document);
  let parsed;
  try {
    // The serializer hands back the content node itself, so we walk it instead of re-parsing its HTML.
    parsed = new Readability<unknown>(document as never, { serializer: (node) => node }).parse();
  } catch {
    return null;
  }
  const content = parsed?.content as DomNode | null | undefined;
  if (!parsed || !content) return null;
  const markdown = toMarkdown(content);
  if (markdown === '') return null;
  return {
    title: clean(parsed.title),
    byline: clean(parsed.byline),
    lang: clean(parsed.lang),
    excerpt: clean(parsed.excerpt),
    markdown,
    publishedAt: clean(parsed.publishedTime),
    siteName: clean(parsed.siteName),
    links: linksIn(content, base),
  };
}

function clean(value: string | null | undefined): string | null {
  const text = value?.replace(/\s+/g, ' ').trim();
  return text ? text : null;
}

const SKIP = new Set([
  'SCRIPT',
  'STYLE',
  'NOSCRIPT',
  'TEMPLATE',
  'IFRAME',
  'OBJECT',
  'EMBED',
  'SVG',
  'CANVAS',
  'VIDEO',
  'AUDIO',
  'BUTTON',
  'INPUT',
  'SELECT',
  'TEXTAREA',
  'IMG',
  'PICTURE',
  'HEAD',
  'NAV',
]);
const BLOCK = new Set([
  'P',
  'DIV',
  'SECTION',
  'ARTICLE',
  'MAIN',
  'HEADER',
  'FOOTER',
  'ASIDE',
  'FIGURE',
  'FIGCAPTION',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'UL',
  'OL',
  'LI',
  'DL',
  'DT',
  'DD',
  'BLOCKQUOTE',
  'PRE',
  'TABLE',
  'THEAD',
  'TBODY',
  'TFOOT',
  'TR',
  'TD',
  'TH',
  'CAPTION',
  'HR',
  'ADDRESS',
  'DETAILS',
  'SUMMARY',
  'BODY',
]);

function children(node: DomNode): DomNode[] {
  return Array.from(node.childNodes);
}

function isElement(node: DomNode): boolean {
  return node.nodeType === ELEMENT_NODE;
}

/** Render a container's content as Markdown blocks separated by blank lines. */
function toMarkdown(root: DomNode): string {
  return blocks(root).join('\n\n');
}

function blocks(container: DomNode): string[] {
  const out: string[] = [];
  let inline = '';
  const flush = (): void => {
    const text = tidyInline(inline);
    if (text) out.push(text);
    inline = '';
  };
  for (const node of children(container)) {
    if (node.nodeType === TEXT_NODE) {
      inline += node.textContent ?? '';
    } else if (isElement(node) && !SKIP.has(node.nodeName)) {
      if (BLOCK.has(node.nodeName)) {
        flush();
        out.push(...block(node));
      } else {
        inline += inlineText(node);
      }
    }
  }
  flush();
  return out;
}

function block(node: DomNode): string[] {
  const name = node.nodeName;
  const heading = /^H([1-6])$/.exec(name);
  if (heading) {
    const text = tidyInline(inlineText(node)).replace(/\n/g, ' ');
    return text ? [`${'#'.repeat(Number(heading[1]))} ${text}`] : [];
  }
  switch (name) {
    case 'UL':
    case 'OL': {
      const items = listItems(node, 0);
      return items.length ? [items.join('\n')] : [];
    }
    case 'BLOCKQUOTE': {
      const inner = blocks(node);
      if (!inner.length) return [];
      return [
        inner
          .join('\n\n')
          .split('\n')
          .map((line) => (line ? `> ${line}` : '>'))
          .join('\n'),
      ];
    }
    case 'PRE': {
      const code = (node.textContent ?? '').replace(/\r\n?/g, '\n').replace(/^\n+|\s+$/g, '');
      return code ? ['```\n' + code + '\n```'] : [];
    }
    case 'TABLE':
    case 'THEAD':
    case 'TBODY':
    case 'TFOOT': {
      const rows = tableRows(node);
      return rows.length ? [rows.join('\n')] : [];
    }
    case 'TR': {
      const row = tableRow(node);
      return row ? [row] : [];
    }
    case 'HR':
      return [];
    default:
      return blocks(node);
  }
}

/** `- item` lines; nested lists indent by two spaces per level. */
function listItems(list: DomNode, depth: number): string[] {
  const lines: string[] = [];
  const indent = '  '.repeat(depth);
  for (const child of children(list)) {
    if (!isElement(child)) continue;
    if (child.nodeName === 'UL' || child.nodeName === 'OL') {
      lines.push(...listItems(child, depth + 1));
      continue;
    }
    if (child.nodeName !== 'LI') continue;
    let own = '';
    const nested: string[] = [];
    for (const part of children(child)) {
      if (isElement(part) && (part.nodeName === 'UL' || part.nodeName === 'OL'))
        nested.push(...listItems(part, depth + 1));
      else if (part.nodeType === TEXT_NODE) own += part.textContent ?? '';
      else if (isElement(part) && !SKIP.has(part.nodeName)) own += ' ' + inlineText(part) + ' ';
    }
    const text = tidyInline(own).replace(/\n/g, ' ');
    if (text) lines.push(`${indent}- ${text}`);
    lines.push(...nested);
  }
  return lines;
}

function tableRows(node: DomNode): string[] {
  const rows: string[] = [];
  for (const child of children(node)) {
    if (!isElement(child)) continue;
    if (child.nodeName === 'TR') {
      const row = tableRow(child);
      if (row) rows.push(row);
    } else if (child.nodeName === 'CAPTION') {
      const caption = tidyInline(inlineText(child));
      if (caption) rows.push(caption);
    } else {
      rows.push(...tableRows(child));
    }
  }
  return rows;
}

function tableRow(row: DomNode): string {
  const cells = children(row)
    .filter((cell) => isElement(cell) && (cell.nodeName === 'TD' || cell.nodeName === 'TH'))
    .map((cell) => tidyInline(inlineText(cell)).replace(/\n/g, ' '))
    .filter(Boolean);
  return cells.join(' | ');
}

/** Text of an element as it would read inline: links and emphasis reduce to their text, `<br>` to a newline. */
function inlineText(node: DomNode): string {
  if (node.nodeType === TEXT_NODE) return node.textContent ?? '';
  if (!isElement(node) || SKIP.has(node.nodeName)) return '';
  if (node.nodeName === 'BR') return '\n';
  let text = '';
  for (const child of children(node)) text += inlineText(child);
  // Block-level children inside an inline context still separate words.
  return BLOCK.has(node.nodeName) ? ` ${text} ` : text;
}

function tidyInline(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/[\s\u200b\ufeff]+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
}

/**
 * Normalise raw text or Markdown (line endings, stray whitespace, runs of blank lines) and pick a title:
 * the given one, else the first `# ` heading, else the first line.
 */
export function extractFromText(text: string, title?: string | null): ExtractedArticle {
  // Submitted Markdown may carry raw HTML; none of it (scripts, handlers, script URLs) is kept as text.
  const markdown = markdownWithoutMarkup(normaliseText(text));
  const lines = markdown.split('\n');
  const given = clean(title);
  const heading = lines.find((line) => /^#\s+\S/.test(line));
  const firstLine = lines.find((line) => line.trim() !== '');
  const derived = heading
    ? heading.replace(/^#\s+/, '').replace(/\s+#+\s*$/, '')
    : firstLine?.replace(/^\s*(?:#{1,6}\s+|[-*+]\s+|>\s?|\d+[.)]\s+)/, '');
  return {
    title: given ?? clean(truncateAtWord(derived ?? '', 120)),
    byline: null,
    lang: null,
    excerpt: firstParagraph(markdown),
    markdown,
  };
}

function normaliseText(text: string): string {
  const out: string[] = [];
  let inFence = false;
  for (const raw of text
    .replace(/\r\n?/g, '\n')
    .replace(/^\ufeff/, '')
    .split('\n')) {
    // Control characters other than tab and newline never belong in text.
    const line = raw.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u200b]/g, '').replace(/\s+$/, '');
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence || /^\s*(```|~~~)/.test(line)) {
      out.push(line);
      continue;
    }
    const leading = /^[ \t]*/.exec(line)![0];
    let indent = leading.replace(/\t/g, '    ');
    const rest = line.slice(leading.length).replace(/[ \t\u00a0]+/g, ' ');
    // Up to three spaces before a paragraph's first line mean nothing in Markdown; deeper indentation (indented
    // code) and the indentation of nested list items are kept.
    const startsParagraph = out.length === 0 || out[out.length - 1] === '';
    if (startsParagraph && indent.length < 4 && !/^([-*+]|\d+[.)])\s/.test(rest)) indent = '';
    out.push(rest === '' ? '' : indent + rest);
  }
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+|\n+$/g, '');
}

function firstParagraph(markdown: string): string | null {
  for (const para of markdown.split(/\n{2,}/)) {
    const text = para.trim();
    if (!text || /^(#{1,6}\s|```|~~~|>|[-*+]\s|\d+[.)]\s|\|)/.test(text)) continue;
    return clean(truncateAtWord(text.replace(/\s+/g, ' '), 200));
  }
  return null;
}

function truncateAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max + 1).lastIndexOf(' ');
  return (cut > 0 ? text.slice(0, cut) : text.slice(0, max)).replace(/[\s,;:.-]+$/, '');
}
