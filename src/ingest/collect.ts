import { createHash } from 'node:crypto';
import type { Config } from '../config.ts';
import { linkedom } from '../heavy-deps.ts';
import type { Db } from '../db/pool.ts';
import { isPermanent, PermanentError } from '../errors.ts';
import { decodeBody } from '../fetch/charset.ts';
import type { SafeFetcher } from '../fetch/safe-fetch.ts';
import type { Logger } from '../logger.ts';
import { htmlFragmentToMarkdown } from './extract.ts';
import { conditionalHeaders } from './store.ts';
import { PAGE_TYPES } from './fetch-page.ts';
import { FeedParseError, parseFeedDocument, type FeedEntry } from './feeds.ts';
import { gunzipIfNeeded, parseSitemap, SitemapParseError, SITEMAP_TYPES, type SitemapUrl } from './sitemaps.ts';

// Collecting: a feed, sitemap or site is read (conditionally, so an unchanged one costs a 304),
// its entries are checked against what the tenant has already seen, and each new entry (or group
// of entries about one topic) becomes a child submission with its own post, ingested on its own.

export type CollectorKind = 'feed' | 'sitemap' | 'site';

export type CollectedEntry = {
  itemKey: string;
  lastmod: string | null;
  url: string | null;
  title: string | null;
  /** Markdown made from the entry's own content (never its HTML), when the feed carried any. */
  markdown: string | null;
  metadata: Record<string, unknown>;
};

export type Validators = { url: string; etag: string | null; lastModified: string | null };

export type Collected = {
  /** The server answered 304 to the conditional request: nothing was parsed. */
  notModified: boolean;
  /** What was finally read: a site resolves to its feed or sitemap. */
  kind: 'feed' | 'sitemap';
  url: string;
  entries: CollectedEntry[];
  validators: Validators | null;
};

type CollectDeps = { db: Db; fetcher: SafeFetcher; config: Config; log: Logger };

const FEED_TYPES = [
  'application/rss+xml',
  'application/atom+xml',
  'application/rdf+xml',
  'application/feed+json',
  'application/json',
  'application/xml',
  'text/xml',
  'text/plain',
];
const FEED_ACCEPT =
  'application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1';
const MAX_CHILD_SITEMAPS = 10;

export async function collect(
  deps: CollectDeps,
  input: { tenantId: string; kind: CollectorKind; url: string },
): Promise<Collected> {
  switch (input.kind) {
    case 'feed':
      return collectFeed(deps, input.tenantId, input.url);
    case 'sitemap':
      return collectSitemap(deps, input.tenantId, input.url);
    case 'site':
      return collectSite(deps, input.tenantId, input.url);
  }
}

function validatorsOf(url: string, headers: Headers): Validators | null {
  const etag = headers.get('etag');
  const lastModified = headers.get('last-modified');
  return etag || lastModified ? { url, etag, lastModified } : null;
}

async function collectFeed(deps: CollectDeps, tenantId: string, url: string): Promise<Collected> {
  const fetched = await deps.fetcher.fetch(url, {
    allowedTypes: FEED_TYPES,
    accept: FEED_ACCEPT,
    headers: await conditionalHeaders(deps.db, tenantId, url),
  });
  if (fetched.notModified) return { notModified: true, kind: 'feed', url, entries: [], validators: null };
  let feed: ReturnType<typeof parseFeedDocument>;
  try {
    feed = parseFeedDocument(decodeBody(fetched.bytes, fetched.contentType).text, fetched.url);
  } catch (err) {
    if (err instanceof FeedParseError) throw new PermanentError(`${url}: ${err.message}`);
    throw err;
  }
  const entries = feed.entries.flatMap((entry) => {
    const collected = feedEntry(url, feed.format, entry);
    return collected ? [collected] : [];
  });
  return { notModified: false, kind: 'feed', url, entries, validators: validatorsOf(url, fetched.headers) };
}

export function feedEntry(feedUrl: string, format: string, entry: FeedEntry): CollectedEntry | null {
  const body = entry.html ? htmlFragmentToMarkdown(entry.html, entry.link ?? feedUrl) : null;
  const markdown = body?.markdown || entry.text || null;
  if (!entry.link && !markdown) return null;
  const itemKey = entry.guid
    ? `guid:${feedUrl}#${entry.guid}`
    : entry.link
      ? `link:${normaliseUrl(entry.link)}`
      : `hash:${createHash('sha256')
          .update(`${entry.title ?? ''}\n${markdown}`)
          .digest('hex')}`;
  return {
    itemKey,
    lastmod: null,
    url: entry.link,
    title: entry.title ? htmlFragmentToMarkdown(entry.title, null).markdown || entry.title : null,
    markdown,
    metadata: {
      feedUrl,
      feedFormat: format,
      guid: entry.guid,
      author: entry.author,
      publishedAt: entry.publishedAt,
      summary: entry.summary
        ? htmlFragmentToMarkdown(entry.summary, entry.link ?? feedUrl).markdown.slice(0, 1000)
        : null,
      links: body?.links.slice(0, 100) ?? [],
    },
  };
}

async function collectSitemap(deps: CollectDeps, tenantId: string, url: string): Promise<Collected> {
  const first = await fetchSitemap(deps, url, await conditionalHeaders(deps.db, tenantId, url));
  if (first.notModified) return { notModified: true, kind: 'sitemap', url, entries: [], validators: null };
  const urls: SitemapUrl[] = [...first.sitemap!.urls];
  // An index lists further sitemaps; the most recently changed ones are read first.
  const children = [...first.sitemap!.sitemaps]
    .sort((a, b) => (b.lastmod ?? '').localeCompare(a.lastmod ?? ''))
    .slice(0, MAX_CHILD_SITEMAPS);
  for (const child of children) {
    const fetched = await fetchSitemap(deps, child.url, {});
    urls.push(...(fetched.sitemap?.urls ?? []));
  }
  const entries = urls
    .sort((a, b) => (b.lastmod ?? '').localeCompare(a.lastmod ?? ''))
    .map((u) => ({
      itemKey: `url:${normaliseUrl(u.url)}`,
      lastmod: u.lastmod,
      url: u.url,
      title: null,
      markdown: null,
      metadata: { sitemapUrl: url, lastmod: u.lastmod },
    }));
  return { notModified: false, kind: 'sitemap', url, entries, validators: first.validators };
}

async function fetchSitemap(deps: CollectDeps, url: string, headers: Record<string, string>) {
  const fetched = await deps.fetcher.fetch(url, {
    allowedTypes: SITEMAP_TYPES,
    accept: 'application/xml, text/xml;q=0.9, */*;q=0.1',
    headers,
  });
  if (fetched.notModified) return { notModified: true, sitemap: null, validators: null };
  try {
    const bytes = gunzipIfNeeded(fetched.bytes, deps.config.FETCH_MAX_BYTES * 10);
    const sitemap = parseSitemap(decodeBody(bytes, fetched.contentType).text, fetched.url);
    return { notModified: false, sitemap, validators: validatorsOf(url, fetched.headers) };
  } catch (err) {
    if (err instanceof SitemapParseError) throw new PermanentError(`${url}: ${err.message}`);
    throw err;
  }
}

/** A competitor's home page: its announced feed if it has one, else its sitemap (robots.txt, then /sitemap.xml). */
async function collectSite(deps: CollectDeps, tenantId: string, url: string): Promise<Collected> {
  const home = await deps.fetcher.fetch(url, { allowedTypes: PAGE_TYPES, accept: 'text/html' });
  const feeds = discoverFeeds(decodeBody(home.bytes, home.contentType).text, home.url);
  deps.log.debug({ url, feeds }, 'site discovery');
  for (const feed of feeds.slice(0, 3)) {
    try {
      return await collectFeed(deps, tenantId, feed);
    } catch (err) {
      if (!isPermanent(err)) throw err;
      deps.log.info({ feed, err: (err as Error).message }, 'announced feed unusable; trying the next way in');
    }
  }
  const robots = await deps.fetcher.robots(home.url);
  const sitemaps = robots.sitemaps.length > 0 ? robots.sitemaps : [new URL('/sitemap.xml', home.url).href];
  for (const sitemap of sitemaps.slice(0, 3)) {
    try {
      return await collectSitemap(deps, tenantId, sitemap);
    } catch (err) {
      if (!isPermanent(err)) throw err;
    }
  }
  throw new PermanentError(`${url}: no feed (link rel=alternate) or sitemap (robots.txt Sitemap:, /sitemap.xml) found`);
}

const ALTERNATE_FEED_TYPES = new Set([
  'application/rss+xml',
  'application/atom+xml',
  'application/rdf+xml',
  'application/feed+json',
  'application/json',
]);

/** Feeds a page announces with `<link rel="alternate" type="…" href="…">`, absolute, in page order. */
export function discoverFeeds(html: string, pageUrl: string): string[] {
  const { document } = linkedom().parseHTML(html);
  const found: string[] = [];
  for (const link of Array.from(document.querySelectorAll('link[rel~="alternate"][href]')) as Array<{
    getAttribute(n: string): string | null;
  }>) {
    const type = (link.getAttribute('type') ?? '').toLowerCase().split(';')[0]!.trim();
    if (!ALTERNATE_FEED_TYPES.has(type)) continue;
    try {
      const href = new URL(link.getAttribute('href')!, pageUrl);
      if ((href.protocol === 'http:' || href.protocol === 'https:') && !found.includes(href.href))
        found.push(href.href);
    } catch {
      // An unparsable href is skipped.
    }
  }
  return found;
}

/** Lower-cased scheme and host, no fragment, no default port, no trailing slash on the path. */
export function normaliseUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.hash = '';
    const text = url.href;
    return url.pathname !== '/' && text.endsWith('/') && !url.search ? text.slice(0, -1) : text;
  } catch {
    return raw.trim();
  }
}
