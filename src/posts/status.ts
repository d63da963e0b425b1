import type { Db, Queryable } from '../db/pool.ts';
import { submissionToPublishedSeconds } from '../metrics.ts';
import { stageStatus, type Stage } from '../../queues/stages.ts';
import {
  type ApprovableStatus,
  assertReachable,
  type HoldStatus,
  IllegalTransitionError,
  leavesUnchanged,
  pastStage,
  type PostEvent,
  type PostStatus,
  sourcesOf,
  type StageOutcome,
} from './lifecycle.ts';

// The only code that writes posts.status. Each write is one statement that moves the post only from a status the
// transition table allows for the event (src/posts/lifecycle.ts), and reads the status it found in the same
// statement: a status the event may not move from throws IllegalTransitionError.

/** How a stage run ended. */
export type RunOutcome = 'completed' | 'retrying' | 'failed';

type Move = {
  event: PostEvent;
  to: PostStatus;
  /** Further `column = value` assignments, with `$n` placeholders numbered from `firstParam`. */
  set?: (firstParam: number) => { sql: string; params: unknown[] };
  /** A further condition on the post (not its status), e.g. that it was held by a stage. */
  where?: string;
  /** Statements run before the move in the same statement, as `name AS (...)` CTEs using $1 (the post id). */
  also?: { sql: string; params: unknown[] };
  /**
   * The status the caller left the post in (a stage run's working status). The post moves only from it: when someone
   * else moved it meanwhile (an editor cancelled it), it is left as they left it, and that is no error.
   */
  expect?: PostStatus;
};

/**
 * Moves the post, in one statement. True when it moved; false when the post is missing, the event leaves its status
 * as it is, or `where` did not hold. Throws IllegalTransitionError when its status may not move so.
 */
async function move(db: Queryable, postId: string, m: Move): Promise<{ moved: boolean; createdAt: Date | null }> {
  assertReachable(m.event, m.to);
  const params: unknown[] = [postId, m.to, sourcesOf(m.event, m.to)];
  const also = m.also ? shift(m.also.sql, m.also.params, params) : '';
  const set = m.set ? m.set(params.length + 1) : null;
  if (set) params.push(...set.params);
  const expect = m.expect ? ` AND status = $${params.push(m.expect)}` : '';
  const { rows } = await db.query<{ was: string; created_at: Date | null }>(
    `WITH ${also}old AS (SELECT status FROM posts WHERE id = $1 FOR UPDATE),
          moved AS (
            UPDATE posts SET status = $2, ${set ? `${set.sql}, ` : ''}updated_at = now()
             WHERE id = $1 AND status = ANY($3::text[])${expect}${m.where ? ` AND ${m.where}` : ''}
             RETURNING created_at)
     SELECT old.status AS was, (SELECT created_at FROM moved) AS created_at FROM old`,
    params,
  );
  const row = rows[0];
  if (!row) return { moved: false, createdAt: null };
  if (row.created_at) return { moved: true, createdAt: row.created_at };
  const was = row.was as PostStatus;
  if (m.expect && was !== m.expect) return { moved: false, createdAt: null };
  if (leavesUnchanged(m.event, m.to, was) || sourcesOf(m.event, m.to).includes(was))
    return { moved: false, createdAt: null };
  throw new IllegalTransitionError(m.event, was, m.to);
}

/** A CTE of `also`, its parameters appended to `all` (see renumber). */
function shift(sql: string, params: unknown[], all: unknown[]): string {
  return `${renumber(sql, params, all)}, `;
}

const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

// ---------------------------------------------------------------- the stage runner's moves

/**
 * What a stage reads of its post, read in the statement that opens its stage run: a SELECT of at most one row, with
 * $1 the post id and its own parameters numbered from $2, and what to make of the row. Its owner module defines it
 * beside its other queries. It sees the post as it was before the run opened (the status the run found).
 */
export type PostRead<T> = { sql: string; params?: unknown[]; map: (row: Record<string, unknown>) => T };

/** The run a stage opened: its id, and the status it will move the post from. */
export type OpenRun = { runId: number; postId: string; stage: Stage };

/**
 * Opens a stage run and reads the post for the stage, in one statement: runs of the same stage still marked running
 * belong to a process that died and are closed as abandoned; the post shows the stage's status. When the post is in
 * a status the stage may not start from (lifecycle.ts, startableFrom), the job is superseded: no run opens, the post
 * stays as it is, and a run of the stage left running by a dead process is closed as completed when the post went on
 * past the stage (its hand-off went through), else as abandoned. Null when the post does not exist.
 */
export async function openStageRun<T>(
  db: Queryable,
  run: { postId: string; stage: Stage; attempt: number; jobId: string | undefined; worker: string },
  read: PostRead<T> | null,
): Promise<{ run: OpenRun; post: T | null } | { superseded: PostStatus } | null> {
  const status = stageStatus[run.stage];
  assertReachable('start', status);
  const params: unknown[] = [
    run.postId,
    run.stage,
    run.attempt,
    run.jobId ?? null,
    run.worker,
    status,
    sourcesOf('start', status),
    pastStage(run.stage),
  ];
  const readSql = read ? renumber(read.sql, read.params ?? [], params) : 'SELECT';
  const { rows } = await db.query<Record<string, unknown> & { stage_run_id: number | null; found_status: string }>(
    `WITH post AS (SELECT id, status, status = ANY($7::text[]) AS startable FROM posts WHERE id = $1),
          closed AS (
            UPDATE stage_runs
               SET finished_at = now(),
                   outcome = CASE WHEN (SELECT status = ANY($8::text[]) AND NOT startable FROM post)
                                  THEN 'completed' ELSE 'abandoned' END,
                   error = CASE WHEN (SELECT status = ANY($8::text[]) AND NOT startable FROM post)
                                THEN NULL ELSE 'worker stopped during the run' END
             WHERE post_id = $1 AND stage = $2 AND outcome = 'running'),
          shown AS (UPDATE posts SET status = $6, updated_at = now()
                     WHERE id = $1 AND status = ANY($7::text[]) AND (SELECT startable FROM post)),
          run AS (INSERT INTO stage_runs (post_id, stage, attempt, job_id, worker)
                  SELECT id, $2, $3, $4, $5 FROM post WHERE startable RETURNING id)
     SELECT (SELECT id FROM run) AS stage_run_id, post.status AS found_status, state.*
       FROM post LEFT JOIN LATERAL (${readSql}) state ON true`,
    params,
  );
  const row = rows[0];
  if (!row) return null;
  const { stage_run_id: runId, found_status: found, ...state } = row;
  if (runId === null) return { superseded: found as PostStatus };
  return { run: { runId, postId: run.postId, stage: run.stage }, post: read ? read.map(state) : null };
}

/** Opens a stage run without reading anything for the stage (see openStageRun). Null when the post does not exist. */
export async function startStageRun(
  db: Db,
  run: { postId: string; stage: Stage; attempt: number; jobId: string | undefined; worker: string },
): Promise<OpenRun | null> {
  const opened = await openStageRun(db, run, null);
  return opened && 'run' in opened ? opened.run : null;
}

/** Appends `params` to `all`, renumbering `$n` in `sql` to follow the ones already there ($1 stays the post id). */
function renumber(sql: string, params: unknown[], all: unknown[]): string {
  const base = all.length;
  all.push(...params);
  return sql.replace(/\$(\d+)/g, (_m, n: string) => (n === '1' ? '$1' : `$${Number(n) - 1 + base}`));
}

const closeRun = (runId: number, outcome: RunOutcome, error: string | null, permanent: boolean) => ({
  sql: `run AS (UPDATE stage_runs SET outcome = $2, error = $3, permanent = $4, finished_at = now() WHERE id = $5)`,
  params: [outcome, error, permanent, runId],
});

/**
 * Closes a completed stage run and applies what its processor asked for, in one statement: a hold or a stop moves
 * the post; handing on and waiting leave its status (the next stage's start, or the wait's job, moves it on), and a
 * hand-on's last write (StageWrite) is made in the same statement. The post moves only from the stage's own status:
 * one an editor gave it meanwhile (cancelled) stays.
 */
export async function completeStageRun(db: Db, run: OpenRun, outcome: StageOutcome): Promise<{ moved: boolean }> {
  const { postId, runId } = run;
  const expect = stageStatus[run.stage];
  const also = closeRun(runId, 'completed', null, false);
  if (outcome.kind === 'handOn' && outcome.write) {
    const params: unknown[] = [postId];
    const write = shift(outcome.write.sql, outcome.write.params, params);
    // $1 is typed here, for a write that does not use the post id.
    await db.query(`WITH ${write}${renumber(also.sql, also.params, params)} SELECT $1::uuid`, params);
    return { moved: false };
  }
  if (outcome.kind === 'handOn' || outcome.kind === 'wait') {
    await finishStageRun(db, run, 'completed');
    return { moved: false };
  }
  if (outcome.kind === 'hold') {
    return move(db, postId, {
      event: 'hold',
      to: outcome.status,
      also,
      expect,
      set: (n) => ({
        sql: `held_stage = $${n}, held_reason = $${n + 1}, held_details = $${n + 2}`,
        params: [outcome.heldStage, outcome.reason, json(outcome.details)],
      }),
    });
  }
  if (outcome.status === 'published') {
    // The post turns published in the same statement that completes this run, so nobody reads a published post
    // whose last stage still looks in flight.
    const done = await move(db, postId, {
      event: 'stop',
      to: 'published',
      also,
      expect,
      set: () => ({
        sql: `published_at = COALESCE(published_at, now()), failed_stage = NULL, failure_reason = NULL,
              held_stage = NULL, held_reason = NULL, held_details = NULL`,
        params: [],
      }),
    });
    if (done.createdAt) submissionToPublishedSeconds.observe((Date.now() - done.createdAt.getTime()) / 1000);
    return done;
  }
  const { reason, heldStage, details, duplicateOf } = outcome;
  return move(db, postId, {
    event: 'stop',
    to: outcome.status,
    also,
    expect,
    set:
      reason === undefined && duplicateOf === undefined
        ? undefined
        : (n) => {
            const sql: string[] = [];
            const params: unknown[] = [];
            if (reason !== undefined) {
              sql.push(`held_stage = $${n}, held_reason = $${n + 1}, held_details = $${n + 2}`);
              params.push(heldStage ?? null, reason, json(details));
            }
            if (duplicateOf !== undefined) {
              sql.push(`duplicate_of_post = $${n + params.length}`);
              params.push(duplicateOf);
            }
            return { sql: sql.join(', '), params };
          },
  });
}

/**
 * Closes a stage run that did not complete; a `failed` one fails the post with it, from the stage's own status only:
 * a published post stays published, and one an editor stopped meanwhile (cancelled, rejected) stays stopped.
 */
export async function finishStageRun(
  db: Db,
  run: OpenRun,
  outcome: RunOutcome,
  failure?: { reason: string; permanent: boolean },
): Promise<void> {
  if (outcome === 'failed' && failure) {
    await move(db, run.postId, {
      event: 'fail',
      to: 'failed',
      also: closeRun(run.runId, outcome, failure.reason, failure.permanent),
      expect: stageStatus[run.stage],
      set: (n) => ({
        sql: `failed_stage = $${n}, failure_reason = $${n + 1}`,
        params: [run.stage, failure.reason.slice(0, 2000)],
      }),
    });
    return;
  }
  await db.query(`UPDATE stage_runs SET outcome = $2, error = $3, permanent = $4, finished_at = now() WHERE id = $1`, [
    run.runId,
    outcome,
    failure?.reason ?? null,
    failure?.permanent ?? false,
  ]);
}

// ---------------------------------------------------------------- operators' moves

/** Claims a held post for approval (so two approvals at once run it once). False when it is not held by a stage. */
export async function claimForApproval(db: Db, postId: string): Promise<boolean> {
  try {
    return (await move(db, postId, { event: 'approve', to: 'queued', where: 'held_stage IS NOT NULL' })).moved;
  } catch (err) {
    if (err instanceof IllegalTransitionError) return false;
    throw err;
  }
}

/** Puts a claimed post back in the hold it was approved from, when resuming it failed. */
export async function undoApprovalClaim(db: Db, postId: string, status: ApprovableStatus): Promise<void> {
  await move(db, postId, { event: 'unapprove', to: status }).catch(() => undefined);
}

/** Rejects or cancels a post (in the caller's transaction); false when its status does not allow it. */
export async function stopByOperator(
  client: Queryable,
  postId: string,
  status: 'rejected' | 'cancelled',
  reason: string,
): Promise<boolean> {
  try {
    const done = await move(client, postId, {
      event: status === 'rejected' ? 'reject' : 'cancel',
      to: status,
      set: (n) => ({ sql: `held_stage = NULL, held_reason = $${n}, held_details = NULL`, params: [reason] }),
    });
    return done.moved;
  } catch (err) {
    if (err instanceof IllegalTransitionError) return false;
    throw err;
  }
}

/**
 * Queues a post for a new run (its generation bumped), clearing its hold and failure; `approve` marks it approved.
 * Returns the stage that held it, or null when the post does not exist.
 */
export async function queueNewRun(
  db: Db,
  postId: string,
  approve: boolean,
): Promise<{ heldStage: string | null; correlationId: string; generation: number } | null> {
  assertReachable('resume', 'queued');
  const { rows } = await db.query<{ held_stage: string | null; correlation_id: string; run_generation: number }>(
    `UPDATE posts p
        SET run_generation = p.run_generation + 1,
            approved_at = CASE WHEN $2 THEN now() ELSE p.approved_at END,
            status = 'queued', held_stage = NULL, held_reason = NULL, held_details = NULL,
            failed_stage = NULL, failure_reason = NULL, updated_at = now()
       FROM (SELECT id, held_stage FROM posts WHERE id = $1 FOR UPDATE) old
      WHERE p.id = old.id AND p.status = ANY($3::text[])
      RETURNING old.held_stage, p.correlation_id, p.run_generation`,
    [postId, approve, sourcesOf('resume', 'queued')],
  );
  const row = rows[0];
  return row ? { heldStage: row.held_stage, correlationId: row.correlation_id, generation: row.run_generation } : null;
}

export type { HoldStatus };
