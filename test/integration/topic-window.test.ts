import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollFeed } from '../../processors/scheduled/poll-feed.ts';
import { startFixtureSite, type FixtureSite } from '../fixtures/ingest/site.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

// The topic window (TOPIC_WINDOW_MS): an entry arriving in a later poll, similar to a brief still
// inside its window, joins that brief instead of becoming a post of its own. Real Redis and
// PostgreSQL, a local site whose feed changes between two polls.

const WINDOW_MS = 3000;
const terminal = new Set(['published', 'failed', 'duplicate', 'skipped', 'expanded', 'needs_review']);

const tidal = {
  guid: 'tidal-turbines-record',
  title: 'Tidal turbines in the Pentland Firth set a power record',
  body:
    '<p>Tidal turbines in the Pentland Firth set a power record this winter, ' +
    'as tidal turbines at MeyGen ran through every storm.</p>',
};
const tidalAgain = {
  guid: 'pentland-turbines-again',
  title: 'Pentland Firth tidal turbines beat their power record again',
  body:
    '<p>The tidal turbines of the Pentland Firth beat their power record again, ' +
    'MeyGen says, after tidal turbines ran through the storms.</p>',
};
const planes = {
  guid: 'kirkwall-electric-planes',
  title: 'Kirkwall airport trials electric planes',
  body:
    '<p>Kirkwall airport will trial electric planes on the short hop to Westray ' +
    'next spring, with eight passengers on each flight.</p>',
};

type PostRow = {
  id: string;
  status: string;
  created_at: Date;
  topic_brief: { keywords: string[]; entries: number; joinedLater?: number } | null;
  urls: string[];
};

async function withPipeline(window: number) {
  const t: TestEnv = await createTestEnv({ TOPIC_WINDOW_MS: String(window) });
  const app = await startPipeline(t);
  const site: FixtureSite = await startFixtureSite();
  const deps = { db: app.rt.db, queues: app.rt.queues, redis: app.rt.redis, config: app.rt.config, log: app.rt.logger };
  return {
    t,
    app,
    site,
    async register() {
      const created = await app.post('/api/v1/feeds', { url: `${site.url}/feeds/polled.xml`, cron: '0 0 1 1 *' });
      expect(created.status).toBe(201);
      return created.body.id as string;
    },
    /** Serves these entries from now on and polls the feed once. */
    async poll(feedId: string, tick: string, entries: Array<{ guid: string; title: string; body: string }>) {
      site.polled.entries = entries;
      site.polled.version++;
      return pollFeed(deps, { id: tick, data: { feedId } });
    },
    /** The feed's entry posts with the URLs of their sources, once every one has settled. */
    async settledPosts(feedId: string, count: number) {
      return waitFor(
        `${count} settled posts`,
        async () => {
          const { rows } = await app.rt.db.query<PostRow>(
            `SELECT p.id, p.status, p.created_at, p.topic_brief,
                  ARRAY(SELECT x.url FROM sources x WHERE x.submission_id = p.submission_id ORDER BY x.created_at,
                    x.id) AS urls
             FROM posts p JOIN submissions s ON s.id = p.submission_id
            WHERE s.feed_id = $1 AND s.parent_id IS NOT NULL ORDER BY p.created_at`,
            [feedId],
          );
          return rows.length === count && rows.every((r) => terminal.has(r.status)) ? rows : null;
        },
        60_000,
      );
    },
    async ingestStartedAt(postId: string) {
      const { rows } = await app.rt.db.query<{ started_at: Date }>(
        `SELECT started_at FROM stage_runs WHERE post_id = $1 AND stage = 'ingest' ORDER BY id LIMIT 1`,
        [postId],
      );
      return rows[0]!.started_at;
    },
    async stop() {
      await app.stop();
      await site.close();
      await t.cleanup();
    },
  };
}

describe('topic window', () => {
  let env: Awaited<ReturnType<typeof withPipeline>>;
  beforeAll(async () => {
    env = await withPipeline(WINDOW_MS);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('a similar entry of a later poll joins the open brief; a dissimilar one becomes a post of its own', async () => {
    const feedId = await env.register();
    expect(await env.poll(feedId, 'tick-1', [tidal])).toEqual({ outcome: 'new_entries', newEntries: 1 });
    // The second poll comes well inside the window: the first post has not started ingesting.
    expect(await env.poll(feedId, 'tick-2', [tidal, tidalAgain, planes])).toEqual({
      outcome: 'new_entries',
      newEntries: 2,
    });

    const posts = await env.settledPosts(feedId, 2);
    const [joined, alone] = posts;
    const base = env.site.url;
    expect(joined!.urls).toEqual([`${base}/posts/${tidal.guid}`, `${base}/posts/${tidalAgain.guid}`]);
    expect(alone!.urls).toEqual([`${base}/posts/${planes.guid}`]);
    expect(posts.map((p) => p.status)).toEqual(['published', 'published']);
    expect(joined!.topic_brief).toMatchObject({ entries: 2, joinedLater: 1 });
    expect(joined!.topic_brief!.keywords.join(' ')).toMatch(/tidal|turbines|pentland/);

    // The one post was written from both sources and cites both.
    const post = (await env.app.get(`/api/v1/posts/${joined!.id}`)).body;
    const cited = JSON.stringify(post.citations);
    expect(cited).toContain(tidal.guid);
    expect(cited).toContain(tidalAgain.guid);
    const { rows } = await env.app.rt.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sources x JOIN posts p ON p.submission_id ` +
        `= x.submission_id WHERE p.id = $1 AND x.content IS NOT NULL`,
      [joined!.id],
    );
    expect(rows[0]!.n).toBe(2);

    // Entry posts wait out the window before ingest, so that later entries can still join.
    for (const p of posts) {
      expect((await env.ingestStartedAt(p.id)).getTime() - p.created_at.getTime()).toBeGreaterThanOrEqual(
        WINDOW_MS - 100,
      );
    }
  });

  it('a brief whose post has started ingesting is closed: a similar entry becomes a post of its own', async () => {
    const { rows } = await env.app.rt.db.query<{ id: string }>(
      `INSERT INTO feeds (tenant_id, kind, url, cron) SELECT id, 'feed', $1, ` +
        `'0 0 1 1 *' FROM tenants WHERE slug = 'default' RETURNING id`,
      [`${env.site.url}/feeds/polled.xml?closed`],
    );
    const feedId = rows[0]!.id;
    const first = { ...tidal, guid: 'closed-tidal-turbines' };
    expect(await env.poll(feedId, 'tick-1', [first])).toMatchObject({ newEntries: 1 });
    // The ingest job's start marks the post as no longer queued; the brief is closed from then on.
    await env.app.rt.db.query(
      `UPDATE posts SET status = 'ingesting' WHERE submission_id IN (SELECT id ` +
        `FROM submissions WHERE feed_id = $1 AND parent_id IS NOT NULL)`,
      [feedId],
    );
    expect(await env.poll(feedId, 'tick-2', [first, { ...tidalAgain, guid: 'closed-pentland-again' }])).toMatchObject({
      newEntries: 1,
    });
    const posts = await env.settledPosts(feedId, 2);
    expect(posts.map((p) => p.urls.length)).toEqual([1, 1]);
  });

  it('two polls finishing together take turns: the later one joins the brief the earlier one made', async () => {
    const feedIds: string[] = [];
    for (const which of ['race-a', 'race-b']) {
      const { rows } = await env.app.rt.db.query<{ id: string }>(
        `INSERT INTO feeds (tenant_id, kind, url, cron) SELECT id, 'feed', $1, ` +
          `'0 0 1 1 *' FROM tenants WHERE slug = 'default' RETURNING id`,
        [`${env.site.url}/feeds/polled.xml?${which}`],
      );
      feedIds.push(rows[0]!.id);
    }
    // Both feeds serve the same two entries (a guid is keyed by its feed, so each poll claims both): one brief of four
    // sources.
    env.site.polled.entries = [
      { ...tidal, guid: 'race-tidal' },
      { ...tidalAgain, guid: 'race-pentland' },
    ];
    env.site.polled.version++;
    const deps = {
      db: env.app.rt.db,
      queues: env.app.rt.queues,
      redis: env.app.rt.redis,
      config: env.app.rt.config,
      log: env.app.rt.logger,
    };
    await Promise.all(feedIds.map((feedId) => pollFeed(deps, { id: 'tick-1', data: { feedId } })));
    const { rows } = await env.app.rt.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts p JOIN submissions s ON s.id = p.submission_id ` +
        `WHERE s.feed_id = ANY($1::uuid[]) AND s.parent_id IS NOT NULL`,
      [feedIds],
    );
    expect(rows[0]!.n).toBe(1);
    const sources = await env.app.rt.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sources x JOIN submissions s ON s.id = ` +
        `x.submission_id WHERE s.feed_id = ANY($1::uuid[]) AND s.parent_id IS NOT ` +
        `NULL`,
      [feedIds],
    );
    expect(sources.rows[0]!.n).toBe(4);
  });

  it('does not delay text submissions', async () => {
    const res = await env.app.post('/api/v1/submissions', {
      source: {
        type: 'text',
        text:
          'Orkney ferries will run on hydrogen made from surplus tidal power. The ' +
          'trial starts in spring on the Shapinsay route.',
      },
    });
    expect(res.status).toBe(202);
    const post = await waitFor('the text post', async () => {
      const { body } = await env.app.get(res.body.links.post);
      return body.status === 'published' ? body : null;
    });
    const started = Date.parse(post.stages.find((s: { stage: string }) => s.stage === 'ingest').startedAt);
    expect(started - Date.parse(post.createdAt)).toBeLessThan(WINDOW_MS / 2);
  });
});

describe('topic window off (TOPIC_WINDOW_MS=0)', () => {
  let env: Awaited<ReturnType<typeof withPipeline>>;
  beforeAll(async () => {
    env = await withPipeline(0);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('a similar entry of a later poll becomes a post of its own, ingested at once', async () => {
    const feedId = await env.register();
    expect(await env.poll(feedId, 'tick-1', [tidal])).toEqual({ outcome: 'new_entries', newEntries: 1 });
    expect(await env.poll(feedId, 'tick-2', [tidal, tidalAgain])).toEqual({ outcome: 'new_entries', newEntries: 1 });
    const posts = await env.settledPosts(feedId, 2);
    expect(posts.map((p) => p.urls.length)).toEqual([1, 1]);
    expect(posts.map((p) => p.status)).toEqual(['published', 'published']);
    const { rows } = await env.app.rt.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts WHERE topic_open_until IS NOT NULL OR topic_terms IS NOT NULL`,
    );
    expect(rows[0]!.n).toBe(0);
    for (const p of posts)
      expect((await env.ingestStartedAt(p.id)).getTime() - p.created_at.getTime()).toBeLessThan(WINDOW_MS / 2);
  });
});
