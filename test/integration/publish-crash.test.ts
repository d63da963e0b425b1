import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalIdOf } from '../../src/publish/publish-post.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { ensureWordPress, type WordPressSite } from '../support/wordpress.ts';
import { spawnRole, type WorkerProcess } from '../support/worker-process.ts';

describe('a worker SIGKILLed after WordPress answered and before the local commit', () => {
  let wp: WordPressSite;
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    wp = await ensureWordPress();
    t = await createTestEnv();
    app = await startPipeline(t, { workers: false });
  }, 600_000);

  afterAll(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await app?.stop();
    await t?.cleanup();
  });

  function worker(extra: Record<string, string> = {}) {
    // Short locks so the dead worker's job is taken over as stalled within seconds.
    const w = spawnRole(t.env, ['worker'], {
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      LOG_LEVEL: 'warn',
      BP_SECRET_WP_CRASH: wp.password,
      ...extra,
    });
    workers.push(w);
    return w;
  }

  it('leaves exactly one WordPress post after a new worker takes over', async () => {
    const doomed = worker({ BLOG_POSTER_TEST_KILL_AFTER_REMOTE_PUBLISH: 'wordpress' });
    const dest = await app.post('/api/v1/destinations', {
      name: 'crash site',
      kind: 'wordpress',
      config: { url: wp.url, username: wp.user, passwordEnv: 'BP_SECRET_WP_CRASH' },
    });
    expect(dest.status).toBe(201);
    const res = await app.post('/api/v1/submissions', {
      source: {
        type: 'text',
        text:
          `Crash test ${Date.now()}: the worker dies after the remote create. The ` +
          `retry must find the post by its external id and update it.`,
      },
      publish: { destinations: [dest.body.id] },
    });
    expect(res.status).toBe(202);
    const postId = res.body.postId as string;

    const exit = await doomed.exited;
    expect(exit.signal).toBe('SIGKILL');
    const lookup = () =>
      wp.rest<any[]>('GET', '/wp/v2/posts', {
        blog_poster_external_id: externalIdOf({ id: postId }),
        status: 'any',
        _fields: 'id',
      });
    // WordPress has the post; our commit never happened.
    expect((await lookup()).body).toHaveLength(1);
    const pending = await app.rt.db.query(`SELECT status FROM publications WHERE post_id = $1`, [postId]);
    expect(pending.rows[0]!.status).toBe('pending');

    worker();
    // Published, and the stage run closed (which happens just after).
    const post = await waitFor(
      'published after the restart',
      async () => {
        const { body } = await app.get(`/api/v1/posts/${postId}`);
        return body.status === 'published' &&
          body.stages.some(
            (s: { stage: string; outcome: string }) => s.stage === 'publish' && s.outcome === 'completed',
          )
          ? body
          : null;
      },
      60_000,
    );

    const after = (await lookup()).body;
    expect(after).toHaveLength(1);
    expect(post.publications).toEqual([expect.objectContaining({ status: 'published', kind: 'wordpress' })]);
    const { rows } = await app.rt.db.query(`SELECT details FROM publications WHERE post_id = $1`, [postId]);
    expect(rows[0]!.details).toMatchObject({ wordpressId: after[0].id, created: false });
    const publishRuns = post.stages
      .filter((s: { stage: string }) => s.stage === 'publish')
      .map((s: { outcome: string }) => s.outcome);
    expect(publishRuns).toEqual(['abandoned', 'completed']);
  }, 120_000);
});
