import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stages } from '../../queues/stages.ts';
import type { CrashPoint } from '../../src/faults.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { spawnRole, type WorkerProcess } from '../support/worker-process.ts';
import { tallyPosts } from '../support/fault-report.ts';

const points: CrashPoint[] = ['started', 'processed', 'handed-off'];
// Short locks: a killed worker's job is taken over within about a second.
const fastRecovery = { LOCK_DURATION_MS: '1000', STALLED_INTERVAL_MS: '500', LOG_LEVEL: 'silent' };

describe('a worker SIGKILLed at every point of every stage', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  const running: WorkerProcess[] = [];
  const postIds: string[] = [];

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t, { workers: false });
  });
  afterAll(async () => {
    await Promise.all(running.map((w) => w.stop('SIGKILL')));
    await app?.stop();
    await t?.cleanup();
  });

  for (const stage of stages) {
    for (const point of points) {
      it(`${stage}:${point} — the post is published exactly once after a new worker starts`, async () => {
        const crashing = spawnRole(t.env, ['worker'], { ...fastRecovery, BLOG_POSTER_CRASH_AT: `${stage}:${point}` });
        running.push(crashing);
        const res = await app.post('/api/v1/submissions', {
          source: {
            type: 'text',
            title: `Crash at ${stage} ${point}`,
            text:
              `A post that survives a crash at ${stage} (${point}). Work that was accepted ` +
              `is never lost and never done twice.`,
          },
        });
        expect(res.status).toBe(202);
        postIds.push(res.body.postId);
        const death = await crashing.exited;
        expect(death.signal).toBe('SIGKILL');

        const recovery = spawnRole(t.env, ['worker'], fastRecovery);
        running.push(recovery);
        const post = await waitFor(
          `the post after a crash at ${stage}:${point}`,
          async () => {
            const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
            // Published, and the crashed run taken over: nothing left running.
            const settled = body.stages.every((r: { outcome: string }) => r.outcome !== 'running');
            return body.status === 'published' && settled ? body : null;
          },
          30_000,
        );
        // The killed worker's job itself is taken over and finished, not just the post's state.
        await waitFor(
          'the queues to drain',
          async () => {
            const counts = await Promise.all(
              stages.map((s) => app.rt.queues.queues[s].getJobCounts('active', 'waiting', 'delayed')),
            );
            return counts.every((c) => (c.active ?? 0) + (c.waiting ?? 0) + (c.delayed ?? 0) === 0);
          },
          30_000,
        );
        expect((await recovery.stop()).code).toBe(0);

        const runs = post.stages as { stage: string; outcome: string }[];
        expect(post.publications).toHaveLength(1);
        // Every stage completed, the crashed one possibly twice (it is idempotent), later ones once.
        for (const s of stages) {
          const completed = runs.filter((r) => r.stage === s && r.outcome === 'completed').length;
          expect(completed, `${s} completed runs`).toBeGreaterThanOrEqual(1);
          if (stages.indexOf(s) > stages.indexOf(stage)) expect(completed, `${s} completed runs`).toBe(1);
        }
        expect(runs.filter((r) => r.outcome === 'running')).toHaveLength(0);
        const files = readdirSync(join(t.outputDir, readdirSync(t.outputDir)[0]!)).filter(
          (f) => f.startsWith(post.slug) && f.endsWith('.html'),
        );
        expect(files).toEqual([`${post.slug}.html`]);
      }, 60_000);
    }
  }

  it('left no failed jobs and one publication per post', async () => {
    for (const stage of stages) expect(await app.rt.queues.queues[stage].getFailedCount()).toBe(0);
    const { rows } = await app.rt.db.query(
      `SELECT count(*)::int AS posts, (SELECT count(*)::int FROM publications) AS publications FROM posts`,
    );
    expect(rows[0]).toEqual({ posts: 15, publications: 15 });
    const report = await tallyPosts(app.rt.db, 'worker SIGKILLed mid-stage (5 stages × 3 points)', postIds);
    expect(report).toMatchObject({ accepted: 15, published: 15, lost: 0, duplicated: 0 });
  });
});
