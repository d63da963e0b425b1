import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollFeed } from '../../processors/scheduled/poll-feed.ts';
import { registry } from '../../src/metrics.ts';
import { startFixtureSite, type FixtureSite } from '../fixtures/ingest/site.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

// Feeds, sitemaps and sites through the whole pipeline on real Redis and PostgreSQL, against a
// local site speaking HTTP; dedup turned on as in production.

const terminal = new Set(['published', 'failed', 'duplicate', 'skipped', 'expanded', 'duplicate_of', 'needs_review']);

describe('ingesting feeds, sitemaps and sites', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: FixtureSite;

  beforeAll(async () => {
    t = await createTestEnv({ DEDUP_MODE: 'near', DEDUP_NEAR_DISTANCE: '3' });
    app = await startPipeline(t);
    site = await startFixtureSite();
  });
  afterAll(async () => {
    await app?.stop();
    await site?.close();
    await t?.cleanup();
  });

  async function settled(submissionLink: string, minPosts: number) {
    return waitFor(
      `submission ${submissionLink} to settle`,
      async () => {
        const { body } = await app.get(submissionLink);
        const posts = body.posts as Array<{ status: string }>;
        return posts.length >= minPosts && posts.every((p) => terminal.has(p.status)) ? body : null;
      },
      60_000,
    );
  }

  it('fans a feed out into one post per entry, each ingested from its own source and published', async () => {
    const res = await app.post('/api/v1/submissions', { source: { type: 'feed', url: `${site.url}/feeds/atom.xml` } });
    expect(res.status).toBe(202);
    const submission = await settled(res.body.links.self, 3);
    const [collector, ...children] = submission.posts as Array<{ id: string; status: string; submissionId?: string }>;
    expect(collector!.status).toBe('expanded');
    expect(children).toHaveLength(2);
    expect(children.every((p) => p.status === 'published' && p.submissionId)).toBe(true);
    expect(submission.status).toBe('published');
    const { rows } = await app.rt.db.query<{ kind: string; content: string }>(
      `SELECT kind, content FROM sources WHERE submission_id IN (SELECT id FROM ` +
        `submissions WHERE parent_id = $1) ORDER BY created_at`,
      [res.body.id],
    );
    expect(rows.map((r) => r.kind)).toEqual(['feed_entry', 'feed_entry']);
    // Both entries are teasers (a sentence or two), so their pages were fetched and extracted instead. The two
    // children ingest concurrently, so their sources are in no particular order.
    const contents = rows.map((r) => r.content);
    expect(contents.filter((c) => c.includes('Operators who studied subsea cables for three seasons'))).toHaveLength(1);
    expect(contents.filter((c) => c.includes('Local suppliers of summary only hire crews'))).toHaveLength(1);
    for (const chrome of ['Accept all cookies', 'troll42', 'Copyright'])
      expect(rows.every((r) => !r.content.includes(chrome))).toBe(true);
    expect(rows.every((r) => !/<[a-z]/i.test(r.content))).toBe(true);
    const post = (await app.get(`/api/v1/posts/${children[0]!.id}`)).body;
    expect(post.topicBrief.keywords.length).toBeGreaterThan(0);
  });

  it('polling the same feed twice creates no duplicate sources, and a 304 answer skips parsing', async () => {
    site.polled.entries = [
      {
        guid: 'p-1',
        title: 'Kelp forests and tidal arrays',
        body:
          '<p>Kelp forests grow on the foundations of tidal arrays and shelter young ' +
          'fish along the coast of Orkney.</p>',
      },
      {
        guid: 'p-2',
        title: 'Ferries that sail on tidal hydrogen',
        body:
          '<p>Island ferries in Scotland now burn hydrogen made from surplus tidal ' +
          'electricity on their morning crossings.</p>',
      },
    ];
    const created = await app.post('/api/v1/feeds', { url: `${site.url}/feeds/polled.xml`, cron: '0 0 1 1 *' });
    expect(created.status).toBe(201);
    const feedId = created.body.id as string;
    const deps = {
      db: app.rt.db,
      queues: app.rt.queues,
      redis: app.rt.redis,
      config: app.rt.config,
      log: app.rt.logger,
    };
    const entrySources = async () =>
      (
        await app.rt.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM sources s JOIN submissions m ON m.id = ` +
            `s.submission_id WHERE m.feed_id = $1 AND s.kind = 'feed_entry'`,
          [feedId],
        )
      ).rows[0]!.n;
    const feedRequests = () => site.hits.filter((h) => h.path === '/feeds/polled.xml');

    expect(await pollFeed(deps, { id: 'tick-1', data: { feedId } })).toEqual({ outcome: 'new_entries', newEntries: 2 });
    expect(await entrySources()).toBe(2);
    expect(feedRequests().at(-1)!.headers['if-none-match']).toBeUndefined();

    // Second poll: the stored validators go out, the site answers 304, nothing is parsed or added.
    const notModifiedBefore = await counter('not_modified');
    expect(await pollFeed(deps, { id: 'tick-2', data: { feedId } })).toEqual({
      outcome: 'not_modified',
      newEntries: 0,
    });
    expect(feedRequests().at(-1)!.headers).toMatchObject({
      'if-none-match': '"v1"',
      'if-modified-since': 'Wed, 01 May 2024 00:00:00 GMT',
    });
    expect(await counter('not_modified')).toBe(notModifiedBefore + 1);
    expect(await entrySources()).toBe(2);

    // A site that ignores validators sends the same feed again: parsed, but every entry is already known.
    site.polled.honourValidators = false;
    expect(await pollFeed(deps, { id: 'tick-3', data: { feedId } })).toEqual({ outcome: 'nothing_new', newEntries: 0 });
    expect(await entrySources()).toBe(2);

    // A new entry is the only thing added; and a tick that runs twice polls once.
    site.polled.entries.push({
      guid: 'p-3',
      title: 'Seabirds and turbines',
      body:
        '<p>Seabird counts near the turbines have not fallen in five years of monitoring ' +
        'by the island ranger service.</p>',
    });
    site.polled.version = 2;
    expect(await pollFeed(deps, { id: 'tick-4', data: { feedId } })).toEqual({ outcome: 'new_entries', newEntries: 1 });
    expect(await pollFeed(deps, { id: 'tick-4', data: { feedId } })).toEqual({
      outcome: 'already_polled',
      newEntries: 0,
    });
    expect(await entrySources()).toBe(3);

    const feed = (await app.get(`/api/v1/feeds/${feedId}`)).body;
    expect(feed.recentPolls.map((p: { outcome: string }) => p.outcome)).toEqual([
      'new_entries',
      'nothing_new',
      'not_modified',
      'new_entries',
    ]);
    const { rows } = await app.rt.db.query(
      `SELECT count(*)::int AS n FROM posts p JOIN submissions s ON s.id = p.submission_id WHERE s.feed_id = $1`,
      [feedId],
    );
    expect(rows[0]!.n).toBe(3);
  });

  it('reads a sitemap index with a gzipped child; a second submission adds nothing', async () => {
    const first = await app.post('/api/v1/submissions', {
      source: { type: 'sitemap', url: `${site.url}/sitemap_index.xml` },
    });
    const submission = await settled(first.body.links.self, 4);
    const children = (submission.posts as Array<{ status: string; submissionId?: string }>).filter(
      (p) => p.submissionId,
    );
    expect(children).toHaveLength(3);
    const urls = await app.rt.db.query<{ url: string }>(
      `SELECT url FROM sources WHERE submission_id IN (SELECT id FROM submissions WHERE parent_id = $1) ORDER BY url`,
      [first.body.id],
    );
    expect(urls.rows.map((r) => r.url)).toEqual([
      `${site.url}/posts/about-us`,
      `${site.url}/posts/kelp-farms?ref=sitemap&x=1`,
      `${site.url}/posts/tidal-lagoons`,
    ]);

    const again = await app.post('/api/v1/submissions', {
      source: { type: 'sitemap', url: `${site.url}/sitemap_index.xml` },
    });
    const second = await settled(again.body.links.self, 1);
    expect(second.posts).toHaveLength(1);
    expect(second.posts[0].status).toBe('expanded');
    expect(second.status).toBe('completed');
  });

  it('follows a site through its announced feed, and without one through the Sitemap line of robots.txt', async () => {
    const withFeed = await app.post('/api/v1/submissions', { source: { type: 'site', url: `${site.url}/` } });
    await settled(withFeed.body.links.self, 1);
    const noFeed = await app.post('/api/v1/submissions', { source: { type: 'site', url: `${site.url}/no-feed-home` } });
    await settled(noFeed.body.links.self, 1);
    const meta = await app.rt.db.query<{ url: string; metadata: { resolvedKind: string; resolvedUrl: string } }>(
      `SELECT url, metadata FROM sources WHERE submission_id = ANY($1::uuid[]) ORDER BY created_at`,
      [[withFeed.body.id, noFeed.body.id]],
    );
    expect(meta.rows.map((r) => [r.metadata.resolvedKind, r.metadata.resolvedUrl])).toEqual([
      ['feed', `${site.url}/feeds/atom.xml`],
      ['sitemap', `${site.url}/sitemap_index.xml`],
    ]);
  });

  it('ends exact and near duplicates as `duplicate`, linked to the original; different text goes on', async () => {
    const text = [
      'Harbour masters in Stromness have started to log every tidal turbine maintenance visit in a shared register.',
      'The register shows which vessels were used, how long each repair took ' +
        'and what the weather was like at the time.',
      'After two years the data suggests that most repairs can wait for the calm ' +
        'neap tides, which saves both fuel and money.',
      'Other harbours in the north of Scotland plan to adopt the same register before the next winter season begins.',
      'The harbour board says the register costs almost nothing to keep, because ' +
        'the crews already write the same notes by hand.',
      'Insurers have asked for copies, since a record of every visit makes it ' +
        'easier to price the risk of working at sea.',
      'Some skippers worry that the data could be used against them, but the ' +
        'board has promised to publish only totals.',
      'A second register for cable inspections is planned, and the two will share ' +
        'the same format so they can be compared.',
    ].join('\n\n');
    const original = await app.post('/api/v1/submissions', { source: { type: 'text', text } });
    await settled(original.body.links.self, 1);
    const exact = await app.post('/api/v1/submissions', {
      source: { type: 'markdown', text: `  ${text.toUpperCase()}  ` },
    });
    const near = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: text.replace('two years', 'three years') },
    });
    const different = await app.post('/api/v1/submissions', {
      source: {
        type: 'text',
        text:
          'Kirkwall airport will trial electric planes on the short hop to Westray ' +
          'next spring, with a pilot and eight passengers on each flight.',
      },
    });
    for (const res of [exact, near, different]) await settled(res.body.links.self, 1);

    for (const res of [exact, near]) {
      const post = (await app.get(res.body.links.post)).body;
      expect(post.status).toBe('duplicate');
      expect(post.duplicateOf.postId).toBe(original.body.postId);
      expect(post.hold.reason).toMatch(
        res === exact
          ? /^duplicate: the same text as post/
          : /^duplicate: nearly the same text .* SimHash distance [1-3] of 64 bits/,
      );
      expect(post.failure).toBeNull();
    }
    expect((await app.get(different.body.links.post)).body.status).toBe('published');
    const linked = await app.rt.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sources WHERE duplicate_of = (SELECT id FROM sources WHERE submission_id = $1)`,
      [original.body.id],
    );
    expect(linked.rows[0]!.n).toBe(2);
  });

  it('skips a brief whose topic a published post of the tenant already covers, with the reason', async () => {
    const { rows } = await app.rt.db.query<{ id: string }>(
      `WITH s AS (INSERT INTO submissions (tenant_id, request_hash, correlation_id) SELECT id, 'h', 'c-kelp' FROM
         tenants WHERE slug = 'default' RETURNING id, tenant_id)
       INSERT INTO posts (tenant_id, submission_id, correlation_id, status, title, tags, published_at)
       SELECT tenant_id, id, 'c-kelp', 'published', 'Kelp forests near tidal arrays', ARRAY['kelp', 'forests',
         'shelter', 'young', 'fish', 'near', 'tidal', 'arrays'], now() FROM s RETURNING id`,
    );
    const covering = rows[0]!.id;
    site.polled.entries = [
      {
        guid: 'kelp-again',
        title: 'Kelp forests shelter young fish',
        body: `<p>${'Kelp forests shelter young fish near tidal arrays. '.repeat(20)}</p>`,
      },
    ];
    site.polled.version = 3;
    const res = await app.post('/api/v1/submissions', {
      source: { type: 'feed', url: `${site.url}/feeds/polled.xml` },
    });
    const submission = await settled(res.body.links.self, 2);
    const child = submission.posts.find((p: { submissionId?: string }) => p.submissionId);
    const post = (await app.get(`/api/v1/posts/${child.id}`)).body;
    expect(post.status).toBe('skipped');
    expect(post.hold.reason).toMatch(
      new RegExp(
        `^skipped: published post ${covering} \\("Kelp forests near tidal arrays"\\) ` +
          `already covers \\d+% of this brief's keywords`,
      ),
    );
    expect(post.topicBrief.keywords.join(' ')).toMatch(/kelp forests/);
    expect(post.failure).toBeNull();
  });

  it('obeys robots.txt: a disallowed page fails permanently and is never requested', async () => {
    const res = await app.post('/api/v1/submissions', { source: { type: 'url', url: `${site.url}/private/secret` } });
    const post = await waitFor('the refused post', async () => {
      const { body } = await app.get(res.body.links.post);
      return body.status === 'failed' ? body : null;
    });
    expect(post.failure.reason).toMatch(/robots\.txt of 127\.0\.0\.1:\d+ disallows/);
    expect(post.stages).toHaveLength(1);
    expect(site.hits.some((h) => h.path === '/private/secret')).toBe(false);
    // robots.txt is cached in Redis: one request for it however many pages were fetched.
    expect(site.hits.filter((h) => h.path === '/robots.txt')).toHaveLength(1);
  });
});

async function counter(outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric('blog_poster_feed_polls_total')!.get();
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}
