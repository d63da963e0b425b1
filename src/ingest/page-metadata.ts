import { absoluteUrl, clean, type DomDocument, type DomElement, elementsByTag } from './dom.ts';

const METADATA_TAGS = new Set(['base', 'link', 'meta', 'time', 'h1', 'script']);

// What a page says about itself: <meta> tags (Open Graph, Twitter, Dublin Core, article:*), schema.org JSON-LD and
// microdata, <link rel=canonical>, <html lang>. Read from the document as parsed, before anything is removed.

export type LeadImage = { url: string; alt: string | null; caption: string | null };

export type PageMetadata = {
  /** The URL relative links resolve against: `<base href>` if the page has one, else the page's own. */
  base: string;
  title: string | null;
  h1: string | null;
  description: string | null;
  canonicalUrl: string | null;
  publishedAt: string | null;
  modifiedAt: string | null;
  author: string | null;
  siteName: string | null;
  lang: string | null;
  image: LeadImage | null;
};

type JsonLd = Record<string, unknown>;

export function readPageMetadata(document: DomDocument, url: string): PageMetadata {
  // One query for every tag read here (each querySelector would walk the whole document again).
  const tags = elementsByTag(document, METADATA_TAGS);
  const lower = (element: DomElement, name: string) => element.getAttribute(name)?.toLowerCase() ?? null;
  const attr = (test: (element: DomElement) => boolean, name: string) => {
    const element = tags.find(test);
    return element ? clean(element.getAttribute(name)) : null;
  };
  const metas = new Map<string, string>();
  for (const tag of tags) {
    if (tag.nodeName !== 'META' || !tag.hasAttribute('content')) continue;
    const content = clean(tag.getAttribute('content'));
    if (!content) continue;
    for (const key of [tag.getAttribute('property'), tag.getAttribute('name'), tag.getAttribute('itemprop')])
      if (key && !metas.has(key.toLowerCase())) metas.set(key.toLowerCase(), content);
  }
  const meta = (...keys: string[]) => {
    for (const key of keys) {
      const value = metas.get(key.toLowerCase());
      if (value) return value;
    }
    return null;
  };
  const base =
    absoluteUrl(
      attr((e) => e.nodeName === 'BASE' && e.hasAttribute('href'), 'href'),
      url,
    ) ?? url;
  const ld = articleJsonLd(
    tags.filter((e) => e.nodeName === 'SCRIPT' && lower(e, 'type')?.trim() === 'application/ld+json'),
  );
  const time = (itemprop: string | null) =>
    attr(
      (e) => e.nodeName === 'TIME' && (itemprop ? e.getAttribute('itemprop') === itemprop : e.hasAttribute('datetime')),
      'datetime',
    );

  const imageUrl =
    absoluteUrl(meta('og:image:secure_url', 'og:image', 'og:image:url', 'twitter:image', 'twitter:image:src'), base) ??
    absoluteUrl(ldImage(ld?.image), base);
  const image: LeadImage | null = imageUrl
    ? { url: imageUrl, alt: meta('og:image:alt', 'twitter:image:alt'), caption: ldImageCaption(ld?.image) }
    : null;

  return {
    base,
    title: clean(document.title) ?? meta('og:title', 'twitter:title'),
    h1: clean(tags.find((e) => e.nodeName === 'H1')?.textContent),
    description: meta('description', 'og:description', 'twitter:description'),
    canonicalUrl: absoluteUrl(
      attr((e) => e.nodeName === 'LINK' && !!lower(e, 'rel')?.split(/\s+/).includes('canonical'), 'href') ??
        meta('og:url'),
      base,
    ),
    publishedAt: normaliseDate(
      meta('article:published_time', 'og:published_time', 'datePublished', 'date', 'dc.date', 'dc.date.issued') ??
        ldString(ld?.datePublished) ??
        time('datePublished') ??
        time(null),
    ),
    modifiedAt: normaliseDate(
      meta('article:modified_time', 'og:updated_time', 'dateModified', 'last-modified') ??
        ldString(ld?.dateModified) ??
        time('dateModified'),
    ),
    author: meta('author', 'article:author', 'dc.creator') ?? ldAuthor(ld?.author),
    siteName: meta('og:site_name', 'application-name') ?? ldName(ld?.publisher),
    lang:
      clean(document.documentElement?.getAttribute('lang')) ??
      attr((e) => e.nodeName === 'META' && lower(e, 'http-equiv') === 'content-language', 'content') ??
      meta('og:locale')?.replace('_', '-') ??
      null,
    image,
  };
}

/** The first image of the article itself, when the page names none: absolute, with its alt text and caption. */
export function firstFigureImage(content: DomElement, base: string): LeadImage | null {
  for (const img of Array.from(content.querySelectorAll('img'))) {
    const src =
      img.getAttribute('src') ?? img.getAttribute('data-src') ?? img.getAttribute('srcset')?.split(/[\s,]/)[0] ?? null;
    if (!src || src.startsWith('data:')) continue;
    const url = absoluteUrl(src, base);
    if (!url) continue;
    // Tracking pixels and icons are not a lead image.
    const width = Number(img.getAttribute('width') ?? 0);
    if (width > 0 && width < 100) continue;
    let figure: DomElement | null = img.parentElement;
    while (figure && figure.nodeName !== 'FIGURE' && figure !== content) figure = figure.parentElement;
    const caption = figure?.nodeName === 'FIGURE' ? clean(figure.querySelector('figcaption')?.textContent) : null;
    return { url, alt: clean(img.getAttribute('alt')), caption };
  }
  return null;
}

export function normaliseDate(value: string | null | undefined): string | null {
  if (!value) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}

const ARTICLE_TYPE = /Article|Posting|Report|BlogPosting|WebPage/;

/** The page's schema.org article (or, failing that, web page) object from its JSON-LD, if it has one. */
function articleJsonLd(scripts: DomElement[]): JsonLd | null {
  let fallback: JsonLd | null = null;
  for (const script of scripts) {
    let data: unknown;
    try {
      data = JSON.parse((script.textContent ?? '').replace(/^\s*<!\[CDATA\[|\]\]>\s*$/g, ''));
    } catch {
      continue;
    }
    const queue: unknown[] = [data];
    while (queue.length) {
      const item = queue.shift();
      if (Array.isArray(item)) queue.push(...item);
      else if (item && typeof item === 'object') {
        const object = item as JsonLd;
        if (Array.isArray(object['@graph'])) queue.push(...(object['@graph'] as unknown[]));
        const type = ([] as unknown[]).concat(object['@type']).join(' ');
        if (/Article|Posting|Report/.test(type)) return object;
        if (!fallback && ARTICLE_TYPE.test(type)) fallback = object;
      }
    }
  }
  return fallback;
}

function ldString(value: unknown): string | null {
  if (typeof value === 'string') return clean(value);
  if (Array.isArray(value)) return ldString(value[0]);
  return null;
}

function ldName(value: unknown): string | null {
  if (typeof value === 'string') return clean(value);
  if (Array.isArray(value)) {
    const names = value.map(ldName).filter((n): n is string => !!n);
    return names.length ? names.join(', ') : null;
  }
  if (value && typeof value === 'object') return ldString((value as JsonLd).name);
  return null;
}

function ldAuthor(value: unknown): string | null {
  const name = ldName(value);
  // Some sites put a profile URL where the name belongs.
  return name && !/^https?:\/\//.test(name) ? name : null;
}

function ldImage(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return ldImage(value[0]);
  if (value && typeof value === 'object')
    return ldString((value as JsonLd).url) ?? ldString((value as JsonLd).contentUrl);
  return null;
}

function ldImageCaption(value: unknown): string | null {
  if (Array.isArray(value)) return ldImageCaption(value[0]);
  if (value && typeof value === 'object') return ldString((value as JsonLd).caption);
  return null;
}
