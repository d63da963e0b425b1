import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbReplicaLagSeconds, dbReplicaReads, registry } from '../../src/metrics.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { startPgReplica, type PgReplicaPeer } from '../support/pg-replica.ts';

// The API's reads on a PostgreSQL streaming replica (pg_basebackup -R from a private primary). Replay
// is paused to hold the replica behind: a client still reads what it has just written (its reads go to
// the primary until a replica has replayed its write's WAL position), and a replica that is too far
// behind or stopped is not read from at all.

async function readsTo(target: 'replica' | 'primary'): Promise<number> {
  const metric = await dbReplicaReads.get();
  return metric.values.find((v) => v.labels.target === target)?.value ?? 0;
}

describe('read replicas', () => {
  let peer: PgReplicaPeer;
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;

  beforeAll(async () => {
    peer = await startPgReplica();
    t = await createTestEnv({
      DATABASE_URL: `${peer.primaryUrl}/bp_replica_test`,
      DATABASE_READ_URL: `${peer.replicaUrl}/bp_replica_test`,
      DATABASE_READ_CHECK_MS: '100',
      DATABASE_READ_MAX_LAG_MS: '2000',
    });
    app = await startPipeline(t);
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
    await peer?.cleanup();
  });

  const replica = () => app.rt.reads!.replicas()[0]!;
  const submit = async (i: number) => {
    const res = await app.post('/api/v1/submissions', {
      source: {
        type: 'text',
        title: `Replica post ${i}`,
        text: `Post ${i} is written to the primary and read back at once, whatever the replica has replayed.`,
      },
    });
    expect(res.status).toBe(202);
    return res.body as { id: string; postId: string };
  };

  it('reports each replica in /readyz', async () => {
    await waitFor('the replica probed', async () => {
      await app.rt.reads!.refresh();
      return replica().up && replica().reason === undefined;
    });
    const ready = await app.get('/readyz');
    expect(ready.body.checks.replicas).toMatchObject({ status: 'up', critical: false });
    expect(ready.body.checks.replicas.replicas[replica().name]).toMatchObject({ status: 'up' });
    expect(typeof ready.body.checks.replicas.replicas[replica().name].lagSeconds).toBe('number');
  });

  it('reads from the replica once it has replayed the caller’s writes', async () => {
    const first = await submit(1);
    await waitFor(
      'the post published',
      async () => (await app.get(`/api/v1/posts/${first.postId}`)).body.status === 'published',
    );
    // The replica catches up; then the read goes there.
    await waitFor('the replica to have the post', async () => {
      await app.rt.reads!.refresh();
      const before = await readsTo('replica');
      const res = await app.get(`/api/v1/posts/${first.postId}`);
      return res.status === 200 && (await readsTo('replica')) > before;
    });
    expect(replica()).toMatchObject({ up: true });
    for (const path of ['/api/v1/posts?limit=5', '/api/v1/overview', `/api/v1/posts/${first.postId}/related`]) {
      const before = await readsTo('replica');
      expect((await app.get(path)).status).toBe(200);
      expect(await readsTo('replica')).toBe(before + 1);
    }
    // The lag is exported for Prometheus.
    expect(await registry.metrics()).toMatch(/blog_poster_db_replica_lag_seconds\{replica="127\.0\.0\.1:\d+"\} 0/);
  });

  it('with replay paused, a client reads its own write at once; the replica does not have it', async () => {
    await peer.pauseReplay();
    const written = await submit(2);
    // The replica really is behind: the row is not there.
    const onReplica = await app.rt.reads!.replicas();
    expect(onReplica[0]!.up).toBe(true);
    const direct = await import('pg').then(async ({ default: pg }) => {
      const c = new pg.Client({ connectionString: `${peer.replicaUrl}/bp_replica_test` });
      await c.connect();
      try {
        return (await c.query('SELECT 1 FROM submissions WHERE id = $1', [written.id])).rowCount;
      } finally {
        await c.end();
      }
    });
    expect(direct).toBe(0);
    // The client that wrote reads it back: its reads go to the primary until a replica has its position.
    const primaryBefore = await readsTo('primary');
    expect((await app.get(`/api/v1/submissions/${written.id}`)).status).toBe(200);
    expect((await app.get(`/api/v1/posts/${written.postId}`)).status).toBe(200);
    const list = await app.get('/api/v1/posts?limit=50');
    expect(list.body.items.map((p: { id: string }) => p.id)).toContain(written.postId);
    expect(await readsTo('primary')).toBe(primaryBefore + 3);

    // Held back while the primary moves on, the replica passes DATABASE_READ_MAX_LAG_MS: out of use, the lag shown.
    await waitFor('the replica to count as too far behind', async () => {
      await submit(3);
      await app.rt.reads!.refresh();
      return /behind/.test(replica().reason ?? '');
    });
    const lag = (await dbReplicaLagSeconds.get()).values[0]!.value;
    expect(lag).toBeGreaterThan(2);

    // Replay resumes: the replica catches up and is read from again.
    await peer.resumeReplay();
    await waitFor('the replica back in use', async () => {
      await app.rt.reads!.refresh();
      return replica().up && replica().reason === undefined;
    });
  });

  it('a signed webhook delivery pins its tenant to the primary as an API write does', async () => {
    const rotated = await app.post('/api/v1/admin/webhook-secrets', {});
    expect(rotated.status).toBe(201);
    await waitFor('the replica to have replayed the tenant’s writes', async () => {
      await app.rt.reads!.refresh();
      const before = await readsTo('replica');
      await app.get('/api/v1/posts?limit=1');
      return (await readsTo('replica')) > before;
    });
    await peer.pauseReplay();
    try {
      const payload = JSON.stringify({
        source: { type: 'text', title: 'Signed', text: 'A delivery signed by the sender, read back at once.' },
      });
      const id = `msg_${randomUUID()}`;
      const at = new Date();
      const res = await fetch(`${app.api.url}/api/v1/hooks/default/submissions`, {
        method: 'POST',
        headers: {
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': new Webhook(rotated.body.secret).sign(id, at, payload),
          'content-type': 'application/json',
        },
        body: payload,
      });
      expect(res.status).toBe(202);
      const accepted = (await res.json()) as { id: string };
      // The replica has not replayed the delivery: read from it, the submission would be a 404.
      const primaryBefore = await readsTo('primary');
      expect((await app.get(`/api/v1/submissions/${accepted.id}`)).status).toBe(200);
      expect(await readsTo('primary')).toBe(primaryBefore + 1);
    } finally {
      await peer.resumeReplay();
    }
  });

  it('reads fall back to the primary when the replica stops', async () => {
    const post = await submit(4);
    await peer.stopReplica();
    await waitFor('the replica marked down', async () => {
      await app.rt.reads!.refresh();
      return !replica().up;
    });
    const primaryBefore = await readsTo('primary');
    expect((await app.get(`/api/v1/posts/${post.postId}`)).status).toBe(200);
    expect((await app.get('/api/v1/posts?limit=5')).status).toBe(200);
    expect(await readsTo('primary')).toBe(primaryBefore + 2);
    expect(await registry.metrics()).toMatch(/blog_poster_db_replica_up\{replica="127\.0\.0\.1:\d+"\} 0/);
    // /readyz says so: degraded, not unready, naming the replica and why.
    const ready = await app.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('degraded');
    expect(ready.body.checks.replicas.status).toBe('down');
    expect(ready.body.checks.replicas.critical).toBe(false);
    expect(ready.body.checks.replicas.error).toMatch(/^reads go to the primary instead of 127\.0\.0\.1:\d+ \(.+\)$/);
    expect(ready.body.checks.replicas.replicas[replica().name].status).toBe('down');
  });
});
