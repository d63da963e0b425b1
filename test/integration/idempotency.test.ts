import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

describe('Idempotency-Key', () => {
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

  it('turns 20 concurrent requests with one key into one submission and one pipeline run', async () => {
    const body = {
      source: {
        type: 'text',
        title: 'Once only',
        text: 'Idempotent requests are answered once. A retried request gets the first answer back.',
      },
    };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => app.post('/api/v1/submissions', body, { 'idempotency-key': 'order-42' })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);

    const postId = results[0]!.body.postId;
    await waitFor(
      'the post to be published',
      async () => (await app.get(`/api/v1/posts/${postId}`)).body.status === 'published',
    );
    // Let any duplicate job that slipped through run, then count.
    await new Promise((r) => setTimeout(r, 500));
    const counts = await app.rt.db.query(
      `SELECT (SELECT count(*)::int FROM submissions) AS submissions, (SELECT count(*)::int FROM posts) AS posts,
              (SELECT count(*)::int FROM stage_runs) AS runs, (SELECT count(*)::int FROM publications) AS publications`,
    );
    expect(counts.rows[0]).toEqual({ submissions: 1, posts: 1, runs: 5, publications: 1 });
  });

  it('refuses the same key with a different body', async () => {
    const first = await app.post(
      '/api/v1/submissions',
      { source: { type: 'text', text: 'First body.' } },
      { 'idempotency-key': 'k-2' },
    );
    expect(first.status).toBe(202);
    const second = await app.post(
      '/api/v1/submissions',
      { source: { type: 'text', text: 'Another body.' } },
      { 'idempotency-key': 'k-2' },
    );
    expect(second.status).toBe(422);
    expect(second.body.errors[0].field).toBe('Idempotency-Key');
  });
});
