import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSafeFetcher } from '../../src/fetch/safe-fetch.ts';
import { feedEntry } from '../../src/ingest/collect.ts';
import { parseFeedDocument } from '../../src/ingest/feeds.ts';
import { extractArticle } from '../../src/ingest/extract.ts';
import { fetchPage } from '../../src/ingest/fetch-page.ts';
import { startFixtureSite, type FixtureSite } from '../fixtures/ingest/site.ts';
import { decodeBody } from '../../src/fetch/charset.ts';

// Real pages and feeds served over HTTP by a local site: chrome, ads, comments, cookie banners,
// windows-1252 and ISO-8859-1, gzip, redirects, relative links; feeds in all four formats with
// HTML in entries, CDATA and missing fields.

let site: FixtureSite;
const fetcher = createSafeFetcher({ allowPrivateHosts: ['127.0.0.1'], timeoutMs: 5_000 });

beforeAll(async () => {
  site = await startFixtureSite();
});
afterAll(() => site.close());

const ownSentences = [
  'Tidal turbines in the Pentland Firth have now produced electricity for more than seven years',
  'Engineers learned to place the power electronics on shore, where a failed ' +
    'component can be swapped in an afternoon instead of a week at sea.',
  'Unlike wind and sunshine, tides can be forecast decades ahead.',
  'Floating platforms can be towed to port for maintenance.',
  'Coastal communities also benefit: the Orkney projects employ local boat ' +
    'crews and train apprentices at the harbour in Kirkwall.',
];
const boilerplate = [
  'We use cookies to personalise content and ads', // cookie banner
  'Accept all',
  'Events and webinars', // navigation
  'Refinance your boat today', // ad
  'Share on Twitter', // share bar
  'Sign up for our newsletter', // newsletter box
  'Win a luxury cruise', // sponsored inline ad
  'Ten lighthouses you must visit', // related stories
  'what about the seals swimming near the turbines', // comments
  'nobody listens to me at the pub', // comments
  'Leave a reply',
  'All rights reserved', // footer
  'ad-script-token', // script
];

describe('extracting article pages fetched from a site', () => {
  it.each([
    ['a windows-1252 page whose charset is only in <meta>', '/article'],
    ['a gzip-encoded page', '/article-gz'],
    ['a page behind two redirects', '/old-article'],
  ])('keeps the article of %s and drops its chrome', async (_name, path) => {
    const page = await fetchPage(`${site.url}${path}`, { fetcher });
    const article = extractArticle(page.body, page.url);
    for (const sentence of ownSentences) expect(article.markdown).toContain(sentence);
    for (const sentence of boilerplate) expect(article.markdown).not.toContain(sentence);
    expect(article.markdown).toContain('## Predictable power is worth paying for');
    expect(article.markdown).not.toMatch(/<[a-z]/i);
    expect(article.byline).toMatch(/Maëlle Dupré/);
  });

  it('decodes windows-1252 from the document and reads the metadata, with links made absolute', async () => {
    const page = await fetchPage(`${site.url}/old-article`, { fetcher });
    expect(page.url).toBe(`${site.url}/article`);
    expect(page.charset).toBe('windows-1252');
    const article = extractArticle(page.body, page.url);
    expect(article.title).toBe('Why Tidal Power Is Finally Getting Cheaper');
    expect(article.lang).toBe('en');
    expect(article.canonicalUrl).toBe(`${site.url}/2024/05/tidal-power-cheaper`);
    expect(article.publishedAt).toBe('2024-05-14T09:30:00.000Z');
    expect(article.siteName).toBe('Coastal Energy Review');
    expect(article.headings).toEqual(
      ['Why Tidal Power Is Finally Getting Cheaper', 'Predictable power is worth paying for'].filter((h) =>
        article.markdown.includes(h),
      ),
    );
    expect(article.headings).toContain('Predictable power is worth paying for');
    expect(article.links).toContainEqual({
      url: `${site.url}/research/marine-energy-outlook`,
      text: 'Marine Energy Outlook',
    });
    expect(article.links!.every((l) => /^https?:\/\//.test(l.url))).toBe(true);
  });
});

async function feedFrom(path: string) {
  const res = await fetcher.fetch(`${site.url}${path}`, { allowedTypes: ['*'] });
  const url = `${site.url}${path}`;
  const feed = parseFeedDocument(decodeBody(res.bytes, res.contentType).text, url);
  return { feed, entries: feed.entries.map((e) => feedEntry(url, feed.format, e)) };
}

describe('feeds in all four formats', () => {
  it(
    'RSS 2.0: CDATA HTML content becomes text, escaped HTML descriptions too, ' +
      'entries missing fields are kept or dropped sensibly',
    async () => {
      const { feed, entries } = await feedFrom('/feeds/rss.xml');
      expect(feed.format).toBe('rss');
      expect(entries).toHaveLength(3);
      const [wave, harbour, bare] = entries;
      expect(wave!.itemKey).toBe(`guid:${site.url}/feeds/rss.xml#cer-2024-0611`);
      expect(wave!.url).toBe('https://coastal.example/2024/06/wave-farms');
      expect(wave!.metadata).toMatchObject({ author: 'Sam Okafor', publishedAt: '2024-06-11T08:00:00.000Z' });
      expect(wave!.markdown).toContain(
        'Wave energy developers are borrowing mooring designs from floating offshore wind',
      );
      expect(wave!.markdown).toContain('can be ordered for a wave converter without a new approval.');
      expect(wave!.markdown).not.toContain('Share this');
      expect(wave!.markdown).not.toContain('alert(');
      expect(wave!.metadata.links).toContainEqual({
        url: 'https://coastal.example/guides/moorings',
        text: 'our mooring guide',
      });
      expect(harbour!.title).toBe('Harbour grid upgrade approved & funded');
      expect(harbour!.itemKey).toBe('link:https://coastal.example/2024/06/harbour-grid');
      expect(harbour!.markdown).toContain('The regulator approved a new substation at the harbour');
      expect(harbour!.markdown).not.toContain('cheap flights');
      expect(bare!.title).toBeNull();
      expect(bare!.url).toBeNull();
      expect(bare!.itemKey).toMatch(/^hash:/);
      expect(bare!.markdown).toContain('Kirkwall apprentices');
    },
  );

  it('RSS 1.0 (RDF) in ISO-8859-1, with a missing date', async () => {
    const { feed, entries } = await feedFrom('/feeds/rss1.rdf');
    expect(feed.format).toBe('rdf');
    expect(entries[0]!.metadata).toMatchObject({ author: 'Zoë Brontë', publishedAt: '2024-04-02T10:00:00.000Z' });
    expect(entries[0]!.markdown).toContain('Restored salt marshes near the tidal site in Brittany store carbon');
    expect(entries[0]!.markdown).not.toContain('uses cookies');
    expect(entries[1]!.metadata.publishedAt).toBeNull();
    expect(entries[1]!.markdown).toBeNull();
    expect(entries[1]!.url).toBe('https://coastal.example/2024/04/no-date');
  });

  it('Atom 1.0 with HTML content and a summary-only entry, relative links resolved', async () => {
    const { feed, entries } = await feedFrom('/feeds/atom.xml');
    expect(feed.format).toBe('atom');
    expect(entries[0]!.title).toBe('Subsea cables get smarter');
    // Atom resolves relative links against the feed document's own URL.
    expect(entries[0]!.url).toBe(`${site.url}/2024/06/subsea-cables`);
    expect(entries[0]!.markdown).toContain('Fibre-optic sensors woven into subsea export cables');
    expect(entries[0]!.markdown).not.toContain('who pays for this');
    expect(entries[0]!.metadata).toMatchObject({ author: 'Ingrid Solberg', publishedAt: '2024-06-19T07:00:00.000Z' });
    expect(entries[1]!.markdown).toContain('Port authorities in Orkney published a summary');
  });

  it('JSON Feed with HTML and text-only entries, one without a title', async () => {
    const { feed, entries } = await feedFrom('/feeds/feed.json');
    expect(feed.format).toBe('json');
    expect(entries[0]!.markdown).toContain('The harbour at Eday turns surplus tidal power into hydrogen');
    expect(entries[0]!.markdown).not.toContain('Subscribe to our newsletter');
    expect(entries[0]!.metadata.publishedAt).toBe('2024-07-01T10:00:00.000Z');
    expect(entries[1]!.title).toBeNull();
    expect(entries[1]!.markdown).toBe(
      'A plain-text entry without a title: the ferry operator reports a forty percent cut in diesel use.',
    );
    expect(entries[1]!.itemKey).toBe(`guid:${site.url}/feeds/feed.json#json-2`);
  });
});
