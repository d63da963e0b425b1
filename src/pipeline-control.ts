import type { Db } from './db/pool.ts';
import { setQueuedStage } from './db/posts.ts';
import type { PipelineQueues } from '../queues/registry.ts';
import { nextStage, stageSchema, type Stage } from '../queues/stages.ts';

export class ResumeError extends Error {}

/**
 * Continues a held post (or replays any post) from a stage, as a new run generation so the new
 * jobs do not collide with the ids of the first run. With no stage given, a held post continues
 * with the stage after the one that held it. `approve` marks the post approved, so the guard that
 * held it lets it pass this time.
 */
export async function resumePost(
  db: Db,
  queues: PipelineQueues,
  postId: string,
  opts: { fromStage?: Stage; approve?: boolean } = {},
): Promise<{ stage: Stage; generation: number }> {
  const { rows } = await db.query<{ held_stage: string | null; correlation_id: string; run_generation: number }>(
    `UPDATE posts p
        SET run_generation = p.run_generation + 1,
            approved_at = CASE WHEN $2 THEN now() ELSE p.approved_at END,
            status = 'queued', held_stage = NULL, held_reason = NULL, held_details = NULL,
            failed_stage = NULL, failure_reason = NULL, updated_at = now()
       FROM (SELECT id, held_stage FROM posts WHERE id = $1 FOR UPDATE) old
      WHERE p.id = old.id
      RETURNING old.held_stage, p.correlation_id, p.run_generation`,
    [postId, opts.approve ?? false],
  );
  const row = rows[0];
  if (!row) throw new ResumeError(`no post ${postId}`);
  const heldStage = row.held_stage ? stageSchema.parse(row.held_stage) : null;
  const stage = opts.fromStage ?? (heldStage ? nextStage(heldStage) : null);
  if (!stage) throw new ResumeError('the post is not held; name the stage to replay from');
  await setQueuedStage(db, postId, stage);
  await queues.enqueue(stage, { postId, correlationId: row.correlation_id, generation: row.run_generation });
  return { stage, generation: row.run_generation };
}
