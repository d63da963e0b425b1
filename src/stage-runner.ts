import { hostname } from 'node:os';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Config } from './config.ts';
import type { Db } from './db/pool.ts';
import { finishStageRun, markPostFailed, postExists, startStageRun } from './db/posts.ts';
import { errorMessage, PermanentError } from './errors.ts';
import type { Logger } from './logger.ts';
import { stageProcessingSeconds, stageRunsTotal, stageWaitSeconds } from './metrics.ts';
import type { PipelineQueues } from './pipeline-queues.ts';
import type { Providers } from './providers/index.ts';
import { nextStage, stageJobSchema, stageStatus, type Stage, type StageJob } from '../queues/stages.ts';

/** What a processor may use. It loads its own state from the database by the ids in the job. */
export type StageContext = {
  db: Db;
  config: Config;
  providers: Providers;
  log: Logger;
};

/** `handOff: false` stops the post here (it is held, or this was the last stage). */
export type StageResult = { handOff: boolean } | void;

export type StageProcessor = (job: StageJob, ctx: StageContext) => Promise<StageResult>;

type RunnerDeps = Omit<StageContext, 'log'> & { queues: PipelineQueues; logger: Logger };

const workerName = `${hostname()}:${process.pid}`;

/**
 * Wraps a plain processor with everything every stage needs: payload validation, the stage-run
 * record, metrics, handing the post on to the next stage, and telling permanent errors (fail now,
 * reason on the post) from transient ones (BullMQ retries with backoff).
 */
export function runStage(stage: Stage, processor: StageProcessor, deps: RunnerDeps) {
  return async function processStageJob(job: Job): Promise<void> {
    const parsed = stageJobSchema.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error({ stage, jobId: job.id, issues: parsed.error.issues }, 'invalid job payload');
      throw new UnrecoverableError(`invalid ${stage} payload: ${parsed.error.issues.map((i) => i.path.join('.') || i.message).join(', ')}`);
    }
    const data = parsed.data;
    const attempt = Math.max(1, job.attemptsStarted);
    const log = deps.logger.child({ stage, postId: data.postId, correlationId: data.correlationId, jobId: job.id, attempt });

    const queuedAt = job.timestamp + (job.delay ?? 0);
    stageWaitSeconds.observe({ stage }, Math.max(0, (job.processedOn ?? Date.now()) - queuedAt) / 1000);

    if (!(await postExists(deps.db, data.postId))) {
      throw new UnrecoverableError(`post ${data.postId} does not exist`);
    }
    const runId = await startStageRun(deps.db, {
      postId: data.postId,
      stage,
      attempt,
      jobId: job.id,
      worker: workerName,
      status: stageStatus[stage],
    });
    const endTimer = stageProcessingSeconds.startTimer({ stage });
    log.debug('stage started');

    try {
      const result = await processor(data, { db: deps.db, config: deps.config, providers: deps.providers, log });
      const next = nextStage(stage);
      if (next && (result?.handOff ?? true)) await deps.queues.enqueue(next, data);
      await finishStageRun(deps.db, runId, 'completed');
      endTimer({ outcome: 'completed' });
      stageRunsTotal.inc({ stage, outcome: 'completed' });
      log.info({ next }, 'stage completed');
    } catch (err) {
      const reason = errorMessage(err);
      const permanent = err instanceof PermanentError || err instanceof UnrecoverableError;
      const outOfAttempts = attempt >= (job.opts.attempts ?? 1);
      const outcome = permanent || outOfAttempts ? 'failed' : 'retrying';
      endTimer({ outcome });
      stageRunsTotal.inc({ stage, outcome });
      // Recording must not hide the original error: if PostgreSQL is what failed, BullMQ still retries.
      try {
        await finishStageRun(deps.db, runId, outcome, reason);
        if (outcome === 'failed') await markPostFailed(deps.db, data.postId, stage, reason);
      } catch (recordErr) {
        log.error({ err: errorMessage(recordErr) }, 'could not record the stage failure');
      }
      log[outcome === 'failed' ? 'error' : 'warn']({ err: reason, permanent }, `stage ${outcome}`);
      if (permanent && !(err instanceof UnrecoverableError)) throw new UnrecoverableError(reason);
      throw err;
    }
  };
}
