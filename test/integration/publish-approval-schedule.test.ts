import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdPost } from '../support/hold.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { spawnRole, type WorkerProcess } from '../support/worker-process.ts';

const text = (n: string) =>
  `Approval and scheduling ${n}. Operators decide when a post goes out. A schedule survives a restart of every worker.`;

describe('approval, rejection, scheduling and cancelling', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t);
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  const status = async (postId: string) => (await app.get(`/api/v1/posts/${postId}`)).body;
  const until = (postId: string, wanted: string, timeoutMs = 30_000) =>
    waitFor(
      `status ${wanted}`,
      async () => {
        const post = await status(postId);
        return post.status === wanted ? post : null;
      },
      timeoutMs,
    );

  it('holds a post that requires approval until it is approved, then publishes it', async () => {
    const res = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: text('approve') },
      publish: { requireApproval: true },
    });
    const held = await until(res.body.postId, 'awaiting_approval');
    expect(held.hold).toMatchObject({ stage: 'index', reason: expect.stringMatching(/approval/) });
    expect(held.publications).toEqual([]);

    const approved = await app.post(`/api/v1/posts/${held.id}/approve`, {});
    expect(approved.status).toBe(202);
    const published = await until(held.id, 'published');
    expect(published.publications).toEqual([expect.objectContaining({ kind: 'files', status: 'published' })]);
    expect(published.publishing.approvedAt).toEqual(expect.any(String));
    // A second approval finds nothing to approve.
    expect((await app.post(`/api/v1/posts/${held.id}/approve`, {})).status).toBe(409);
  });

  it('uses the tenant setting when the submission says nothing, and rejects with a reason', async () => {
    await app.rt.db.query(
      `UPDATE tenants SET settings = settings || '{"publishing": {"requireApproval": ` +
        `true}}'::jsonb WHERE slug = 'default'`,
    );
    try {
      const res = await app.post('/api/v1/submissions', { source: { type: 'text', text: text('reject') } });
      const held = await until(res.body.postId, 'awaiting_approval');
      const missingReason = await app.post(`/api/v1/posts/${held.id}/reject`, {});
      expect(missingReason.status).toBe(422);
      expect(missingReason.body.errors).toEqual([expect.objectContaining({ field: 'reason' })]);
      const rejected = await app.post(`/api/v1/posts/${held.id}/reject`, { reason: 'off topic for this blog' });
      expect(rejected.status).toBe(200);
      expect(rejected.body).toMatchObject({
        status: 'rejected',
        publishing: { stopped: { status: 'rejected', reason: 'off topic for this blog' } },
      });
      expect((await app.post(`/api/v1/posts/${held.id}/approve`, {})).status).toBe(409);
    } finally {
      await app.rt.db.query(`UPDATE tenants SET settings = settings - 'publishing' WHERE slug = 'default'`);
    }
  });

  it('approves posts held as needs_review or duplicate_of the same way', async () => {
    for (const hold of ['needs_review', 'duplicate_of'] as const) {
      const res = await app.post('/api/v1/submissions', { source: { type: 'text', text: text(hold) } });
      const post = await until(res.body.postId, 'published');
      await holdPost(app.rt.db, post.id, { status: hold, stage: 'generate', reason: `held as ${hold} by a test` });
      expect((await app.post(`/api/v1/posts/${post.id}/approve`, {})).status).toBe(202);
      await waitFor('published again', async () => {
        const p = await status(post.id);
        return (
          p.status === 'published' && p.stages.filter((s: { stage: string }) => s.stage === 'publish').length === 2
        );
      });
    }
  });

  it('refuses bad action requests with problem documents naming the field', async () => {
    const res = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: text('bad') },
      publish: { publishAt: '2001-01-01T00:00:00Z' },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ field: 'publish.publishAt', message: 'must be in the future' }),
    ]);
    const unknown = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: text('bad') },
      publish: { destinations: ['nope'] },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0].field).toBe('publish.destinations.0');
    const missing = await app.post('/api/v1/posts/00000000-0000-4000-8000-000000000000/approve', {});
    expect(missing.status).toBe(404);
    const published = await until(
      (await app.post('/api/v1/submissions', { source: { type: 'text', text: text('done') } })).body.postId,
      'published',
    );
    const late = await app.post(`/api/v1/posts/${published.id}/reschedule`, {
      publishAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(late.status).toBe(409);
    const badTime = await app.post(`/api/v1/posts/${published.id}/reschedule`, { publishAt: 'tomorrow' });
    expect(badTime.status).toBe(422);
    expect(badTime.body.errors[0].field).toBe('publishAt');
  });

  it('reschedules a scheduled post and cancels another, which is then never published', async () => {
    const first = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: text('reschedule') },
      publish: { publishAt: new Date(Date.now() + 3_600_000).toISOString() },
    });
    const second = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: text('cancel') },
      publish: { publishAt: new Date(Date.now() + 4_000).toISOString() },
    });
    await until(first.body.postId, 'scheduled');
    await until(second.body.postId, 'scheduled');

    const soon = new Date(Date.now() + 2_000);
    const moved = await app.post(`/api/v1/posts/${first.body.postId}/reschedule`, { publishAt: soon.toISOString() });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ status: 'scheduled', publishing: { publishAt: soon.toISOString() } });
    const cancelled = await app.post(`/api/v1/posts/${second.body.postId}/cancel`, { reason: 'no longer needed' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');

    const published = await until(first.body.postId, 'published');
    expect(Date.parse(published.publishedAt)).toBeGreaterThanOrEqual(soon.getTime());
    // Past the cancelled post's original time: still cancelled, nothing published, no job left.
    await new Promise((r) => setTimeout(r, 3_000));
    const stillCancelled = await status(second.body.postId);
    expect(stillCancelled.status).toBe('cancelled');
    expect(stillCancelled.publications).toEqual([]);
    expect(await app.rt.queues.queues.publish.getDelayedCount()).toBe(0);
  });
});

describe('a post scheduled one minute ahead, across a worker restart', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t, { workers: false });
  });
  afterAll(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await app?.stop();
    await t?.cleanup();
  });

  it('is published after that minute and not before', async () => {
    const worker = () => {
      const w = spawnRole(t.env, ['worker'], { LOG_LEVEL: 'warn' });
      workers.push(w);
      return w;
    };
    const first = worker();
    const publishAt = new Date(Date.now() + 60_000);
    const res = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: text('one minute') },
      publish: { publishAt: publishAt.toISOString() },
    });
    expect(res.status).toBe(202);
    const postId = res.body.postId as string;
    const scheduled = await waitFor(
      'scheduled',
      async () => {
        const { body } = await app.get(`/api/v1/posts/${postId}`);
        return body.status === 'scheduled' ? body : null;
      },
      30_000,
    );
    expect(scheduled.hold.details.publishAt).toBe(publishAt.toISOString());

    // Every worker goes away; the delayed job waits in Redis.
    await first.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 2_000));
    worker();

    // Not before: checked every half second until the minute is up.
    while (Date.now() < publishAt.getTime() - 500) {
      const { body } = await app.get(`/api/v1/posts/${postId}`);
      expect(body.status).toBe('scheduled');
      expect(body.publications).toEqual([]);
      await new Promise((r) => setTimeout(r, 500));
    }
    const published = await waitFor(
      'published',
      async () => {
        const { body } = await app.get(`/api/v1/posts/${postId}`);
        return body.status === 'published' ? body : null;
      },
      30_000,
    );
    expect(Date.parse(published.publishedAt)).toBeGreaterThanOrEqual(publishAt.getTime());
    expect(Date.parse(published.publications[0].publishedAt)).toBeGreaterThanOrEqual(publishAt.getTime());
  }, 120_000);
});
