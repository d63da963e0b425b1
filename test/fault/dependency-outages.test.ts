import { afterEach, describe, expect, it } from 'vitest';
import { stages } from '../../queues/stages.ts';
import {
  createTestEnv,
  postgresUrl,
  startPipeline,
  submitWithRetry,
  waitFor,
  type TestEnv,
} from '../support/harness.ts';
import { startRedisServer } from '../support/redis-server.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { tallyPosts } from '../support/fault-report.ts';

type Pipeline = Awaited<ReturnType<typeof startPipeline>>;

function source(i: number) {
  return {
    source: {
      type: 'text',
      title: `Outage post ${i}`,
      text: `Post ${i} flows while a dependency goes away. It must be published once, or fail and say why.`,
    },
  };
}

/** Every accepted post ends published (once) or failed with a reason; nothing is left in between. */
async function expectSettled(app: Pipeline, postIds: string[]) {
  const settled = await waitFor(
    'every post to settle',
    async () => {
      const { rows } = await app.rt.db.query<{
        id: string;
        status: string;
        failure_reason: string | null;
        publications: number;
      }>(
        `SELECT p.id, p.status, p.failure_reason, (SELECT count(*)::int FROM publications x WHERE x.post_id = p.id) AS
           publications
         FROM posts p WHERE p.id = ANY($1::uuid[])`,
        [postIds],
      );
      return rows.every((r) => r.status === 'published' || r.status === 'failed') ? rows : null;
    },
    90_000,
  );
  expect(settled).toHaveLength(postIds.length);
  for (const post of settled) {
    if (post.status === 'published') expect(post.publications).toBe(1);
    else expect(post.failure_reason).toBeTruthy();
  }
  return settled;
}

describe('dependency outages while work flows', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  }, 120_000);

  it('a Redis restart (AOF) loses no accepted post and publishes each once', async () => {
    const redis = await startRedisServer({ appendOnly: true });
    cleanups.push(() => redis.cleanup());
    const t: TestEnv = await createTestEnv({
      REDIS_URL: redis.url,
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      STAGE_BACKOFF_MS: '500',
    });
    cleanups.push(() => t.cleanup());
    const app = await startPipeline(t);
    cleanups.push(() => app.stop());

    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => app.post('/api/v1/submissions', source(i))));
    await redis.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await redis.start();
    // Submissions answered 202 before the restart are all there; more arrive after it, retried on
    // 503 as a well-behaved client would while the connection comes back.
    const second = await Promise.all(Array.from({ length: 10 }, (_, i) => submitWithRetry(app, source(20 + i))));
    const accepted = [...first, ...second].filter((r) => r.status === 202);
    expect(accepted).toHaveLength(30);

    const settled = await expectSettled(
      app,
      accepted.map((r) => r.body.postId),
    );
    expect(settled.filter((p) => p.status === 'published')).toHaveLength(30);
    expect(
      await tallyPosts(
        app.rt.db,
        'Redis restarted (AOF) while work flows',
        accepted.map((r) => r.body.postId),
      ),
    ).toMatchObject({ lost: 0, duplicated: 0 });
  }, 120_000);

  it('PostgreSQL unreachable for 15 seconds: posts wait and retry, then all publish once', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(postgresUrl).port || 5432) });
    cleanups.push(() => proxy.close());
    const base = await createTestEnv();
    cleanups.push(() => base.cleanup());
    // The same database, reached through the proxy; backoff long enough to outlast the outage.
    const viaProxy = new URL(base.config.DATABASE_URL);
    viaProxy.port = String(proxy.port);
    const t = await createTestEnv({
      ...base.env,
      DATABASE_URL: viaProxy.toString(),
      STAGE_BACKOFF_MS: '1000',
      STAGE_ATTEMPTS: '8',
    });
    const app = await startPipeline(t);
    cleanups.push(() => app.stop());

    const accepted = await Promise.all(
      Array.from({ length: 20 }, (_, i) => app.post('/api/v1/submissions', source(i))),
    );
    expect(accepted.every((r) => r.status === 202)).toBe(true);
    await proxy.cut();
    const during = await app.post('/api/v1/submissions', source(99));
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBeTruthy();
    await new Promise((r) => setTimeout(r, 15_000));
    await proxy.restore();

    const settled = await expectSettled(
      app,
      accepted.map((r) => r.body.postId),
    );
    expect(settled.filter((p) => p.status === 'published')).toHaveLength(20);
    expect(
      await tallyPosts(
        app.rt.db,
        'PostgreSQL unreachable for 15 s',
        accepted.map((r) => r.body.postId),
      ),
    ).toMatchObject({ lost: 0, duplicated: 0 });
    for (const stage of stages) expect(await app.rt.queues.queues[stage].getFailedCount()).toBe(0);
  }, 150_000);
});
