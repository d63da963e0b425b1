import type { Db } from '../db/pool.ts';
import { resumePost } from '../pipeline-control.ts';
import { type ApprovableStatus, approvableStatuses } from '../posts/lifecycle.ts';
import { claimForApproval, stopByOperator, undoApprovalClaim } from '../posts/status.ts';
import type { PipelineQueues } from '../../queues/registry.ts';
import { pinSlot, replanDestination } from './cadence.ts';
import { resolveTargets } from './destinations.ts';
import { loadPostForPublishing, type PostForPublishing } from './post-data.ts';
import { addScheduledJob, removeScheduledJob } from './schedule.ts';

// What operators do to a post before it is published: approve, reject, reschedule, cancel.

const NOT_RESCHEDULABLE = ['published', 'publishing', 'cancelled', 'rejected', 'failed'];

export class PostActionError extends Error {
  readonly status: 404 | 409;
  constructor(status: 404 | 409, message: string) {
    super(message);
    this.status = status;
  }
}

async function loadOwned(db: Db, tenantId: string, postId: string) {
  const post = await loadPostForPublishing(db, postId, tenantId);
  if (!post) throw new PostActionError(404, `no post ${postId}`);
  return post;
}

/**
 * Approves a held post: it continues with the stage after the one that held it, as a new run.
 * The status is claimed first, so two approvals at once run the post once.
 */
export async function approvePost(db: Db, queues: PipelineQueues, tenantId: string, postId: string) {
  const post = await loadOwned(db, tenantId, postId);
  if (!(await claimForApproval(db, postId)))
    throw new PostActionError(
      409,
      `the post is ${post.status}; only posts that are ${approvableStatuses.join(', ')} can be approved`,
    );
  try {
    return await resumePost(db, queues, postId, { approve: true });
  } catch (err) {
    await undoApprovalClaim(db, postId, post.status as ApprovableStatus);
    throw err;
  }
}

export async function rejectPost(db: Db, queues: PipelineQueues, tenantId: string, postId: string, reason: string) {
  const post = await loadOwned(db, tenantId, postId);
  const allowed = [...approvableStatuses, 'scheduled'];
  const done = await db.tx(async (client) => {
    if (!(await stopByOperator(client, postId, 'rejected', reason))) return false;
    await client.query(
      `INSERT INTO post_publishing (post_id, stopped, stop_reason) VALUES ($1, 'rejected', $2)
       ON CONFLICT (post_id) DO UPDATE SET stopped = 'rejected', stop_reason = $2, updated_at = now()`,
      [postId, reason],
    );
    return true;
  });
  if (!done)
    throw new PostActionError(
      409,
      `the post is ${post.status}; only posts that are ${allowed.join(', ')} can be rejected`,
    );
  await removeScheduledJob(queues, post.scheduledJobId);
}

export async function cancelPost(
  db: Db,
  queues: PipelineQueues,
  tenantId: string,
  postId: string,
  reason: string | undefined,
) {
  const post = await loadOwned(db, tenantId, postId);
  const done = await db.tx(async (client) => {
    if (!(await stopByOperator(client, postId, 'cancelled', reason ?? 'cancelled by an operator'))) return false;
    await client.query(
      `INSERT INTO post_publishing (post_id, stopped, stop_reason) VALUES ($1, 'cancelled', $2)
       ON CONFLICT (post_id) DO UPDATE SET stopped = 'cancelled', stop_reason = $2, updated_at = now()`,
      [postId, reason ?? null],
    );
    return true;
  });
  if (!done) throw new PostActionError(409, `the post is ${post.status}; it can no longer be cancelled`);
  await removeScheduledJob(queues, post.scheduledJobId);
}

/**
 * Sets a new publishAt. A post already waiting on its schedule gets a new delayed job (the old one is
 * removed); a post still on its way through the pipeline is scheduled when it reaches publish.
 */
export async function reschedulePost(
  db: Db,
  queues: PipelineQueues,
  tenantId: string,
  postId: string,
  publishAt: Date,
) {
  const post = await loadOwned(db, tenantId, postId);
  if (NOT_RESCHEDULABLE.includes(post.status) || post.stopped)
    throw new PostActionError(409, `the post is ${post.status}; it can no longer be rescheduled`);
  // An operator's time is kept as asked: a later change of cadence does not move it, and the post
  // keeps its place in its destinations' counts at the new time.
  const revision = await db.tx(async (client) => {
    const { rows } = await client.query<{ revision: number }>(
      `INSERT INTO post_publishing (post_id, publish_at, revision) VALUES ($1, $2, 1)
       ON CONFLICT (post_id) DO UPDATE SET publish_at = $2, revision = post_publishing.revision + 1, planned = false,
         updated_at = now()
       RETURNING revision`,
      [postId, publishAt],
    );
    await pinSlot(client, postId, publishAt);
    return rows[0]!.revision;
  });
  if (post.status === 'scheduled') await moveScheduledJob(db, queues, post, publishAt, revision, null);
}

/** A scheduled post's delayed job at its new time (the old one removed), and its hold saying so. */
async function moveScheduledJob(
  db: Db,
  queues: PipelineQueues,
  post: PostForPublishing,
  publishAt: Date,
  revision: number,
  by: 'cadence' | null,
) {
  const jobId = await addScheduledJob(
    db,
    queues,
    { id: post.id, correlationId: post.correlationId, generation: post.generation },
    publishAt,
    revision,
  );
  await db.query(
    `UPDATE posts SET held_reason = $2, held_details = $3, updated_at = now() WHERE id = $1 AND status = 'scheduled'`,
    [
      post.id,
      `scheduled for ${publishAt.toISOString()}`,
      JSON.stringify({ publishAt: publishAt.toISOString(), jobId, ...(by ? { by } : {}) }),
    ],
  );
  if (post.scheduledJobId !== jobId) await removeScheduledJob(queues, post.scheduledJobId);
}

/**
 * After a destination's cadence changed: the posts it had planned and not yet published get new
 * slots from now, in their old order, and their delayed jobs move with them. Returns how many moved.
 */
export async function replanAfterCadenceChange(
  db: Db,
  queues: PipelineQueues,
  tenantId: string,
  destinationId: string,
): Promise<number> {
  const moved = await replanDestination(db, tenantId, destinationId, async (client, postId) => {
    const scoped = { query: client.query.bind(client) } as unknown as Db;
    const post = await loadPostForPublishing(scoped, postId, tenantId);
    if (!post) return [];
    try {
      return await resolveTargets(scoped, tenantId, post.options.destinations);
    } catch {
      return [];
    }
  });
  for (const m of moved) {
    const post = await loadPostForPublishing(db, m.postId, tenantId);
    if (post?.status === 'scheduled') await moveScheduledJob(db, queues, post, m.publishAt, m.revision, 'cadence');
  }
  return moved.length;
}
