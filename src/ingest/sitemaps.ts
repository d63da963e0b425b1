import { gunzipSync } from 'node:zlib';
import { linkedom } from '../heavy-deps.ts';
import { absolute, date } from './feeds.ts';

// sitemap.xml (a <urlset>) and sitemap indexes (a <sitemapindex> of further sitemaps), plain or
// gzipped, per sitemaps.org. linkedom's XML mode handles entities and CDATA.

export interface SitemapUrl {
  url: string;
  /** ISO 8601, when the sitemap gives one. */
  lastmod: string | null;
}

export interface ParsedSitemap {
  kind: 'urlset' | 'index';
  urls: SitemapUrl[];
  /** Child sitemaps of an index. */
  sitemaps: SitemapUrl[];
}

export class SitemapParseError extends Error {}

export const SITEMAP_TYPES = [
  'application/xml',
  'text/xml',
  'application/gzip',
  'application/x-gzip',
  'application/octet-stream',
] as const;

/** Gunzips a body that is still gzipped (a .xml.gz served as a file), never to more than `maxBytes`. */
export function gunzipIfNeeded(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw new SitemapParseError(
      tooBig ? `the gzipped sitemap expands past ${maxBytes} bytes` : `invalid gzip: ${(err as Error).message}`,
    );
  }
}

type XmlElement = {
  localName: string;
  textContent: string | null;
  getElementsByTagName(name: string): ArrayLike<XmlElement>;
};

export function parseSitemap(xml: string, sitemapUrl: string): ParsedSitemap {
  const document = new (linkedom().DOMParser)().parseFromString(xml.replace(/^\ufeff/, ''), 'text/xml') as unknown as {
    documentElement: XmlElement | null;
  };
  const root = document.documentElement;
  const rootName = root?.localName?.replace(/^.*:/, '');
  if (!root || (rootName !== 'urlset' && rootName !== 'sitemapindex')) {
    throw new SitemapParseError(`not a sitemap: the root element is <${rootName ?? 'none'}>`);
  }
  const entries = (tag: string): SitemapUrl[] => {
    const out: SitemapUrl[] = [];
    for (const element of Array.from(root.getElementsByTagName(tag))) {
      const loc = absolute(element.getElementsByTagName('loc')[0]?.textContent?.trim(), sitemapUrl);
      if (!loc) continue;
      out.push({ url: loc, lastmod: date(element.getElementsByTagName('lastmod')[0]?.textContent?.trim()) });
    }
    return out;
  };
  return rootName === 'urlset'
    ? { kind: 'urlset', urls: entries('url'), sitemaps: [] }
    : { kind: 'index', urls: [], sitemaps: entries('sitemap') };
}
