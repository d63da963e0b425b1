import { afterEach, describe, expect, it } from 'vitest';
import { pipeline } from '../../processors/registry.ts';
import { startScheduler } from '../../src/roles.ts';
import { tallyPosts } from '../support/fault-report.ts';
import { createTestEnv, startPipeline, submitWithRetry, waitFor, type TestEnv } from '../support/harness.ts';
import { startRedisCluster } from '../support/redis-cluster.ts';

// A Redis Cluster of three masters with one replica each. While posts flow, the master that holds the
// queues' slot is killed without warning (SIGKILL). Its replica is promoted once the other masters
// agree it failed (the node timeout); the workers' and the edge's cluster connections follow the new
// slot map. Replication is asynchronous, so the last writes of the dead master may be missing on its
// replica (a job added, a job moved to completed): the database is the state, and the stranded sweep
// gives such a post its job back, and a job whose completion was lost runs again (publish skips what is
// already published). A worker whose wait for a job the failover left hanging is replaced
// (src/worker-watchdog.ts). Every accepted post ends published once or failed with a reason.

function source(i: number) {
  return {
    source: {
      type: 'text',
      title: `Failover post ${i}`,
      text:
        `Post ${i} flows while the master holding the queues dies and its replica ` +
        `takes over. It must be published once, or fail and say why.`,
    },
  };
}

describe('Redis Cluster: a master killed while work flows', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    // Each step bounded, so that the cluster is always torn down.
    for (const c of cleanups.splice(0).reverse())
      await Promise.race([c().catch(() => undefined), new Promise((r) => setTimeout(r, 20_000))]);
  }, 120_000);

  it('promotes the replica, workers reconnect, and every accepted post ends exactly once', async () => {
    const cluster = await startRedisCluster({ nodeTimeoutMs: 1_000 });
    cleanups.push(() => cluster.cleanup());
    const t: TestEnv = await createTestEnv({
      REDIS_CLUSTER_NODES: cluster.nodes,
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      STAGE_BACKOFF_MS: '500',
      STRANDED_AFTER_MS: '2000',
      SCHEDULER_TICK_MS: '1000',
      SHUTDOWN_GRACE_MS: '3000',
    });
    cleanups.push(() => t.cleanup());
    const app = await startPipeline(t);
    cleanups.push(() => app.stop());
    const scheduler = await startScheduler(app.rt, pipeline.maintenance);
    cleanups.push(() => scheduler.stop());

    const queuesMaster = await cluster.masterOf(`${t.config.QUEUE_PREFIX}:ingest:wait`);
    const before = await cluster.topology();
    const replica = before.find((s) => s.master === queuesMaster)!.replicas[0]!;
    expect(replica).toBeDefined();

    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => app.post('/api/v1/submissions', source(i))));
    expect(first.every((r) => r.status === 202)).toBe(true);
    await waitFor('a few posts published', async () => {
      const { rows } = await app.rt.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM posts WHERE status = 'published' AND id = ANY($1::uuid[])`,
        [first.map((r) => r.body.postId)],
      );
      return rows[0]!.n >= 3;
    });

    // Mid-flow: posts in every stage. Submissions keep arriving during the failover (a 503 is retried).
    const during = Promise.all(Array.from({ length: 10 }, (_, i) => submitWithRetry(app, source(100 + i))));
    await cluster.kill(queuesMaster);
    await cluster.waitHealthy();
    expect(await cluster.masterOf(`${t.config.QUEUE_PREFIX}:ingest:wait`)).toBe(replica);
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => submitWithRetry(app, source(200 + i))));
    const accepted = [...first, ...(await during), ...after]
      .filter((r) => r.status === 202)
      .map((r) => r.body.postId as string);
    expect(accepted).toHaveLength(60);

    // On a timeout, say where the unsettled posts are and what the queues hold.
    const where = async () => {
      const { rows } = await app.rt.db.query(
        `SELECT status, count(*)::int AS n FROM posts WHERE id = ANY($1::uuid[]) GROUP BY status`,
        [accepted],
      );
      const queues = await Promise.all(
        app.rt.queues.all().map(async (q) => `${q.name} ${JSON.stringify(await q.getJobCounts().catch(String))}`),
      );
      return `posts ${JSON.stringify(rows)}; ${queues.join('; ')}`;
    };
    const settled = await waitFor(
      'every post to settle',
      async () => {
        const { rows } = await app.rt.db.query<{ id: string; status: string; failure_reason: string | null }>(
          'SELECT id, status, failure_reason FROM posts WHERE id = ANY($1::uuid[])',
          [accepted],
        );
        return rows.length === accepted.length &&
          rows.every((r) => r.status === 'published' || (r.status === 'failed' && r.failure_reason))
          ? rows
          : null;
      },
      120_000,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${await where()}`);
    });
    expect(settled).toHaveLength(accepted.length);
    const row = await tallyPosts(app.rt.db, 'Redis Cluster master killed mid-flow (replica promoted)', accepted);
    expect(row).toMatchObject({ accepted: 60, lost: 0, duplicated: 0 });
    // A job whose completion the dead master had not yet passed to its replica runs again: publish skips
    // destinations already published, so each post has one publication and one published_at.
    const { rows: pubs } = await app.rt.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT post_id FROM publications WHERE post_id = ANY($1::uuid[])
        GROUP BY post_id, destination HAVING count(*) > 1) d`,
      [accepted],
    );
    expect(pubs[0]!.n).toBe(0);
  }, 240_000);
});
