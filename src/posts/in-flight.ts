import type { Db } from '../db/pool.ts';
import type { Stage } from '../../queues/stages.ts';

// Where a post in flight stands beside its job: a wait recorded on its stage run, the stage a queued post waits for,
// and the posts that should have a live job (the stranded sweep's query).

/**
 * Records that the run was sent back to wait (a rate limit, an open breaker). A wait that follows a wait of the
 * same job and attempt extends that row instead of adding one, so however often a job is put back while it
 * waits, its history shows one row for the wait (from its first start to its last return) and then the run.
 */
export async function recordWait(db: Db, runId: number, reason: string): Promise<void> {
  await db.query(
    `WITH this AS (SELECT id, post_id, stage, job_id, attempt FROM stage_runs WHERE id = $1),
          previous AS (
            SELECT r.id, r.outcome, r.error FROM stage_runs r, this
             WHERE r.post_id = this.post_id AND r.stage = this.stage AND r.job_id IS NOT DISTINCT FROM this.job_id
               AND r.attempt = this.attempt AND r.id < this.id
             ORDER BY r.id DESC LIMIT 1),
          extended AS (
            UPDATE stage_runs SET finished_at = now(), error = $2
             WHERE id = (SELECT id FROM previous WHERE outcome = 'retrying' AND error LIKE $3) RETURNING id),
          dropped AS (DELETE FROM stage_runs WHERE id = $1 AND EXISTS (SELECT 1 FROM extended))
     UPDATE stage_runs SET outcome = 'retrying', error = $2, finished_at = now()
      WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM extended)`,
    [runId, reason, `${WAITING}%`],
  );
}

/** How the reason of a wait starts, in its stage-run row. */
export const WAITING = 'waiting ';

/** The stage a queued post waits for, kept so its job can be made again if Redis lost it (null: ingest). */
export async function setQueuedStage(db: Db, postId: string, stage: Stage): Promise<void> {
  await db.query(`UPDATE posts SET queued_stage = $2 WHERE id = $1 AND status = 'queued'`, [postId, stage]);
}

/** A post that should have a live job in Redis, and what the database knows of where it stands. */
export type InFlightPost = {
  id: string;
  correlationId: string;
  status: string;
  generation: number;
  queuedStage: Stage | null;
  updatedAt: Date;
  /** The post's latest stage run. */
  lastRun: { id: number; stage: Stage; outcome: string } | null;
  /** For a scheduled post: its delayed publish job and when it is due. */
  scheduledJobId: string | null;
  publishAt: Date | null;
};

/**
 * Posts in a status that lives on a job (queued, a stage's status, scheduled), unchanged for
 * `quietMs`, after the keyset cursor `after`: what the stranded sweep checks against Redis. A feed
 * entry's post still waiting out its topic window is left out (its delayed job is its wait).
 */
export async function inFlightPosts(
  db: Db,
  opts: { quietMs: number; after: { updatedAt: Date; id: string } | null; limit: number },
): Promise<InFlightPost[]> {
  const { rows } = await db.query<{
    id: string;
    correlation_id: string;
    status: string;
    run_generation: number;
    queued_stage: Stage | null;
    updated_at: Date;
    run_id: number | null;
    run_stage: Stage | null;
    run_outcome: string | null;
    scheduled_job_id: string | null;
    publish_at: Date | null;
  }>(
    `SELECT p.id, p.correlation_id, p.status, p.run_generation, p.queued_stage, p.updated_at,
            r.id AS run_id, r.stage AS run_stage, r.outcome AS run_outcome,
            pp.scheduled_job_id, COALESCE(pp.publish_at, (p.held_details->>'publishAt')::timestamptz) AS publish_at
       FROM posts p
       LEFT JOIN LATERAL (SELECT id, stage, outcome FROM stage_runs WHERE post_id = p.id ORDER BY id DESC LIMIT 1) r ON
         true
       LEFT JOIN post_publishing pp ON pp.post_id = p.id
      WHERE p.status IN ('queued', 'ingesting', 'generating', 'embedding', 'indexing', 'publishing', 'scheduled')
        AND p.updated_at < now() - make_interval(secs => $1::double precision / 1000)
        AND (p.topic_open_until IS NULL OR p.topic_open_until < now())
        AND ($2::timestamptz IS NULL OR (p.updated_at, p.id) > ($2, $3::uuid))
      ORDER BY p.updated_at, p.id LIMIT $4`,
    [opts.quietMs, opts.after?.updatedAt ?? null, opts.after?.id ?? null, opts.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    correlationId: r.correlation_id,
    status: r.status,
    generation: r.run_generation,
    queuedStage: r.queued_stage,
    updatedAt: r.updated_at,
    lastRun: r.run_id === null ? null : { id: r.run_id, stage: r.run_stage!, outcome: r.run_outcome! },
    scheduledJobId: r.scheduled_job_id,
    publishAt: r.publish_at,
  }));
}
