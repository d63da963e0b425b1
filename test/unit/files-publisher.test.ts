import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseAtomFeed } from 'feedsmith';
import { parseHTML } from 'linkedom';
import { createFilesPublisher, renderHtml } from '../../src/publish/files-publisher.ts';
import type { PublishablePost } from '../../src/publish/types.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blog-poster-files-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const post: PublishablePost = {
  id: 'post-42',
  tenantId: 'acme',
  title: 'Heat pumps & "cold" <winters>',
  slug: 'heat-pumps-cold-winters',
  markdown:
    `Heat pumps work below freezing. [1]\n\n<script>alert("x")</script>\n\n<img ` +
    `src="x" onerror="alert(1)">\n\n## Sources\n\n1. [Energy Desk](<https://energy.example/a>)\n`,
  metaDescription: 'Why "modern" heat pumps <still> work & save money.',
  tags: ['heat pumps', 'energy'],
  citations: [
    { sourceId: 's1', title: 'Energy Desk', url: 'https://energy.example/a' },
    { sourceId: 's2', title: 'Notes: a "quoted" title', url: null },
  ],
  publishedAt: new Date('2024-03-05T10:20:30.000Z'),
};

describe('createFilesPublisher', () => {
  it('writes Markdown with front matter and an HTML page, and reports where', async () => {
    const publisher = createFilesPublisher({ dir, baseUrl: 'https://blog.example/' });
    const result = await publisher.publish(post);

    const htmlPath = path.join(dir, 'acme', 'heat-pumps-cold-winters.html');
    const markdownPath = path.join(dir, 'acme', 'heat-pumps-cold-winters.md');
    expect(result).toEqual({
      location: htmlPath,
      url: 'https://blog.example/acme/heat-pumps-cold-winters.html',
      externalId: 'post-42',
      details: { markdownPath, htmlPath },
    });
    expect(path.isAbsolute(result.location)).toBe(true);

    const md = await readFile(markdownPath, 'utf8');
    const match = /^---\n([\s\S]*?)\n---\n\n([\s\S]*)$/.exec(md)!;
    expect(match).not.toBeNull();
    expect(parseYaml(match[1]!)).toEqual({
      title: post.title,
      slug: post.slug,
      date: '2024-03-05T10:20:30.000Z',
      description: post.metaDescription,
      tags: post.tags,
      sources: [
        { title: 'Energy Desk', url: 'https://energy.example/a' },
        { title: 'Notes: a "quoted" title', url: null },
      ],
      id: 'post-42',
    });
    expect(match[2]).toBe(post.markdown);

    const html = await readFile(htmlPath, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // A short title gets the site's name after it, within 60 characters.
    expect(html).toContain('<title>Heat pumps &amp; &quot;cold&quot; &lt;winters&gt; – Blog</title>');
    expect(html).toContain('<h1>Heat pumps &amp; &quot;cold&quot; &lt;winters&gt;</h1>');
    // With a meta title, it is the page's <title>; the h1 stays the title.
    const titled = renderHtml({ ...post, metaTitle: 'Heat pumps & <cold> winters – what installers measure' }, null);
    expect(titled).toContain('<title>Heat pumps &amp; &lt;cold&gt; winters – what installers measure</title>');
    expect(titled).toContain('<h1>Heat pumps &amp; &quot;cold&quot; &lt;winters&gt;</h1>');
    expect(html).toContain(
      '<meta name="description" content="Why &quot;modern&quot; heat pumps &lt;still&gt; work &amp; save money.">',
    );
    expect(html).toContain('<link rel="canonical" href="https://blog.example/acme/heat-pumps-cold-winters.html">');
    expect(html).toContain('<p>Heat pumps work below freezing. [1]</p>');
    expect(html).toContain('<a href="https://energy.example/a" rel="noopener noreferrer nofollow">Energy Desk</a>');
    // One script, the page's JSON-LD; no markup from the post anywhere.
    expect(html.match(/<script/g)).toEqual(['<script']);
    expect(html).toContain('<script type="application/ld+json">');
    expect(html).not.toMatch(/onerror|alert/i);
    expect(html).toContain('<meta property="og:title" content="Heat pumps &amp; &quot;cold&quot; &lt;winters&gt;">');
    expect(html).toContain('<meta property="article:published_time" content="2024-03-05T10:20:30.000Z">');
    expect(html).toContain('<meta name="twitter:card" content="summary">');
    const ld = JSON.parse(html.match(/<script type="application\/ld\+json">([^<]*)<\/script>/)![1]!);
    expect(ld).toMatchObject({ headline: post.title, url: 'https://blog.example/acme/heat-pumps-cold-winters.html' });
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('has no url or canonical link without a base URL', async () => {
    const result = await createFilesPublisher({ dir }).publish(post);
    expect(result.url).toBeNull();
    expect(await readFile(result.location, 'utf8')).not.toContain('canonical');
    expect((await createFilesPublisher({ dir, baseUrl: null }).publish(post)).url).toBeNull();
  });

  it('is idempotent and leaves no temporary files', async () => {
    const publisher = createFilesPublisher({ dir: path.relative(process.cwd(), dir) });
    const first = await publisher.publish(post);
    const files = async (): Promise<Record<string, string>> => {
      const names = (await readdir(path.join(dir, 'acme'))).sort();
      return Object.fromEntries(
        await Promise.all(names.map(async (n) => [n, await readFile(path.join(dir, 'acme', n), 'utf8')] as const)),
      );
    };
    const before = await files();
    const second = await publisher.publish(post);
    expect(second).toEqual(first);
    expect(await files()).toEqual(before);
    expect(Object.keys(before)).toEqual(['heat-pumps-cold-winters.html', 'heat-pumps-cold-winters.md']);
  });

  it('replaces the files when the post changes', async () => {
    const publisher = createFilesPublisher({ dir });
    await publisher.publish(post);
    const result = await publisher.publish({ ...post, markdown: 'Updated body.' });
    expect(await readFile(result.details.markdownPath as string, 'utf8')).toMatch(/\n\nUpdated body\.\n$/);
    expect(await readFile(result.location, 'utf8')).toContain('<p>Updated body.</p>');
  });

  it('refuses tenant ids and slugs that could escape the directory', async () => {
    const publisher = createFilesPublisher({ dir });
    await expect(publisher.publish({ ...post, tenantId: '../etc' })).rejects.toThrow(/tenant id/);
    await expect(publisher.publish({ ...post, slug: '../../x' })).rejects.toThrow(/slug/);
    await expect(publisher.publish({ ...post, slug: 'Upper Case' })).rejects.toThrow(/slug/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('renders the page from the template with one h1: headings of the body start at h2', async () => {
    const result = await createFilesPublisher({ dir }).publish({
      ...post,
      markdown: '# A heading the writer left in\n\nText.\n\n## Sub\n\nMore.',
    });
    const { document } = parseHTML(await readFile(result.location, 'utf8'));
    expect(document.querySelectorAll('h1')).toHaveLength(1);
    expect(document.querySelector('h1')!.textContent).toBe(post.title);
    expect([...document.querySelectorAll('h2')].map((h) => h.textContent)).toEqual([
      'A heading the writer left in',
      'Sub',
    ]);
    expect(document.querySelector('meta[name="description"]')!.getAttribute('content')).toBe(post.metaDescription);
  });

  it('builds the index, an Atom feed and a sitemap of the published posts, atomically', async () => {
    const publisher = createFilesPublisher({ dir, baseUrl: 'https://blog.example', siteTitle: 'Notes & news' });
    const entries = [0, 1, 2].map((i) => ({
      id: `00000000-0000-4000-8000-00000000000${i}`,
      title: `Post <${i}> & more`,
      slug: `post-${i}`,
      description: `About post ${i}`,
      tags: ['energy'],
      publishedAt: new Date(Date.UTC(2024, 0, i + 1)),
      updatedAt: new Date(Date.UTC(2024, 0, i + 2)),
    }));
    const built = await publisher.buildSite('acme', entries, { subdir: 'main' });
    expect(built.folder).toBe(path.join(dir, 'acme', 'main'));

    const feed = parseAtomFeed(await readFile(path.join(built.folder, 'feed.xml'), 'utf8'));
    expect(feed.title?.value).toBe('Notes & news');
    expect(feed.entries!.map((e) => e.title?.value)).toEqual(['Post <2> & more', 'Post <1> & more', 'Post <0> & more']);
    expect(feed.entries![0]!.links![0]!.href).toBe('https://blog.example/acme/main/post-2.html');
    expect(feed.entries![0]!.id).toBe('urn:uuid:00000000-0000-4000-8000-000000000002');

    const sitemap = await readFile(path.join(built.folder, 'sitemap.xml'), 'utf8');
    for (const e of entries) expect(sitemap).toContain(`<loc>https://blog.example/acme/main/${e.slug}.html</loc>`);
    const { document } = parseHTML(await readFile(path.join(built.folder, 'index.html'), 'utf8'));
    expect(document.querySelectorAll('h1')).toHaveLength(1);
    expect(document.querySelectorAll('li')).toHaveLength(3);
    expect((await readdir(built.folder)).sort()).toEqual(['feed.xml', 'index.html', 'sitemap.xml']);

    // Without a public URL the feed links relatively and no sitemap (absolute locations only) is written:
    // never a path of the server.
    const local = await createFilesPublisher({ dir }).buildSite('acme', entries);
    const localFeed = await readFile(path.join(local.folder, 'feed.xml'), 'utf8');
    expect(localFeed).not.toMatch(/file:|\/tmp\//);
    expect(parseAtomFeed(localFeed).entries![0]!.links![0]!.href).toBe('post-2.html');
    expect((await readdir(local.folder)).sort()).toEqual(['feed.xml', 'index.html', 'main']);
    await expect(publisher.buildSite('acme', entries, { subdir: '../x' })).rejects.toThrow(/subdir/);
  });
});
