import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdPost } from '../support/hold.ts';
import { resumePost, ResumeError } from '../../src/pipeline-control.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

describe('holding and resuming a post', () => {
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

  async function publishedPost() {
    const res = await app.post('/api/v1/submissions', {
      source: {
        type: 'text',
        text: 'Held posts wait for an operator. Approval lets them continue where they stopped.',
      },
    });
    return waitFor('published', async () => {
      const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
      return body.status === 'published' ? body : null;
    });
  }

  it('replays a published post from a chosen stage as a new run, publishing it once', async () => {
    const post = await publishedPost();
    const { stage, generation } = await resumePost(app.rt.db, app.rt.queues, post.id, { fromStage: 'generate' });
    expect({ stage, generation }).toEqual({ stage: 'generate', generation: 1 });
    const replayed = await waitFor('replayed', async () => {
      const { body } = await app.get(`/api/v1/posts/${post.id}`);
      const done = body.stages.every((s: { outcome: string }) => s.outcome === 'completed');
      return body.status === 'published' && body.stages.length === 9 && done ? body : null;
    });
    expect(replayed.stages.map((s: { stage: string }) => s.stage).slice(5)).toEqual([
      'generate',
      'embed',
      'index',
      'publish',
    ]);
    expect(replayed.publications).toHaveLength(1);
    expect(replayed.slug).toBe(post.slug);
  });

  it('continues a held post with the stage after the one that held it', async () => {
    const post = await publishedPost();
    await holdPost(app.rt.db, post.id, {
      status: 'needs_review',
      stage: 'generate',
      reason: 'test hold',
      details: { sentences: [] },
    });
    expect((await app.get(`/api/v1/posts/${post.id}`)).body.status).toBe('needs_review');
    const resumed = await resumePost(app.rt.db, app.rt.queues, post.id, { approve: true });
    expect(resumed.stage).toBe('embed');
    await waitFor('published again', async () => {
      const { body } = await app.get(`/api/v1/posts/${post.id}`);
      return (
        body.status === 'published' &&
        body.stages.length === 8 &&
        body.stages.every((s: { outcome: string }) => s.outcome === 'completed')
      );
    });
    const approved = await app.rt.db.query('SELECT approved_at, status FROM posts WHERE id = $1', [post.id]);
    expect(approved.rows[0]).toMatchObject({ status: 'published', approved_at: expect.any(Date) });
  });

  it('refuses to resume a post that is not held without a stage', async () => {
    const post = await publishedPost();
    await expect(resumePost(app.rt.db, app.rt.queues, post.id)).rejects.toBeInstanceOf(ResumeError);
  });
});
