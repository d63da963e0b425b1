import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAtomFeed } from 'feedsmith';
import { DOMParser, parseHTML } from 'linkedom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepStranded } from '../../processors/scheduled/sweep-stranded.ts';
import { createLogger } from '../../src/logger.ts';
import { requestMissedSiteRebuilds } from '../../src/publish/site-rebuilds.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

const topics = ['heat pumps', 'solar panels', 'insulation', 'batteries', 'wind power', 'district heating'];

describe('the static site destination', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let posts: any[];
  let folder: string;

  beforeAll(async () => {
    t = await createTestEnv({ PUBLIC_SITE_URL: 'https://blog.example/site', SITE_TITLE: 'Energy notes' });
    app = await startPipeline(t);
    const accepted = await Promise.all(
      topics.map((topic, i) =>
        app.post('/api/v1/submissions', {
          source: {
            type: 'markdown',
            text:
              `# All about ${topic}\n\n${topic} change how homes use energy. Sample ${i} ` +
              `explains the basics.\n\n# A second top heading\n\nOwners of ${topic} report ` +
              `lower bills after the first winter.`,
          },
        }),
      ),
    );
    posts = await Promise.all(
      accepted.map((res) =>
        waitFor('published', async () => {
          const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
          return body.status === 'published' ? body : null;
        }),
      ),
    );
    const tenantId = (await app.rt.db.query(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id as string;
    folder = join(t.outputDir, tenantId);
    // The last rebuild may still be writing when the last post turns published. The index is its last file: once it
    // lists every post, the feed and the sitemap that go with it are written.
    await waitFor('the index lists every post', async () => {
      try {
        return posts.every((p) => readFileSync(join(folder, 'index.html'), 'utf8').includes(`${p.slug}.html`));
      } catch {
        return false;
      }
    });
  }, 120_000);
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  it('writes an Atom feed that a feed parser reads, one entry per post', () => {
    const feed = parseAtomFeed(readFileSync(join(folder, 'feed.xml'), 'utf8'));
    expect(feed.title?.value ?? feed.title).toBe('Energy notes');
    expect(feed.entries).toHaveLength(posts.length);
    for (const post of posts) {
      const entry = feed.entries!.find((e) => e.id === `urn:uuid:${post.id}`);
      expect(entry, post.title).toBeDefined();
      expect(entry!.title?.value ?? entry!.title).toBe(post.title);
      expect(entry!.links?.[0]?.href).toBe(`https://blog.example/site/${folder.split('/').pop()}/${post.slug}.html`);
      expect(entry!.summary?.value ?? entry!.summary).toBe(post.metaDescription);
    }
  });

  it('gives each page exactly one h1 and the meta description', () => {
    for (const post of posts) {
      const { document } = parseHTML(readFileSync(join(folder, `${post.slug}.html`), 'utf8'));
      expect(document.querySelectorAll('h1')).toHaveLength(1);
      expect(document.querySelector('h1')!.textContent).toBe(post.title);
      expect(document.querySelector('meta[name="description"]')!.getAttribute('content')).toBe(post.metaDescription);
      // A short title: the site's name after it.
      expect(document.querySelector('title')!.textContent).toBe(`${post.title} – Energy notes`);
      expect(readFileSync(join(folder, `${post.slug}.md`), 'utf8')).toMatch(/^---\ntitle: /);
    }
    const { document: index } = parseHTML(readFileSync(join(folder, 'index.html'), 'utf8'));
    expect(index.querySelectorAll('h1')).toHaveLength(1);
    expect([...index.querySelectorAll('li a')].map((a) => a.getAttribute('href')).sort()).toEqual(
      posts.map((p) => `${p.slug}.html`).sort(),
    );
  });

  it('lists every published post in the sitemap, and leaves no temporary files', () => {
    const xml = new DOMParser().parseFromString(readFileSync(join(folder, 'sitemap.xml'), 'utf8'), 'text/xml');
    const locs = [...xml.querySelectorAll('url > loc')].map((l) => l.textContent);
    for (const post of posts)
      expect(locs).toContain(`https://blog.example/site/${folder.split('/').pop()}/${post.slug}.html`);
    expect(locs).toHaveLength(posts.length + 1);
    expect(readdirSync(folder).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it("rebuilds the site when its request was lost in Redis: the scheduler's sweep asks again", async () => {
    const site = app.rt.queues.site;
    const builtOf = async (postId: string) =>
      (await app.rt.db.query(`SELECT site_built FROM publications WHERE post_id = $1 AND kind = 'files'`, [postId]))
        .rows[0]?.site_built as boolean | undefined;
    // Every publication so far is in the site.
    for (const post of posts) expect(await builtOf(post.id)).toBe(true);
    expect(await requestMissedSiteRebuilds(app.rt.db, site, 0)).toBe(0);

    // The rebuild of the next post is requested but never runs: its request is lost with Redis's data.
    await site.pause();
    const res = await app.post('/api/v1/submissions', {
      source: {
        type: 'markdown',
        text: '# All about heat storage\n\nHeat storage keeps the warmth of the day for the night. Owners report it.',
      },
    });
    const late = await waitFor('published', async () => {
      const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
      return body.status === 'published' ? body : null;
    });
    await waitFor('its rebuild requested', async () => {
      const counts = await site.getJobCounts('delayed', 'waiting');
      return (counts.delayed ?? 0) + (counts.waiting ?? 0) > 0;
    });
    await site.obliterate({ force: true });
    await site.resume();
    expect(await builtOf(late.id)).toBe(false);
    expect(readFileSync(join(folder, 'sitemap.xml'), 'utf8')).not.toContain(`${late.slug}.html`);

    await sweepStranded({ db: app.rt.db, queues: app.rt.queues, log: createLogger('silent'), strandedAfterMs: 0 });
    // The index is the rebuild's last file.
    await waitFor('the index lists the late post', async () =>
      readFileSync(join(folder, 'index.html'), 'utf8').includes(`${late.slug}.html`),
    );
    expect(readFileSync(join(folder, 'sitemap.xml'), 'utf8')).toContain(`${late.slug}.html`);
    await waitFor('its publication marked built', async () => (await builtOf(late.id)) === true);
    expect(await requestMissedSiteRebuilds(app.rt.db, site, 0)).toBe(0);
  });
});
