import type { Db } from '../../src/db/pool.ts';
import type { Logger } from '../../src/logger.ts';
import { resumePost } from '../../src/pipeline-control.ts';
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
  const { rows } = await deps.db.query<{ id: string; failed_stage: string }>(
    `SELECT p.id, p.failed_stage FROM posts p
      WHERE p.status = 'failed' AND p.sweep_retries < $2
        AND p.updated_at < now() - make_interval(secs => $1::double precision / 1000)
        AND NOT (SELECT r.permanent FROM stage_runs r WHERE r.post_id = p.id ORDER BY r.id DESC LIMIT 1)
      ORDER BY p.updated_at LIMIT 200`,
    [deps.minAgeMs, deps.maxRetries],
  );
  for (const post of rows) {
    const stage = stageSchema.safeParse(post.failed_stage);
    if (!stage.success) continue;
    await deps.db.query('UPDATE posts SET sweep_retries = sweep_retries + 1 WHERE id = $1', [post.id]);
    await resumePost(deps.db, deps.queues, post.id, { fromStage: stage.data });
  }
  if (rows.length > 0) deps.log.info({ posts: rows.length }, 'retrying posts that failed on transient errors');
  return rows.length;
}
