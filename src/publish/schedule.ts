import { now } from '../clock.ts';
import type { Db } from '../db/pool.ts';
import type { PipelineQueues } from '../../queues/registry.ts';

// Scheduled publishing: a delayed job on the publish queue, kept by Redis across restarts. Its id
// names the post, the time and the plan's revision, so retrying the stage adds it once and a
// reschedule (a new revision) adds a new one.

export function scheduledJobId(postId: string, publishAt: Date, revision: number): string {
  return `post-${postId}-publish-at-${publishAt.getTime()}-r${revision}`;
}

export async function addScheduledJob(
  db: Db,
  queues: PipelineQueues,
  post: { id: string; correlationId: string; generation: number },
  publishAt: Date,
  revision: number,
): Promise<string> {
  const jobId = scheduledJobId(post.id, publishAt, revision);
  await queues.queues.publish.add(
    'publish',
    { postId: post.id, correlationId: post.correlationId, generation: post.generation },
    { jobId, delay: Math.max(0, publishAt.getTime() - now()) },
  );
  await db.query(
    `INSERT INTO post_publishing (post_id, scheduled_job_id) VALUES ($1, $2)
     ON CONFLICT (post_id) DO UPDATE SET scheduled_job_id = EXCLUDED.scheduled_job_id, updated_at = now()`,
    [post.id, jobId],
  );
  return jobId;
}

/** Removes a delayed job that is no longer wanted; one already running is left to find the plan changed. */
export async function removeScheduledJob(queues: PipelineQueues, jobId: string | null): Promise<void> {
  if (!jobId) return;
  try {
    await queues.queues.publish.remove(jobId);
  } catch {
    // Locked by a worker right now: the processor re-reads the plan and stops or reschedules.
  }
}
