import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPostForPublishing } from '../../src/publish/post-data.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { kelpFarmParagraphs } from '../support/source-articles.ts';

// The ingest gate through the real ingest stage, against pages served on loopback: a page whose only text is a
// footer, a consent box or a list of links fails its source permanently with "no article found at <url>" and never
// becomes a post; a feed entry whose page is such a page is written from the entry's own text; a real article's
// metadata lands on its source, and its lead image reaches what publishing loads.

const FOOTER_ONLY = `<!doctype html><html lang="en"><head><title>Quarterly results</title></head><body>
  <div id="app"></div>
  <footer><p>© 2019 Example Media Holdings, Inc. All Rights Reserved.</p><p>\
<a href="/privacy">Privacy policy</a> · <a href="/terms">Terms of use</a></p></footer>
</body></html>`;

const CONSENT_ONLY = `<!doctype html><html lang="de"><head><title>Artikel</title></head><body>
  <div class="consent"><p>Wir verwenden Cookies. Mit Ihrer Einwilligung verarbeiten wir Ihre Daten (Datenschutz).</p>\
<p>Alle akzeptieren</p></div>
  <p>Bitte aktivieren Sie JavaScript in Ihrem Browser.</p>
</body></html>`;

const LINK_LIST = `<!doctype html><html lang="en"><head><title>Archive</title></head><body><main><ul>${Array.from(
  { length: 30 },
  (_, i) => `<li><a href="/story-${i}">Story number ${i} about harbour grids and tidal power</a></li>`,
).join('')}</ul></main></body></html>`;

const ARTICLE = `<!doctype html><html lang="en-GB"><head>
  <title>Kelp farms take root beside tidal turbines | Coastal Review</title>
  <link rel="canonical" href="/2024/05/kelp-farms">
  <meta property="og:site_name" content="Coastal Review">
  <meta property="og:image" content="/images/kelp.jpg">
  <meta property="og:image:alt" content="Kelp lines drifting beside a turbine foundation">
  <meta property="article:published_time" content="2024-05-14T09:30:00Z">
  <meta property="article:modified_time" content="2024-05-15T12:00:00Z">
  <script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle","author":{"@type":"Person","name":"Ines Calder"}}</script>
</head><body>
  <nav><a href="/">Home</a> <a href="/news">News</a></nav>
  <article>
    <h1>Kelp farms take root beside tidal turbines</h1>
    ${kelpFarmParagraphs}
  </article>
  <footer><p>© 2024 Coastal Review. All rights reserved.</p></footer>
</body></html>`;

describe('the ingest gate', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: Server;
  let siteUrl: string;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t);
    site = createServer((req, res) => {
      const html = (body: string) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
      switch (req.url) {
        case '/robots.txt':
          return res.writeHead(404).end();
        case '/footer-only':
          return html(FOOTER_ONLY);
        case '/consent':
          return html(CONSENT_ONLY);
        case '/archive':
          return html(LINK_LIST);
        case '/kelp':
          return html(ARTICLE);
        case '/feed.xml':
          return res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8' }).end(
            `<?xml version="1.0"?><rss version="2.0"><channel><title>Coastal</title><link>${siteUrl}/</link>
              <item><title>Harbour grid approved</title><link>${siteUrl}/footer-only</link><guid>grid-1</guid>
                <description>&lt;p&gt;The regulator approved a new substation at the harbour, so tidal power can reach \
the ferries' chargers by next winter.&lt;/p&gt;</description></item>
            </channel></rss>`,
          );
        default:
          return res.writeHead(404).end('not here');
      }
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    site?.closeAllConnections();
    site?.close();
    await app?.stop();
    await t?.cleanup();
  });

  const settledPost = (link: string) =>
    waitFor(
      `post ${link} to settle`,
      async () => {
        const { body } = await app.get(link);
        return ['failed', 'published'].includes(body.status) ? body : null;
      },
      30_000,
    );

  it.each([
    ['/footer-only', /^no article found at http:\/\/127\.0\.0\.1:\d+\/footer-only: its only text is copyright/],
    ['/consent', /^no article found at http:\/\/127\.0\.0\.1:\d+\/consent: its only text is copyright, consent/],
    ['/archive', /^no article found at http:\/\/127\.0\.0\.1:\d+\/archive: its text is mostly links/],
  ])('fails the source at %s permanently, with the reason, and writes no post', async (path, reason) => {
    const res = await app.post('/api/v1/submissions', { source: { type: 'url', url: `${siteUrl}${path}` } });
    expect(res.status).toBe(202);
    const post = await settledPost(res.body.links.post);
    expect(post.status).toBe('failed');
    expect(post.failure).toEqual({ stage: 'ingest', reason: expect.stringMatching(reason) });
    // Permanent: one attempt, no retries, and nothing was written.
    expect(post.stages).toEqual([expect.objectContaining({ stage: 'ingest', outcome: 'failed', attempt: 1 })]);
    expect(post.title).toBeNull();
    const { rows } = await app.rt.db.query<{ content: string | null }>(
      'SELECT content FROM sources WHERE submission_id = $1',
      [res.body.id],
    );
    expect(rows).toEqual([{ content: null }]);
  });

  it('writes a feed entry whose page holds no article from the text the feed carried', async () => {
    const res = await app.post('/api/v1/submissions', { source: { type: 'feed', url: `${siteUrl}/feed.xml` } });
    const child = await waitFor(
      'the entry post',
      async () => {
        const { body } = await app.get(res.body.links.self);
        const posts = body.posts as Array<{ id: string; status: string }>;
        const entry = posts.find((p) => p.status !== 'expanded');
        return entry && ['failed', 'published'].includes(entry.status) ? entry : null;
      },
      30_000,
    );
    expect(child.status).toBe('published');
    const { rows } = await app.rt.db.query<{ content: string; metadata: { from?: string; pageError?: string } }>(
      `SELECT content, metadata FROM sources WHERE submission_id IN (SELECT id FROM submissions WHERE parent_id = $1)`,
      [res.body.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.content).toContain('The regulator approved a new substation at the harbour');
    expect(rows[0]!.content).not.toContain('All Rights Reserved');
    expect(rows[0]!.metadata.from).toBe('feed');
    expect(rows[0]!.metadata.pageError).toMatch(/^no article found at http:\/\/127\.0\.0\.1:\d+\/footer-only: /);
  });

  it('keeps an article, stores its metadata on the source and offers its lead image to publishing', async () => {
    const res = await app.post('/api/v1/submissions', { source: { type: 'url', url: `${siteUrl}/kelp` } });
    const post = await settledPost(res.body.links.post);
    expect(post.status).toBe('published');
    const { rows } = await app.rt.db.query(
      `SELECT content, author, published_at, modified_at, canonical_url, lang, ` +
        `site_name, lead_image FROM sources WHERE submission_id = $1`,
      [res.body.id],
    );
    expect(rows[0]).toEqual({
      content: expect.stringContaining('Growers in Orkney have started hanging kelp lines'),
      author: 'Ines Calder',
      published_at: new Date('2024-05-14T09:30:00Z'),
      modified_at: new Date('2024-05-15T12:00:00Z'),
      canonical_url: `${siteUrl}/2024/05/kelp-farms`,
      lang: 'en-GB',
      site_name: 'Coastal Review',
      lead_image: {
        url: `${siteUrl}/images/kelp.jpg`,
        alt: 'Kelp lines drifting beside a turbine foundation',
        caption: null,
      },
    });
    expect(rows[0]!.content).not.toContain('All rights reserved');
    const forPublishing = await loadPostForPublishing(app.rt.db, post.id);
    expect(forPublishing!.sourceLeadImage).toEqual({
      url: `${siteUrl}/images/kelp.jpg`,
      alt: 'Kelp lines drifting beside a turbine foundation',
      caption: null,
      // For the credit: the page it was found on, and the site's name.
      pageUrl: `${siteUrl}/2024/05/kelp-farms`,
      siteName: 'Coastal Review',
    });
  });
});
