import type { Db } from '../../src/db/pool.ts';
import type { Logger } from '../../src/logger.ts';
import type { PipelineQueues } from '../../queues/registry.ts';

/**
 * Scheduler job: finds posts that were accepted but whose ingest job never reached Redis (the API
 * died between its commit and its enqueue) and enqueues them. Adding is keyed by the deterministic
 * job id, so a post whose job is in fact waiting is not enqueued twice.
 */
export async function sweepStranded(deps: {
  db: Db;
  queues: PipelineQueues;
  log: Logger;
  strandedAfterMs: number;
}): Promise<number> {
  const { rows } = await deps.db.query<{ id: string; correlation_id: string }>(
    `SELECT id, correlation_id FROM posts
      WHERE status = 'queued' AND run_generation = 0 AND created_at < now() - make_interval(secs => $1::double precision / 1000)
        AND NOT EXISTS (SELECT 1 FROM stage_runs r WHERE r.post_id = posts.id)
        -- A feed entry's post waiting out its topic window has its (delayed) job already.
        AND (topic_open_until IS NULL OR topic_open_until < now())
      ORDER BY created_at LIMIT 500`,
    [deps.strandedAfterMs],
  );
  for (const post of rows) await deps.queues.enqueue('ingest', { postId: post.id, correlationId: post.correlation_id });
  if (rows.length > 0) deps.log.info({ posts: rows.length }, 're-enqueued stranded posts');
  return rows.length;
}
