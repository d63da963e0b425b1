import type { Db } from './db/pool.ts';
import { setQueuedStage } from './posts/in-flight.ts';
import { queueNewRun } from './posts/status.ts';
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
  const row = await queueNewRun(db, postId, opts.approve ?? false);
  if (!row) throw new ResumeError(`no post ${postId}`);
  const heldStage = row.heldStage ? stageSchema.parse(row.heldStage) : null;
  const stage = opts.fromStage ?? (heldStage ? nextStage(heldStage) : null);
  if (!stage) throw new ResumeError('the post is not held; name the stage to replay from');
  await setQueuedStage(db, postId, stage);
  await queues.enqueue(stage, { postId, correlationId: row.correlationId, generation: row.generation });
  return { stage, generation: row.generation };
}
