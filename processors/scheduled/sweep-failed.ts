import type { Db } from '../../src/db/pool.ts';
import type { Logger } from '../../src/logger.ts';
import { resumePost } from '../../src/pipeline-control.ts';
import { countSweepRetry, failedPostsToRetry } from '../../src/posts/store.ts';
import type { PipelineQueues } from '../../queues/registry.ts';
import { stageSchema } from '../../queues/stages.ts';

/**
 * Scheduler job: gives posts that failed on a transient error (their retries ran out while a
 * dependency was down) another run from the stage that failed. Permanent failures are left alone,
 * and each post gets at most `maxRetries` such runs.
 */
export async function sweepFailed(deps: {
  db: Db;
  queues: PipelineQueues;
  log: Logger;
  minAgeMs: number;
  maxRetries: number;
}): Promise<number> {
  const rows = await failedPostsToRetry(deps.db, deps.minAgeMs, deps.maxRetries);
  for (const post of rows) {
    const stage = stageSchema.safeParse(post.failed_stage);
    if (!stage.success) continue;
    await countSweepRetry(deps.db, post.id);
    await resumePost(deps.db, deps.queues, post.id, { fromStage: stage.data });
  }
  if (rows.length > 0) deps.log.info({ posts: rows.length }, 'retrying posts that failed on transient errors');
  return rows.length;
}
