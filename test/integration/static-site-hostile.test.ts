import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseAtomFeed } from 'feedsmith';
import { parseHTML } from 'linkedom';
import { SaxesParser } from 'saxes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

// Hostile titles and source titles through the whole pipeline into the static site: the feed and the
// sitemap stay well-formed XML (checked by saxes, a strict XML 1.0 parser), the HTML carries no tag from a
// title, the front matter is YAML that reads back as the text, and with PUBLIC_SITE_URL unset nothing
// links to a path of the server. Two destinations at one folder make one site that lists both posts.

const CONTROLS = '\u0007\u001b[31m\u0000\u0085\u009b\ufffe';
const MARKUP = '<img src=x onerror=alert(1)>';
const submittedTitle = `Heat pumps ${MARKUP} ${CONTROLS.replace('\u0000', '')}& "quotes" ]]> --- yes`;
const pageTitle = `Sources ${MARKUP}\u0007\u001b in <b>bold</b> & ]]>`;

/** Parses XML strictly (well-formedness and XML 1.0 characters); throws on the first error. */
function parseXml(xml: string): string[] {
  const parser = new SaxesParser({ xmlns: true });
  const texts: string[] = [];
  parser.on('error', (err) => {
    throw err;
  });
  parser.on('text', (t) => texts.push(t));
  parser.on('cdata', (t) => texts.push(t));
  parser.write(xml).close();
  return texts;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters a title must not carry
const controlChar = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]/;

describe('hostile titles on the static site', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let page: Server;
  let tenantId: string;
  const posts: any[] = [];

  beforeAll(async () => {
    page = createServer((req, res) => {
      if (req.url === '/robots.txt') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><head><title>${pageTitle.replace(/</g, '&lt;')}</title></head><body><article>
        <h1>Ground source heat</h1>
        <p>Ground source heat pumps move heat from the soil into a house through buried loops of pipe.</p>
        <p>Installers say the loops last for decades and need little care once the trench is closed again.</p>
        <p>Owners report that running costs fall most in houses that were insulated before the pump went in.</p>
      </article></body></html>`);
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    t = await createTestEnv({ SITE_TITLE: `Notes ${CONTROLS.replace('\u0000', '')}<i>` });
    app = await startPipeline(t);
    tenantId = (await app.rt.db.query(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id;

    const shared = [
      await app.post('/api/v1/destinations', {
        name: 'shared one',
        kind: 'files',
        config: { subdir: 'shared', baseUrl: 'https://blog.example/shared' },
      }),
      await app.post('/api/v1/destinations', {
        name: 'shared two',
        kind: 'files',
        config: { subdir: 'shared', baseUrl: 'https://blog.example/shared' },
      }),
    ];
    expect(shared.map((d) => d.status)).toEqual([201, 201]);
    const pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/article`;
    const accepted = [
      // A post titled by its hostile source title, published to the built-in site (no PUBLIC_SITE_URL).
      await app.post('/api/v1/submissions', {
        source: {
          type: 'markdown',
          title: submittedTitle,
          text:
            `# ${submittedTitle}\n\nHeat pumps ${MARKUP} move heat instead of making ` +
            `it.\n\nThey work well in cold weather when the house is insulated.`,
        },
      }),
      // A page whose <title> is hostile: it becomes the citation, the Sources list and the front matter.
      await app.post('/api/v1/submissions', {
        source: { type: 'url', url: pageUrl },
        publish: { destinations: [shared[0]!.body.id] },
      }),
      await app.post('/api/v1/submissions', {
        source: { type: 'url', url: `${pageUrl}?again`, title: submittedTitle },
        publish: { destinations: [shared[1]!.body.id] },
      }),
    ];
    expect(accepted.map((a) => a.status)).toEqual([202, 202, 202]);
    for (const a of accepted)
      posts.push(
        await waitFor('published', async () => {
          const { body } = await app.get(`/api/v1/posts/${a.body.postId}`);
          if (body.status === 'failed') throw new Error(`post failed: ${body.failure?.reason}`);
          return body.status === 'published' ? body : null;
        }),
      );
    await waitFor('both shared posts on the shared site', async () => {
      try {
        const index = readFileSync(join(t.outputDir, tenantId, 'shared', 'index.html'), 'utf8');
        return posts.slice(1).every((p) => index.includes(`${p.slug}.html`));
      } catch {
        return false;
      }
    });
    await waitFor('the built-in site', async () => {
      try {
        return readFileSync(join(t.outputDir, tenantId, 'feed.xml'), 'utf8').includes(posts[0].id);
      } catch {
        return false;
      }
    });
  }, 120_000);
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
    await new Promise((r) => page?.close(r));
  });

  it('stores titles, tags and citations without control characters', () => {
    for (const post of posts) {
      expect(post.title).not.toMatch(controlChar);
      for (const tag of post.tags) expect(tag).not.toMatch(controlChar);
      for (const c of post.citations) expect(c.title).not.toMatch(controlChar);
    }
    expect(posts[1].citations[0].title).toContain(MARKUP);
  });

  it('writes feeds and a sitemap that a strict XML parser reads, with the titles as text', () => {
    const builtIn = readFileSync(join(t.outputDir, tenantId, 'feed.xml'), 'utf8');
    expect(parseXml(builtIn).join('')).toContain(posts[0].title);
    const sharedFeed = readFileSync(join(t.outputDir, tenantId, 'shared', 'feed.xml'), 'utf8');
    parseXml(sharedFeed);
    expect(
      parseAtomFeed(sharedFeed)
        .entries!.map((e) => e.id)
        .sort(),
    ).toEqual(
      posts
        .slice(1)
        .map((p) => `urn:uuid:${p.id}`)
        .sort(),
    );
    const sitemap = readFileSync(join(t.outputDir, tenantId, 'shared', 'sitemap.xml'), 'utf8');
    parseXml(sitemap);
    for (const p of posts.slice(1)) expect(sitemap).toContain(`https://blog.example/shared/${p.slug}.html`);
  });

  it('links relatively, never to a server path, when PUBLIC_SITE_URL is unset', () => {
    const feed = readFileSync(join(t.outputDir, tenantId, 'feed.xml'), 'utf8');
    expect(feed).not.toContain('file:');
    expect(feed).not.toContain(t.outputDir);
    expect(parseAtomFeed(feed).entries![0]!.links![0]!.href).toBe(`${posts[0].slug}.html`);
    expect(() => readFileSync(join(t.outputDir, tenantId, 'sitemap.xml'))).toThrow(/ENOENT/);
  });

  it('renders no tag from a title or a source title, and shows them as text', () => {
    const pages = [
      join(t.outputDir, tenantId, `${posts[0].slug}.html`),
      ...posts.slice(1).map((p) => join(t.outputDir, tenantId, 'shared', `${p.slug}.html`)),
      join(t.outputDir, tenantId, 'index.html'),
      join(t.outputDir, tenantId, 'shared', 'index.html'),
    ];
    for (const file of pages) {
      const html = readFileSync(file, 'utf8');
      expect(html, file).not.toMatch(controlChar);
      const { document } = parseHTML(html);
      // The page's own elements only: its featured image (a figure) and its JSON-LD.
      const own = [...document.querySelectorAll('img, i, b, script')].filter(
        (el) =>
          !(el.tagName === 'IMG' && el.parentElement?.tagName === 'FIGURE') &&
          !(el.tagName === 'SCRIPT' && el.getAttribute('type') === 'application/ld+json'),
      );
      expect(own, file).toHaveLength(0);
      expect(document.querySelectorAll('h1'), file).toHaveLength(1);
      for (const script of document.querySelectorAll('script')) {
        expect(script.textContent).not.toMatch(/[<>]/);
        const ld = JSON.parse(script.textContent!);
        expect(ld['@type']).toBe('BlogPosting');
        expect(document.querySelector('h1')!.textContent).toBe(ld.headline);
      }
      for (const img of document.querySelectorAll('figure img')) {
        expect(img.getAttribute('alt')).toContain(document.querySelector('h1')!.textContent);
        expect(img.getAttribute('width')).toBe('1200');
      }
      for (const meta of document.querySelectorAll('meta[property="og:title"], meta[name="twitter:title"]'))
        expect(meta.getAttribute('content')).toBe(document.querySelector('h1')!.textContent);
    }
    const { document } = parseHTML(readFileSync(pages[1]!, 'utf8'));
    const source = [...document.querySelectorAll('li a')].find((a) => a.textContent!.includes('onerror'));
    expect(source!.textContent).toContain(MARKUP);
    expect(source!.getAttribute('href')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/article$/);
  });

  it('writes front matter that reads back as the same text', () => {
    for (const [i, post] of posts.entries()) {
      const folder = i === 0 ? join(t.outputDir, tenantId) : join(t.outputDir, tenantId, 'shared');
      const md = readFileSync(join(folder, `${post.slug}.md`), 'utf8');
      expect(md).not.toMatch(controlChar);
      const front = parseYaml(md.split('\n---\n')[0]!.replace(/^---\n/, '')) as Record<string, any>;
      expect(front.title).toBe(post.title);
      expect(front.sources.map((s: { title: string }) => s.title)).toEqual(
        post.citations.map((c: { title: string }) => c.title),
      );
      expect(typeof front.title).toBe('string');
    }
  });
});
