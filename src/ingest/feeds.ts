import { feedsmith } from '../heavy-deps.ts';

// RSS 2.0, RSS 1.0 (RDF), Atom 1.0 and JSON Feed, read with feedsmith and reduced to one entry
// shape. Missing fields stay null; nothing is invented. Entry HTML is kept here only as input to
// the extractor, which turns it into text before anything is stored.

export type FeedFormat = 'rss' | 'rdf' | 'atom' | 'json';

export interface FeedEntry {
  /** The entry's own id (RSS guid, Atom id, JSON Feed id), when it has one. */
  guid: string | null;
  /** The entry's page, absolute. */
  link: string | null;
  title: string | null;
  /** The fullest body the feed carries (content:encoded, Atom content, content_html), as HTML. */
  html: string | null;
  /** Plain text body when that is all the feed has (JSON Feed content_text). */
  text: string | null;
  summary: string | null;
  author: string | null;
  publishedAt: string | null;
}

export interface ParsedFeed {
  format: FeedFormat;
  title: string | null;
  link: string | null;
  entries: FeedEntry[];
}

export class FeedParseError extends Error {}

type Loose = Record<string, unknown>;

export function parseFeedDocument(body: string, feedUrl: string): ParsedFeed {
  const trimmed = body.replace(/^\ufeff/, '').trimStart();
  let input: unknown = trimmed;
  if (trimmed.startsWith('{')) {
    try {
      input = JSON.parse(trimmed);
    } catch (err) {
      throw new FeedParseError(`not a feed: invalid JSON (${(err as Error).message})`);
    }
  }
  let parsed: ReturnType<ReturnType<typeof feedsmith>['parseFeed']>;
  try {
    parsed = feedsmith().parseFeed(input);
  } catch (err) {
    throw new FeedParseError(`not an RSS, RDF, Atom or JSON feed: ${(err as Error).message}`);
  }
  const feed = parsed.feed as unknown as Loose;
  const raw = ((parsed.format === 'atom' ? feed.entries : feed.items) ?? []) as Loose[];
  const base = str(feed.link) ?? feedUrl;
  const entries = raw.map((item) => toEntry(parsed.format, item, base));
  return { format: parsed.format, title: str(feed.title), link: absolute(str(feed.link), feedUrl), entries };
}

function toEntry(format: FeedFormat, item: Loose, base: string): FeedEntry {
  const dc = (item.dc ?? {}) as Loose;
  const content = (item.content ?? {}) as Loose;
  const dcCreator = str((dc.creators as unknown[] | undefined)?.[0]) ?? str(dc.creator);
  const dcDate = str((dc.dates as unknown[] | undefined)?.[0]) ?? str(dc.date);
  const authors = (item.authors ?? []) as Loose[];
  switch (format) {
    case 'rss':
      return {
        guid: str((item.guid as Loose | undefined)?.value) ?? str(item.guid),
        link: absolute(str(item.link), base),
        title: str(item.title),
        html: str(content.encoded) ?? str(item.description),
        text: null,
        summary: str(item.description),
        author: str(authors[0]?.name) ?? dcCreator,
        publishedAt: date(str(item.pubDate) ?? dcDate),
      };
    case 'rdf':
      return {
        guid: str((item.rdf as Loose | undefined)?.about),
        link: absolute(str(item.link), base),
        title: str(item.title),
        html: str(content.encoded) ?? str(item.description),
        text: null,
        summary: str(item.description),
        author: dcCreator,
        publishedAt: date(dcDate),
      };
    case 'atom': {
      const links = (item.links ?? []) as Loose[];
      const alternate = links.find((l) => !l.rel || l.rel === 'alternate') ?? links[0];
      const body = atomText(item.content) ?? atomText(item.summary);
      return {
        guid: str(item.id),
        link: absolute(str(alternate?.href), base),
        title: atomText(item.title)?.value ?? null,
        html: body?.html ? body.value : null,
        text: body && !body.html ? body.value : null,
        summary: atomText(item.summary)?.value ?? null,
        author: str(authors[0]?.name) ?? dcCreator,
        publishedAt: date(str(item.published) ?? str(item.updated)),
      };
    }
    case 'json':
      return {
        guid: str(item.id),
        link: absolute(str(item.url) ?? str(item.external_url), base),
        title: str(item.title),
        html: str(item.content_html),
        text: str(item.content_text),
        summary: str(item.summary),
        author: str(authors[0]?.name),
        publishedAt: date(str(item.date_published)),
      };
  }
}

/** An Atom text construct: a string, or `{ value, type }` where type is text, html or xhtml. */
function atomText(value: unknown): { value: string; html: boolean } | null {
  if (value && typeof value === 'object' && 'value' in value) {
    const text = str((value as Loose).value);
    return text ? { value: text, html: (value as Loose).type === 'html' || (value as Loose).type === 'xhtml' } : null;
  }
  const text = str(value);
  // A bare string may still hold markup (feeds are sloppy about type="html"); the extractor copes with both.
  return text ? { value: text, html: true } : null;
}

function str(value: unknown): string | null {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return null;
  const text = value.trim();
  return text ? text : null;
}

/** An http(s) URL resolved against the document's own address, or null. */
export function absolute(href: string | null | undefined, base: string): string | null {
  if (!href) return null;
  try {
    const url = new URL(href, base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** An ISO date from whatever date format a feed or sitemap used, or null. */
export function date(value: string | null | undefined): string | null {
  if (!value) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}
