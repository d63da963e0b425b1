import { inFlightPosts, type InFlightPost } from '../../src/posts/in-flight.ts';
import { requestMissedSiteRebuilds } from '../../src/publish/site-rebuilds.ts';
import type { Db } from '../../src/db/pool.ts';
import type { Logger } from '../../src/logger.ts';
import type { PipelineQueues } from '../../queues/registry.ts';
import { nextStage, stageJobId, stageStatus, type Stage, waitJobId } from '../../queues/stages.ts';

// Scheduler job: the database is the state, Redis only the signal. A post in a status that lives on a job
// (queued, a stage's status, scheduled) whose job is gone (the API died between its commit and its
// enqueue; Redis restarted empty or failed over and lost recent writes) is found and its job made again,
// at the stage where the post stands. Job ids are deterministic, so a sweep that runs twice, or races the
// pipeline, adds nothing twice. Static-site rebuilds whose request was lost the same way are asked for again.

const LIVE = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
const PAGE = 500;
/** At most this many posts are checked per sweep; the next sweep goes on from the oldest again. */
const MAX_PER_SWEEP = 5_000;
const stageOfStatus = new Map<string, Stage>(
  Object.entries(stageStatus).map(([stage, status]): [string, Stage] => [status, stage as Stage]),
);

/** The job a post should have, as the database tells it. */
type Expected = { stage: Stage; jobId: string; delayMs: number };

function expectedJob(post: InFlightPost): Expected | null {
  const job = (stage: Stage, jobId = stageJobId(post.id, stage, post.generation), delayMs = 0) => ({
    stage,
    jobId,
    delayMs,
  });
  if (post.status === 'queued') return job(post.queuedStage ?? 'ingest');
  if (post.status === 'scheduled') {
    if (!post.scheduledJobId || !post.publishAt) return null;
    return job('publish', post.scheduledJobId, Math.max(0, post.publishAt.getTime() - Date.now()));
  }
  const stage = stageOfStatus.get(post.status);
  if (!stage) return null;
  const run = post.lastRun;
  if (run?.stage === stage && run.outcome === 'completed') {
    // The stage finished: its successor's job (or, for publish, the job waiting out a destination's breaker).
    if (stage === 'publish') return job('publish', waitJobId(post.id, 'publish', post.generation, run.id));
    const next = nextStage(stage);
    return next ? job(next) : null;
  }
  return job(stage);
}

export async function sweepStranded(deps: {
  db: Db;
  queues: PipelineQueues;
  log: Logger;
  strandedAfterMs: number;
}): Promise<number> {
  let requeued = 0;
  let checked = 0;
  let after: { updatedAt: Date; id: string } | null = null;
  while (checked < MAX_PER_SWEEP) {
    const posts = await inFlightPosts(deps.db, { quietMs: deps.strandedAfterMs, after, limit: PAGE });
    for (const post of posts) {
      const expected = expectedJob(post);
      if (expected && (await restore(deps.queues, post, expected))) {
        requeued++;
        deps.log.warn({ postId: post.id, status: post.status, stage: expected.stage }, 're-enqueued a stranded post');
      }
    }
    checked += posts.length;
    if (posts.length < PAGE) break;
    const last: InFlightPost = posts.at(-1)!;
    after = { updatedAt: last.updatedAt, id: last.id };
  }
  if (requeued > 0) deps.log.info({ posts: requeued, checked }, 're-enqueued stranded posts');
  // Static-site rebuilds are signals in Redis too; the publications they were for say which were lost.
  const sites = await requestMissedSiteRebuilds(deps.db, deps.queues.site, deps.strandedAfterMs);
  if (sites > 0) deps.log.warn({ sites }, 'asked again for static-site rebuilds that were lost');
  return requeued;
}

/** Adds the expected job unless it is alive; a finished job of that id (kept for a day) is removed first. */
async function restore(queues: PipelineQueues, post: InFlightPost, expected: Expected): Promise<boolean> {
  const queue = queues.queues[expected.stage];
  const state = await queue.getJobState(expected.jobId);
  if (LIVE.has(state)) return false;
  if (state !== 'unknown') await queue.remove(expected.jobId);
  await queue.add(
    expected.stage,
    {
      postId: post.id,
      correlationId: post.correlationId,
      ...(post.generation > 0 ? { generation: post.generation } : {}),
    },
    { jobId: expected.jobId, ...(expected.delayMs > 0 ? { delay: expected.delayMs } : {}) },
  );
  return true;
}
