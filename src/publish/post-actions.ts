import type { Db } from '../db/pool.ts';
import { resumePost } from '../pipeline-control.ts';
import type { PipelineQueues } from '../../queues/registry.ts';
import { loadPostForPublishing } from './post-data.ts';
import { addScheduledJob, removeScheduledJob } from './schedule.ts';

// What operators do to a post before it is published: approve, reject, reschedule, cancel.

/** Statuses an operator approves or rejects: held by a guard of some stage (ingest's dedup included). */
export const APPROVABLE = ['awaiting_approval', 'needs_review', 'duplicate_of', 'duplicate', 'skipped'] as const;
const NOT_RESCHEDULABLE = ['published', 'publishing', 'cancelled', 'rejected', 'failed'];
const NOT_CANCELLABLE = ['published', 'publishing', 'cancelled', 'rejected'];

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
  const claimed = await db.query(
    `UPDATE posts SET status = 'queued', updated_at = now() WHERE id = $1 AND status = ANY($2::text[]) AND held_stage IS NOT NULL`,
    [postId, APPROVABLE],
  );
  if (claimed.rowCount !== 1)
    throw new PostActionError(
      409,
      `the post is ${post.status}; only posts that are ${APPROVABLE.join(', ')} can be approved`,
    );
  try {
    return await resumePost(db, queues, postId, { approve: true });
  } catch (err) {
    await db
      .query(`UPDATE posts SET status = $2 WHERE id = $1 AND status = 'queued'`, [postId, post.status])
      .catch(() => undefined);
    throw err;
  }
}

export async function rejectPost(db: Db, queues: PipelineQueues, tenantId: string, postId: string, reason: string) {
  const post = await loadOwned(db, tenantId, postId);
  const allowed = [...APPROVABLE, 'scheduled'];
  const done = await db.tx(async (client) => {
    const updated = await client.query(
      `UPDATE posts SET status = 'rejected', held_stage = NULL, held_reason = $3, held_details = NULL, updated_at = now()
        WHERE id = $1 AND status = ANY($2::text[])`,
      [postId, allowed, reason],
    );
    if (updated.rowCount !== 1) return false;
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
    const updated = await client.query(
      `UPDATE posts SET status = 'cancelled', held_stage = NULL, held_reason = $3, held_details = NULL, updated_at = now()
        WHERE id = $1 AND NOT (status = ANY($2::text[]))`,
      [postId, NOT_CANCELLABLE, reason ?? 'cancelled by an operator'],
    );
    if (updated.rowCount !== 1) return false;
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
  const { rows } = await db.query<{ revision: number }>(
    `INSERT INTO post_publishing (post_id, publish_at, revision) VALUES ($1, $2, 1)
     ON CONFLICT (post_id) DO UPDATE SET publish_at = $2, revision = post_publishing.revision + 1, updated_at = now()
     RETURNING revision`,
    [postId, publishAt],
  );
  if (post.status === 'scheduled') {
    const jobId = await addScheduledJob(
      db,
      queues,
      { id: post.id, correlationId: post.correlationId, generation: post.generation },
      publishAt,
      rows[0]!.revision,
    );
    await db.query(
      `UPDATE posts SET held_reason = $2, held_details = $3, updated_at = now() WHERE id = $1 AND status = 'scheduled'`,
      [
        postId,
        `scheduled for ${publishAt.toISOString()}`,
        JSON.stringify({ publishAt: publishAt.toISOString(), jobId }),
      ],
    );
    await removeScheduledJob(queues, post.scheduledJobId);
  }
}
