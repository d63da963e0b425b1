import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handOn, hold, IllegalTransitionError, postStatuses, stop } from '../../src/posts/lifecycle.ts';
import {
  completeStageRun,
  finishStageRun,
  type OpenRun,
  startStageRun,
  stopByOperator,
} from '../../src/posts/status.ts';
import { createTestEnv, startPipeline, type TestEnv } from '../support/harness.ts';

// The lifecycle's writer against PostgreSQL: each move is one statement with the stage run's close, and a move the
// table does not allow throws and changes nothing.
describe('the post lifecycle in the database', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t, { workers: false });
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  async function queuedPost(): Promise<string> {
    const res = await app.post('/api/v1/submissions', { source: { type: 'text', text: 'A post for the lifecycle.' } });
    expect(res.status).toBe(202);
    return res.body.postId as string;
  }
  const row = async (id: string) =>
    (
      await app.rt.db.query<{ status: string; held_stage: string | null; held_reason: string | null }>(
        'SELECT status, held_stage, held_reason FROM posts WHERE id = $1',
        [id],
      )
    ).rows[0]!;
  const run = async ({ runId }: OpenRun) =>
    (await app.rt.db.query<{ outcome: string }>('SELECT outcome FROM stage_runs WHERE id = $1', [runId])).rows[0]!;
  const start = async (postId: string, stage: 'generate' | 'publish') =>
    (await startStageRun(app.rt.db, { postId, stage, attempt: 1, jobId: 'test', worker: 'test' }))!;

  it('knows exactly the statuses of the post_statuses table', async () => {
    const { rows } = await app.rt.db.query<{ status: string }>('SELECT status FROM post_statuses');
    expect(rows.map((r) => r.status).sort()).toEqual([...postStatuses].sort());
  });

  it('holds a post in the statement that completes its stage run', async () => {
    const id = await queuedPost();
    const runId = await start(id, 'generate');
    expect((await row(id)).status).toBe('generating');
    await completeStageRun(app.rt.db, runId, hold('needs_review', 'generate', 'two findings'));
    expect(await row(id)).toEqual({ status: 'needs_review', held_stage: 'generate', held_reason: 'two findings' });
    expect((await run(runId)).outcome).toBe('completed');
  });

  it("makes a handing-on stage's last write in the statement that closes its run, or neither", async () => {
    const id = await queuedPost();
    const title = (runId: number) => ({
      sql: 'titled AS (UPDATE posts SET title = $2 WHERE id = $1)',
      params: [`written by run ${runId}`],
    });
    const failing = await start(id, 'generate');
    // A write that fails (a text where a number goes) closes nothing.
    await expect(
      completeStageRun(
        app.rt.db,
        failing,
        handOn({ sql: 'broken AS (UPDATE posts SET word_count = $2 WHERE id = $1)', params: ['x'] }),
      ),
    ).rejects.toThrow();
    expect((await run(failing)).outcome).toBe('running');

    const runId = await start(id, 'generate');
    await completeStageRun(app.rt.db, runId, handOn(title(runId.runId)));
    expect((await run(runId)).outcome).toBe('completed');
    const saved = await app.rt.db.query<{ title: string; status: string }>(
      'SELECT title, status FROM posts WHERE id = $1',
      [id],
    );
    // Handing on leaves the status to the next stage's start.
    expect(saved.rows[0]).toEqual({ title: `written by run ${runId.runId}`, status: 'generating' });
  });

  it('refuses a move the table does not allow, leaving the status as it was', async () => {
    const id = await queuedPost();
    const runId = await start(id, 'generate');
    // Publication follows publishing only.
    await expect(completeStageRun(app.rt.db, runId, stop('published'))).rejects.toThrow(IllegalTransitionError);
    expect((await row(id)).status).toBe('generating');
    // An operator cannot reject a post a stage is working on.
    expect(await stopByOperator(app.rt.db, id, 'rejected', 'no')).toBe(false);
    expect((await row(id)).status).toBe('generating');
  });

  it('publishes from publishing, and leaves a published post published on a late start or failure', async () => {
    const id = await queuedPost();
    const runId = await start(id, 'publish');
    await completeStageRun(app.rt.db, runId, stop('published'));
    expect((await row(id)).status).toBe('published');
    // A late job of an earlier stage opens no run.
    expect(await startStageRun(app.rt.db, { postId: id, stage: 'generate', attempt: 1, jobId: 't', worker: 't' })).toBe(
      null,
    );
    expect((await row(id)).status).toBe('published');
    // A run that was open when another published the post fails without unpublishing it.
    const other = await queuedPost();
    const slow = await start(other, 'generate');
    await completeStageRun(app.rt.db, await start(other, 'publish'), stop('published'));
    await finishStageRun(app.rt.db, slow, 'failed', { reason: 'late', permanent: true });
    expect((await row(other)).status).toBe('published');
    expect((await run(slow)).outcome).toBe('failed');
  });

  it('supersedes a stage job that starts after its post went on: no run, no move, the dead run closed', async () => {
    const again = (postId: string) =>
      startStageRun(app.rt.db, { postId, stage: 'generate', attempt: 1, jobId: 'again', worker: 'test' });
    // Its worker died after handing the post on; the next stages took it to publishing; the job runs again.
    const moved = await queuedPost();
    const died = await start(moved, 'generate');
    await start(moved, 'publish');
    expect(await again(moved)).toBe(null);
    expect((await row(moved)).status).toBe('publishing');
    // The hand-off went through, so the dead run did its work.
    expect((await run(died)).outcome).toBe('completed');
    // A late job of a cancelled post: the cancel stands; a run its dead worker left is abandoned.
    const cancelled = await queuedPost();
    const dead = await start(cancelled, 'generate');
    expect(await stopByOperator(app.rt.db, cancelled, 'cancelled', 'not needed')).toBe(true);
    expect(await again(cancelled)).toBe(null);
    expect((await row(cancelled)).status).toBe('cancelled');
    expect((await run(dead)).outcome).toBe('abandoned');
    // A held post stays held.
    const held = await queuedPost();
    await completeStageRun(app.rt.db, await start(held, 'generate'), hold('needs_review', 'generate', 'a finding'));
    expect(await again(held)).toBe(null);
    expect((await row(held)).status).toBe('needs_review');
    // Its own status (a retry) and an earlier one (a hand-off) still start it.
    const retried = await queuedPost();
    await start(retried, 'generate');
    expect(await again(retried)).not.toBe(null);
    expect((await row(retried)).status).toBe('generating');
  });

  it("never overwrites an editor's cancel or reject with a stage's failure, hold or stop that ends after it", async () => {
    // A stage still working when an editor cancels: its run closes as it ended, the post stays cancelled.
    const failing = await queuedPost();
    const failed = await start(failing, 'generate');
    expect(await stopByOperator(app.rt.db, failing, 'cancelled', 'not wanted')).toBe(true);
    await finishStageRun(app.rt.db, failed, 'failed', { reason: 'the model went away', permanent: true });
    expect((await row(failing)).status).toBe('cancelled');
    expect((await run(failed)).outcome).toBe('failed');

    const holding = await queuedPost();
    const held = await start(holding, 'generate');
    expect(await stopByOperator(app.rt.db, holding, 'cancelled', 'not wanted')).toBe(true);
    await completeStageRun(app.rt.db, held, hold('needs_review', 'generate', 'one finding'));
    expect(await row(holding)).toEqual({ status: 'cancelled', held_stage: null, held_reason: 'not wanted' });
    expect((await run(held)).outcome).toBe('completed');

    const stopping = await queuedPost();
    const stopped = await start(stopping, 'generate');
    expect(await stopByOperator(app.rt.db, stopping, 'cancelled', 'not wanted')).toBe(true);
    await completeStageRun(app.rt.db, stopped, stop('budget_exceeded', { reason: 'over budget' }));
    expect((await row(stopping)).status).toBe('cancelled');

    // A rejected post (held for review, rejected, then a late retry of its stage fails) stays rejected.
    const rejecting = await queuedPost();
    const review = await start(rejecting, 'generate');
    await completeStageRun(app.rt.db, review, hold('needs_review', 'generate', 'one finding'));
    expect(await stopByOperator(app.rt.db, rejecting, 'rejected', 'off topic')).toBe(true);
    await finishStageRun(app.rt.db, review, 'failed', { reason: 'late failure', permanent: true });
    expect((await row(rejecting)).status).toBe('rejected');
  });
});
