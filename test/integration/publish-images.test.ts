import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { parseHTML } from 'linkedom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageInfo } from '../../src/publish/images.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { kelpFarmParagraphs } from '../support/source-articles.ts';
import { ensureWordPress, type WordPressSite } from '../support/wordpress.ts';

// Featured images end to end: a source page's lead image carried to the static site (beside the page,
// with its size, alt text and credit, and in the social cards) and to the real WordPress as the
// featured image; a generated cover when the source has none, or one too small to use.

const png = (width: number, height: number, fill: string) =>
  Buffer.from(
    new Resvg(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect ` +
        `width="100%" height="100%" fill="${fill}"/><circle cx="${width / 2}" cy="${height / 2}" ` +
        `r="${height / 3}" fill="#fff"/></svg>`,
    )
      .render()
      .asPng(),
  );
const LEAD = png(640, 360, '#1b6b4a');
const TINY = png(40, 40, '#aa0000');

const article = (title: string, image: string, alt: string) => `<!doctype html><html lang="en"><head>
  <title>${title} | Coastal Review</title>
  <link rel="canonical" href="/2024/05/${image}">
  <meta property="og:site_name" content="Coastal Review">
  <meta property="og:image" content="/images/${image}.png">
  <meta property="og:image:alt" content="${alt}">
</head><body><article>
  <h1>${title}</h1>
  ${kelpFarmParagraphs}
</article></body></html>`;

describe('featured images', () => {
  let wp: WordPressSite;
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: Server;
  let siteUrl: string;
  let filesId: string;
  let wpId: string;
  let folder: string;
  const run = Date.now().toString(36);
  const ALT = `Kelp lines "drifting" <beside> a turbine & more ${run}`;

  beforeAll(async () => {
    wp = await ensureWordPress();
    process.env.BP_SECRET_WP_IMAGES = wp.password;
    t = await createTestEnv();
    app = await startPipeline(t);
    site = createServer((req, res) => {
      const html = (body: string) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
      if (req.url === '/robots.txt') return res.writeHead(404).end();
      if (req.url === '/kelp')
        return html(
          article(
            `Kelp farms beside turbines ${run}`,
            'lead',
            ALT.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`),
          ),
        );
      if (req.url === '/tiny') return html(article(`Tidal lagoons and seabirds ${run}`, 'tiny', 'A tiny icon'));
      if (req.url === '/images/lead.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(LEAD);
      if (req.url === '/images/tiny.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(TINY);
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;

    const files = await app.post('/api/v1/destinations', {
      name: 'news site',
      kind: 'files',
      config: { subdir: 'news', baseUrl: 'https://blog.example/news' },
    });
    expect(files.status).toBe(201);
    filesId = files.body.id;
    const wordpress = await app.post('/api/v1/destinations', {
      name: 'wp images',
      kind: 'wordpress',
      config: { url: wp.url, username: wp.user, passwordEnv: 'BP_SECRET_WP_IMAGES' },
    });
    expect(wordpress.status).toBe(201);
    wpId = wordpress.body.id;
    const tenantId = (await app.rt.db.query(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id as string;
    folder = join(t.outputDir, tenantId, 'news');
  }, 600_000);

  afterAll(async () => {
    site?.closeAllConnections();
    site?.close();
    await app?.stop();
    await t?.cleanup();
  });

  async function publish(source: unknown) {
    const res = await app.post('/api/v1/submissions', { source, publish: { destinations: [filesId, wpId] } });
    expect(res.status).toBe(202);
    const post = await waitFor(
      'published',
      async () => {
        const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
        return ['published', 'failed'].includes(body.status) ? body : null;
      },
      60_000,
    );
    expect(post.status, JSON.stringify(post.failure)).toBe('published');
    const page = parseHTML(readFileSync(join(folder, `${post.slug}.html`), 'utf8')).document;
    const wordpress = post.publications.find((p: { kind: string }) => p.kind === 'wordpress');
    const { rows } = await app.rt.db.query(
      `SELECT details FROM publications WHERE post_id = $1 AND kind = 'wordpress'`,
      [post.id],
    );
    const media = await wp.rest('GET', `/wp/v2/media/${rows[0]!.details.featuredMedia}`, { context: 'edit' });
    expect(media.status).toBe(200);
    return { post, page, wordpress, media: media.body };
  }

  const meta = (document: ReturnType<typeof parseHTML>['document'], key: string) =>
    document.querySelector(`meta[property="${key}"], meta[name="${key}"]`)?.getAttribute('content');

  it('carries the source lead image to the static site and to WordPress, credited, with its alt text', async () => {
    const { post, page, media } = await publish({ type: 'url', url: `${siteUrl}/kelp` });
    const pageUrl = `https://blog.example/news/${post.slug}.html`;

    // The static site: the file beside the page, shown with its size, alt text and credit.
    expect(readFileSync(join(folder, 'media', `${post.slug}.png`)).equals(LEAD)).toBe(true);
    const img = page.querySelector('article figure img')!;
    expect(img.getAttribute('src')).toBe(`media/${post.slug}.png`);
    expect([img.getAttribute('width'), img.getAttribute('height')]).toEqual(['640', '360']);
    expect(img.getAttribute('alt')).toBe(ALT);
    const credit = page.querySelector('article figure figcaption a')!;
    expect(credit.textContent).toBe('Image: Coastal Review');
    expect(credit.getAttribute('href')).toBe(`${siteUrl}/2024/05/lead`);

    // Social cards beside the JSON-LD.
    expect(meta(page, 'og:title')).toBe(post.title);
    expect(meta(page, 'og:description')).toBe(post.metaDescription);
    expect(meta(page, 'og:url')).toBe(pageUrl);
    expect(meta(page, 'og:image')).toBe(`https://blog.example/news/media/${post.slug}.png`);
    expect([meta(page, 'og:image:width'), meta(page, 'og:image:height')]).toEqual(['640', '360']);
    expect(meta(page, 'og:image:alt')).toBe(ALT);
    // The time the page was written, as its <time> says; the post's publishedAt is set when every destination has it.
    expect(meta(page, 'article:published_time')).toBe(page.querySelector('article time')!.getAttribute('datetime'));
    expect(Date.parse(meta(page, 'article:published_time')!)).toBeLessThanOrEqual(Date.parse(post.publishedAt));
    expect(meta(page, 'twitter:card')).toBe('summary_large_image');
    expect(meta(page, 'twitter:image')).toBe(meta(page, 'og:image'));
    expect(page.querySelector('link[rel="canonical"]')!.getAttribute('href')).toBe(pageUrl);
    const ld = JSON.parse(page.querySelector('script[type="application/ld+json"]')!.textContent!);
    expect(ld).toMatchObject({
      '@type': 'BlogPosting',
      headline: post.title,
      url: pageUrl,
      datePublished: meta(page, 'article:published_time'),
      image: { url: meta(page, 'og:image'), width: 640, height: 360, creditText: 'Image: Coastal Review' },
    });

    // WordPress: the same bytes as its featured image, with the alt text and the credit as caption.
    expect(media.mime_type).toBe('image/png');
    // WordPress keeps alt text as plain text: it drops what looks like a tag (sanitize_text_field).
    expect(media.alt_text).toBe(ALT.replace('<beside> ', ''));
    expect(media.caption.raw).toContain('Image: Coastal Review');
    expect(media.caption.raw).toContain(`href="${siteUrl}/2024/05/lead"`);
    expect([media.media_details.width, media.media_details.height]).toEqual([640, 360]);
    expect(Buffer.from(await (await fetch(media.source_url)).arrayBuffer()).equals(LEAD)).toBe(true);
  }, 120_000);

  it('generates a cover from the title when the source has no image, and when its image is too small', async () => {
    const text = await publish({
      type: 'text',
      text:
        `Community batteries ${run} store solar power for a street. Neighbours ` +
        `share the stored energy in the evening.`,
    });
    const tiny = await publish({ type: 'url', url: `${siteUrl}/tiny` });
    for (const { post, page, media } of [text, tiny]) {
      const bytes = readFileSync(join(folder, 'media', `${post.slug}.png`));
      expect(imageInfo(bytes)).toEqual({ type: 'image/png', width: 1200, height: 630 });
      const img = page.querySelector('article figure img')!;
      expect([img.getAttribute('width'), img.getAttribute('height')]).toEqual(['1200', '630']);
      expect(img.getAttribute('alt')).toBe(`Cover image with the title “${post.title}”`);
      expect(page.querySelector('figcaption')).toBeNull();
      expect(meta(page, 'og:image:alt')).toBe(img.getAttribute('alt'));
      expect(media.alt_text).toBe(img.getAttribute('alt'));
      expect([media.media_details.width, media.media_details.height]).toEqual([1200, 630]);
      // The cover is drawn offline from shipped fonts: the same bytes on WordPress as on the site.
      expect(Buffer.from(await (await fetch(media.source_url)).arrayBuffer()).equals(bytes)).toBe(true);
    }
  }, 120_000);

  it('lists every page in the sitemap with its lastmod', async () => {
    await waitFor('the sitemap', async () => {
      try {
        return (readFileSync(join(folder, 'sitemap.xml'), 'utf8').match(/<lastmod>/g) ?? []).length === 4;
      } catch {
        return false;
      }
    });
    const sitemap = readFileSync(join(folder, 'sitemap.xml'), 'utf8');
    const urls = [...sitemap.matchAll(/<url><loc>([^<]+)<\/loc><lastmod>([^<]+)<\/lastmod><\/url>/g)];
    expect(urls).toHaveLength(4);
    for (const [, , lastmod] of urls) expect(new Date(lastmod!).toISOString()).toBe(lastmod);
  });
});
