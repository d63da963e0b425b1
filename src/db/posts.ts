import type { Db } from './pool.ts';
import type { Stage } from '../../queues/stages.ts';

// Reads and writes of post state and stage history that the stage runner and the API share.

export type StageOutcome = 'completed' | 'retrying' | 'failed';

/**
 * Opens a stage run, in one statement: runs of the same stage still marked running belong to a
 * process that died and are closed as abandoned; the post shows the stage's status (a post that
 * reached publication keeps it: this run is a late duplicate). Null when the post does not exist.
 */
export async function startStageRun(
  db: Db,
  run: { postId: string; stage: Stage; attempt: number; jobId: string | undefined; worker: string; status: string },
): Promise<number | null> {
  const { rows } = await db.query<{ id: number }>(
    `WITH post AS (SELECT id FROM posts WHERE id = $1),
          abandoned AS (
            UPDATE stage_runs SET outcome = 'abandoned', finished_at = now(), error = 'worker stopped during the run'
             WHERE post_id = $1 AND stage = $2 AND outcome = 'running'),
          shown AS (UPDATE posts SET status = $6, updated_at = now() WHERE id = $1 AND status <> 'published')
     INSERT INTO stage_runs (post_id, stage, attempt, job_id, worker)
     SELECT id, $2, $3, $4, $5 FROM post RETURNING id`,
    [run.postId, run.stage, run.attempt, run.jobId ?? null, run.worker, run.status],
  );
  return rows[0]?.id ?? null;
}

export async function finishStageRun(
  db: Db,
  runId: number,
  outcome: StageOutcome,
  error?: string,
  permanent = false,
): Promise<void> {
  await db.query(`UPDATE stage_runs SET outcome = $2, error = $3, permanent = $4, finished_at = now() WHERE id = $1`, [
    runId,
    outcome,
    error ?? null,
    permanent,
  ]);
}

export async function markPostFailed(db: Db, postId: string, stage: Stage, reason: string): Promise<void> {
  await db.query(
    `UPDATE posts SET status = 'failed', failed_stage = $2, failure_reason = $3, updated_at = now()
      WHERE id = $1 AND status <> 'published'`,
    [postId, stage, reason.slice(0, 2000)],
  );
}

export type HoldStatus = 'needs_review' | 'duplicate_of' | 'awaiting_approval' | 'scheduled';

/**
 * Stops a post after `stage` without failing it: it waits for an operator (or a schedule) and is
 * continued later by resumePost(). The processor returns `{ handOff: false }` after calling this.
 */
export async function holdPost(
  db: Db,
  postId: string,
  hold: { status: HoldStatus; stage: Stage; reason: string; details?: unknown },
): Promise<void> {
  await db.query(
    `UPDATE posts SET status = $2, held_stage = $3, held_reason = $4, held_details = $5, updated_at = now() WHERE id = $1`,
    [postId, hold.status, hold.stage, hold.reason, hold.details === undefined ? null : JSON.stringify(hold.details)],
  );
}
