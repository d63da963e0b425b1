import { createServer, type Server } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { ensureWordPress, type WordPressSite } from '../support/wordpress.ts';

// Hostile markup in a source never reaches a published post: not the static files, not WordPress.

const hostile = (run: string) => `# Launch review ${run}

Our product launch went well this quarter and customers noticed the difference. <script>alert('xss-${run}')</script> \
The team shipped the release on time and under budget.

<img src="https://example.com/x.png" onerror="alert(1)"> Reviewers praised the onboarding flow and the new setup guide \
in detail.

Read [the quarterly report](javascript:alert(document.cookie)) for the numbers behind the launch. Support volume <a \
href="javascript:void(0)" onclick="steal()">dropped sharply</a> after the release.

<div style="position:fixed;top:0;left:0;width:100%;height:100%" onmouseover="alert(2)">Customers said the \
documentation answered most of their questions.</div>

<iframe src="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></iframe>
<svg onload="alert(3)"><circle r="1"/></svg>
See the [archived notes](data:text/html,<script>alert(4)</script>) and <a href="vbscript:msgbox(1)">old notes</a> for \
the history of the project.

## What comes next

The next release focuses on performance, and the team plans to publish a detailed roadmap next month.
`;

const forbidden =
  /<script|<iframe|<svg|<object|<embed|\bon[a-z]+\s*=|javascript:|vbscript:|data:text|style\s*=|expression\(/i;

/**
 * A static page without its one JSON-LD block, the page's own script. The pattern matches only a block
 * with no '<' in it (the publisher escapes it), so a block that could hide markup stays and is caught.
 */
const withoutJsonLd = (html: string) => html.replace(/<script type="application\/ld\+json">[^<]*<\/script>/, '');

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('output safety: hostile markup never reaches a published post', () => {
  let wp: WordPressSite;
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: Server;
  let siteUrl: string;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    wp = await ensureWordPress();
    process.env.BP_SECRET_WP_SAFETY = wp.password;
    t = await createTestEnv();
    app = await startPipeline(t);
    // A fetched page with the same tricks in its HTML.
    site = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><html><head><title>Fetched ${run}</title><script>alert('head')</script></head>\
<body onload="alert(0)">
        <article><h1>Fetched launch notes ${run}</h1>
        <p>The fetched article explains how the launch went and why customers liked it. \
<script>document.write('x')</script></p>
        <p><a href="javascript:alert(1)" onclick="steal()">A hostile link</a> sits in the middle of a normal paragraph \
about the release.</p>
        <p style="background:url(javascript:alert(2))">Support tickets fell by a third in the first month after the \
release.</p>
        <img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+" onerror="alert(5)">
        <p>The team will publish a roadmap next month with the plans for the next release.</p></article></body>\
</html>`);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}/launch-${run}.html`;
  }, 600_000);

  afterAll(async () => {
    await app?.stop();
    site?.close();
    await t?.cleanup();
  });

  async function publish(source: unknown, destinations: string[]) {
    const res = await app.post('/api/v1/submissions', { source, publish: { destinations } });
    expect(res.status).toBe(202);
    return waitFor(
      'the post to settle',
      async () => {
        const { body: post } = await app.get(`/api/v1/posts/${res.body.postId}`);
        return ['published', 'failed', 'needs_review'].includes(post.status) ? post : null;
      },
      120_000,
    );
  }

  let markdownPost: { id: string; status: string; failure: unknown };
  type WpPost = {
    id: number;
    content: { raw: string; rendered: string };
    excerpt: { raw: string; rendered: string };
    title: { raw: string };
  };
  let wpPost: WpPost | undefined;

  it('publishes a Markdown source to files and WordPress: the HTML has no scripts, handlers or script URLs', async () => {
    const files = await app.post('/api/v1/destinations', { name: 'site', kind: 'files' });
    const wordpress = await app.post('/api/v1/destinations', {
      name: 'wp',
      kind: 'wordpress',
      config: { url: wp.url, username: wp.user, passwordEnv: 'BP_SECRET_WP_SAFETY' },
    });
    expect([files.status, wordpress.status]).toEqual([201, 201]);

    markdownPost = (await publish({ type: 'markdown', text: hostile(run) }, [
      files.body.id,
      wordpress.body.id,
    ])) as typeof markdownPost;
    expect(markdownPost.status, JSON.stringify(markdownPost.failure)).toBe('published');
    // The writer used the source: its words are in the post, only the markup is gone.
    const stored = await app.rt.db.query('SELECT html FROM posts WHERE id = $1', [markdownPost.id]);
    expect(stored.rows[0]!.html).toMatch(/product launch|team shipped|next release/);
    expect(stored.rows[0]!.html).not.toMatch(forbidden);

    // The site's index is rebuilt a moment after publishing (coalesced per second).
    const pages = await waitFor('the post page and the site index', async () => {
      const html = (await filesUnder(t.outputDir)).filter((f) => f.endsWith('.html'));
      return html.some((f) => f.endsWith('index.html')) && html.length > 1 ? html : null;
    });
    for (const file of pages) expect(withoutJsonLd(await readFile(file, 'utf8')), file).not.toMatch(forbidden);

    const found = await wp.rest<WpPost[]>('GET', '/wp/v2/posts', {
      search: `Launch review ${run}`,
      context: 'edit',
      status: 'publish,draft',
    });
    wpPost = found.body.find((p) => /product launch|team shipped/.test(p.content.raw)) ?? found.body[0];
    expect(wpPost, 'the post on WordPress').toBeDefined();
    expect(wpPost!.content.raw).toMatch(/product launch|team shipped|next release/);
    expect(wpPost!.content.raw).not.toMatch(forbidden);
    expect(wpPost!.content.rendered).not.toMatch(forbidden);
  });

  it(
    'keeps the markup out of the text outputs too: the Markdown file, the feed, ' +
      'the sitemap and the WordPress excerpt',
    async () => {
      expect(markdownPost?.status).toBe('published');
      const texts = (await filesUnder(t.outputDir)).filter(
        (f) => !f.endsWith('.html') && !f.includes('fetched') && !f.includes('/media/'),
      );
      expect(texts.some((f) => f.endsWith('.md'))).toBe(true);
      for (const file of texts) expect(await readFile(file, 'utf8'), file).not.toMatch(forbidden);
      expect(wpPost!.excerpt.raw).not.toMatch(forbidden);
      expect(wpPost!.title.raw).not.toMatch(forbidden);
    },
  );

  it('publishes a fetched page with the same tricks to files without any of them', async () => {
    const files = await app.post('/api/v1/destinations', {
      name: 'fetched-site',
      kind: 'files',
      config: { subdir: 'fetched' },
    });
    expect(files.status).toBe(201);
    const post = await publish({ type: 'url', url: siteUrl }, [files.body.id]);
    expect(post.status, JSON.stringify(post.failure)).toBe('published');
    const written = (await filesUnder(t.outputDir)).filter((f) => f.includes('fetched') && !f.includes('/media/'));
    expect(written.length).toBeGreaterThan(0);
    let sawArticle = false;
    for (const file of written) {
      const text = withoutJsonLd(await readFile(file, 'utf8'));
      sawArticle ||= text.includes('Support tickets fell');
      expect(text, file).not.toMatch(forbidden);
    }
    expect(sawArticle).toBe(true);
  });
});
