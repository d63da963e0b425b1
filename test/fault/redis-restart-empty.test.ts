import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pipeline } from '../../processors/registry.ts';
import { startScheduler } from '../../src/roles.ts';
import { tallyPosts } from '../support/fault-report.ts';
import { createTestEnv, startPipeline, submitWithRetry, waitFor, type TestEnv } from '../support/harness.ts';
import { startRedisServer } from '../support/redis-server.ts';

// Redis without persistence is killed while posts flow and comes back empty: every job, every job
// scheduler and every deduplication key is gone. The database is the state: the stranded sweep gives
// each post in flight its job back at its stage, the scheduler notices its schedulers are missing and
// makes them again, and no process is restarted.

function source(i: number) {
  return {
    source: {
      type: 'text',
      title: `Empty Redis post ${i}`,
      text: `Post ${i} flows while Redis loses everything it held. It must be published once, or fail and say why.`,
    },
  };
}

describe('Redis restarted empty while work flows', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  }, 120_000);

  it('loses no accepted post, publishes each once, and feed polling resumes without a restart', async () => {
    let feedGets = 0;
    const site: Server = createServer((req, res) => {
      if (req.url === '/robots.txt') return void res.writeHead(404).end();
      feedGets++;
      res.writeHead(200, { 'content-type': 'application/rss+xml' });
      res.end(`<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>http://127.0.0.1/</link>
        <item><title>Tide tables</title><guid>tide-1</guid><description>Tide tables for Orkney harbours, with the \
spring tides of the year marked.</description></item>
        </channel></rss>`);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => site.close(() => r())));
    const redis = await startRedisServer({ appendOnly: false });
    cleanups.push(() => redis.cleanup());
    const t: TestEnv = await createTestEnv({
      REDIS_URL: redis.url,
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      STAGE_BACKOFF_MS: '500',
      STRANDED_AFTER_MS: '2000',
      SCHEDULER_TICK_MS: '1000',
    });
    cleanups.push(() => t.cleanup());
    const app = await startPipeline(t);
    cleanups.push(() => app.stop());
    const scheduler = await startScheduler(app.rt, pipeline.maintenance);
    cleanups.push(() => scheduler.stop());

    // The development key's tenant is an operator tenant: it may poll every two seconds.
    const feed = await app.post('/api/v1/feeds', {
      url: `http://127.0.0.1:${(site.address() as AddressInfo).port}/feed.xml`,
      cron: '*/2 * * * * *',
    });
    expect(feed.status).toBe(201);
    const polls = async () =>
      (
        await app.rt.db.query<{ n: number }>('SELECT count(*)::int AS n FROM feed_polls WHERE feed_id = $1', [
          feed.body.id,
        ])
      ).rows[0]!.n;
    await waitFor('a first poll', async () => (await polls()) > 0, 30_000);

    // Posts in every stage when Redis dies: some published, some waiting, some mid-pipeline.
    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => app.post('/api/v1/submissions', source(i))));
    expect(first.every((r) => r.status === 202)).toBe(true);
    await waitFor('a few posts published', async () => {
      const { rows } = await app.rt.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM posts WHERE status = 'published' AND id = ANY($1::uuid[])`,
        [first.map((r) => r.body.postId)],
      );
      return rows[0]!.n >= 3;
    });
    await redis.stop('SIGKILL');
    await redis.start();
    const restartedAt = new Date();

    const second = await Promise.all(Array.from({ length: 10 }, (_, i) => submitWithRetry(app, source(100 + i))));
    const accepted = [...first, ...second].filter((r) => r.status === 202).map((r) => r.body.postId as string);
    expect(accepted).toHaveLength(50);

    // Every accepted post ends published or failed with a reason.
    const settled = await waitFor(
      'every post to settle',
      async () => {
        const { rows } = await app.rt.db.query<{ id: string; status: string; failure_reason: string | null }>(
          'SELECT id, status, failure_reason FROM posts WHERE id = ANY($1::uuid[])',
          [accepted],
        );
        return rows.every((r) => r.status === 'published' || (r.status === 'failed' && r.failure_reason)) ? rows : null;
      },
      120_000,
    );
    expect(settled).toHaveLength(accepted.length);
    const row = await tallyPosts(app.rt.db, 'Redis restarted empty while work flows', accepted);
    expect(row).toMatchObject({ accepted: 50, lost: 0, duplicated: 0 });
    // One publish run completed per post: nothing was published twice.
    const { rows: runs } = await app.rt.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT post_id FROM stage_runs WHERE stage = 'publish' AND outcome = 'completed'
        AND post_id = ANY($1::uuid[]) GROUP BY post_id HAVING count(*) > 1) d`,
      [accepted],
    );
    expect(runs[0]!.n).toBe(0);

    // The feed is polled again, by the same scheduler process, after its job scheduler was re-created.
    const before = feedGets;
    await waitFor(
      'a poll after the restart',
      async () =>
        (
          await app.rt.db.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM feed_polls WHERE feed_id = $1 AND started_at > $2',
            [feed.body.id, restartedAt],
          )
        ).rows[0]!.n > 0 && feedGets > before,
      30_000,
    );
    const schedulers = (await app.rt.queues.maintenance.getJobSchedulers()).map((s) => s.key).sort();
    expect(schedulers).toEqual(expect.arrayContaining(['sweep-failed', 'sweep-stranded', `feed:${feed.body.id}`]));
  }, 240_000);
});
