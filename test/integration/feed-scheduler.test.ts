import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollFeed } from '../../processors/scheduled/poll-feed.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { createTenantWithKeys } from '../support/tenants.ts';

const cli = join(import.meta.dirname, '../../bin/main.ts');

describe('registered feeds', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let site: Server;
  let siteUrl: string;
  let feedGets = 0;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t, { workers: false });
    site = createServer((req, res) => {
      if (req.url === '/feed.xml') {
        feedGets++;
        res.writeHead(200, { 'content-type': 'application/rss+xml' });
        return res.end(`<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>http://127.0.0.1/</link>
          <item><title>Only entry</title><guid>only-1</guid><description>The only entry of this feed, about tide \
tables in Orkney harbours.</description></item></channel></rss>`);
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    site?.close();
    await app?.stop();
    await t?.cleanup();
  });

  it(
    'refuses a bad cron expression, time zone or URL with a 422 naming the ' +
      'field, and a second registration with 409',
    async () => {
      for (const [body, field] of [
        [{ url: `${siteUrl}/a.xml`, cron: 'every five minutes' }, 'cron'],
        [{ url: `${siteUrl}/a.xml`, cron: '61 * * * *' }, 'cron'],
        [{ url: `${siteUrl}/a.xml`, cron: '* * * * * * *' }, 'cron'],
        [{ url: `${siteUrl}/a.xml`, cron: '*/5 * * * *', timezone: 'Mars/Olympus' }, 'timezone'],
        [{ url: 'ftp://example.com/feed', cron: '*/5 * * * *' }, 'url'],
        [{ url: `${siteUrl}/a.xml`, cron: '*/5 * * * *', type: 'podcast' }, 'type'],
        [{ url: `${siteUrl}/a.xml`, cron: '*/5 * * * *', every: 5 }, 'every'],
        [{ url: `${siteUrl}/a.xml` }, 'cron'],
      ] as const) {
        const res = await app.post('/api/v1/feeds', body);
        expect(res.status, JSON.stringify(body)).toBe(422);
        expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
        expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      }
      const ok = await app.post('/api/v1/feeds', {
        url: `${siteUrl}/a.xml`,
        cron: '0 6 * * 1',
        timezone: 'Europe/Paris',
      });
      expect(ok.status).toBe(201);
      const again = await app.post('/api/v1/feeds', { url: `${siteUrl}/a.xml`, cron: '0 7 * * 1' });
      expect(again.status).toBe(409);
      expect(again.body.errors[0].field).toBe('url');
      expect((await app.get('/api/v1/feeds')).body.feeds).toHaveLength(1);
      const del = await fetch(`${app.api.url}/api/v1/feeds/${ok.body.id}`, { method: 'DELETE', headers: app.headers });
      expect(del.status).toBe(204);
      expect((await app.get(`/api/v1/feeds/${ok.body.id}`)).status).toBe(404);
    },
  );

  it('holds tenants to a poll interval floor (FEED_MIN_INTERVAL_MS, 5 minutes): 422 naming cron', async () => {
    const tenant = await createTenantWithKeys({ url: app.api.url, devKey: t.config.DEV_API_KEY }, 'feed-floor');
    const key = tenant.keys.all!.key;
    for (const cron of ['* * * * * *', '* * * * *', '*/4 * * * *', '0,1 * * * *', '*/2 3 * * *']) {
      const res = await tenant.call(key, 'POST', '/api/v1/feeds', { url: `${siteUrl}/floor-${cron.length}.xml`, cron });
      expect(res.status, cron).toBe(422);
      expect(res.body.errors, cron).toEqual([
        { field: 'cron', message: expect.stringMatching(/FEED_MIN_INTERVAL_MS/) },
      ]);
    }
    const ok = await tenant.call(key, 'POST', '/api/v1/feeds', { url: `${siteUrl}/floor-ok.xml`, cron: '*/5 * * * *' });
    expect(ok.status).toBe(201);

    // A feed registered before the floor (a row with a one-second cron) still polls at most once per floor.
    const { rows } = await app.rt.db.query<{ id: string }>(
      `INSERT INTO feeds (tenant_id, kind, url, cron) VALUES ($1, 'feed', $2, '* * * * * *') RETURNING id`,
      [tenant.id, `${siteUrl}/feed.xml`],
    );
    const deps = { ...app.rt, log: createLogger('silent') };
    const before = feedGets;
    const first = await pollFeed(deps, { id: 'floor-tick-1', data: { feedId: rows[0]!.id } });
    const second = await pollFeed(deps, { id: 'floor-tick-2', data: { feedId: rows[0]!.id } });
    expect([first.outcome, second.outcome]).toEqual(['new_entries', 'too_soon']);
    expect(feedGets - before).toBe(1);
    await app.rt.db.query('DELETE FROM feeds WHERE id = $1', [rows[0]!.id]);
  });

  it('two scheduler processes poll each registered feed once per tick', async () => {
    const created = await app.post('/api/v1/feeds', { url: `${siteUrl}/feed.xml`, cron: '* * * * * *' });
    expect(created.status).toBe(201);
    const feedId = created.body.id as string;
    const getsBefore = feedGets;

    for (let i = 0; i < 2; i++) {
      children.push(
        spawn(process.execPath, [cli, 'scheduler'], {
          env: { ...process.env, ...t.env, LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'inherit', 'inherit'],
        }),
      );
    }
    const polls = async () =>
      (
        await app.rt.db.query<{ tick: string; outcome: string }>(
          'SELECT tick, outcome FROM feed_polls WHERE feed_id = $1 ORDER BY tick',
          [feedId],
        )
      ).rows;
    // Two processes start first (seconds each on a loaded machine): wait for the polls, not for a fixed time.
    await waitFor('six polls', async () => (await polls()).length >= 6, 90_000);

    // SIGTERM lets a poll in flight finish, so every job below has run to its end.
    const exits = children.map((c) => new Promise((r) => c.once('exit', r)));
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(exits);
    const pollRows = await polls();

    const queue = new Queue('maintenance', { connection: app.rt.redis, prefix: t.config.QUEUE_PREFIX });
    // getJobs reads each state's set on its own and a job can be listed under two of them (seen once in CI: 9 entries
    // for 8 jobs): one entry per job id. A tick polled twice would still show below, in the polls and the fetches.
    // This feed's jobs only: another test's feed (every 5 minutes) has a job at the same tick when a 5-minute mark
    // falls in this test's window.
    const listed = (await queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed'])).filter(
      (j) => j.name === 'poll-feed' && j.id!.startsWith(`repeat:feed:${feedId}:`),
    );
    await queue.close();
    const jobs = [...new Map(listed.map((j) => [j.id!, j])).values()];
    const ticks = jobs.map((j) => Number(/^repeat:feed:[0-9a-f-]+:(\d+)$/.exec(j.id!)![1])).sort((a, b) => a - b);
    const polled = ticks.filter((tick) => jobs.find((j) => j.id!.endsWith(`:${tick}`))!.finishedOn);
    // One job per tick (its id is the tick), never two within a second however many schedulers run...
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBeGreaterThanOrEqual(1000);
    // ...and each finished job fetched the feed exactly once.
    expect(polled.length).toBeGreaterThanOrEqual(6);
    expect(pollRows.length).toBe(polled.length);
    expect(feedGets - getsBefore).toBe(pollRows.length);
    expect(pollRows.every((p) => p.outcome === 'new_entries' || p.outcome === 'nothing_new')).toBe(true);
    // The one entry became one post, however often the feed was polled.
    const posts = await app.rt.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts p JOIN submissions s ON s.id = p.submission_id WHERE s.feed_id = $1`,
      [feedId],
    );
    expect(posts.rows[0]!.n).toBe(1);

    // Deleting the feed removes its job scheduler.
    const del = await fetch(`${app.api.url}/api/v1/feeds/${feedId}`, { method: 'DELETE', headers: app.headers });
    expect(del.status).toBe(204);
    const after = new Queue('maintenance', { connection: app.rt.redis, prefix: t.config.QUEUE_PREFIX });
    expect((await after.getJobSchedulers()).map((j) => j.key)).not.toContain(`feed:${feedId}`);
    await after.close();
  }, 150_000);
});
