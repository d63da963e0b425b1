import { hostname } from 'node:os';
import { RateLimitError, UnrecoverableError, type Job } from 'bullmq';
import type { RedisClient } from './redis.ts';
import type { Config } from './config.ts';
import type { Db } from './db/pool.ts';
import { recordWait, WAITING } from './posts/in-flight.ts';
import { errorMessage, isPermanent } from './errors.ts';
import { captureStageFailure } from './error-tracking.ts';
import { crashPoint } from './faults.ts';
import type { Logger } from './logger.ts';
import { withCorrelationId } from './correlation.ts';
import { inCountScope } from './cost-counter.ts';
import {
  stageJobsCompletedTotal,
  stageJobsFailedTotal,
  stageJobsRetriedTotal,
  stageProcessingSeconds,
  stageWaitSeconds,
} from './metrics.ts';
import type { PipelineQueues } from '../queues/registry.ts';
import type { StageOutcome } from './posts/lifecycle.ts';
import { completeStageRun, finishStageRun, type OpenRun, openStageRun, type PostRead } from './posts/status.ts';
import type { Providers } from './providers.ts';
import { nextStage, stageJobSchema, type Stage, type StageJob, waitJobId } from '../queues/stages.ts';

/** What a processor may use. It loads its post by the ids in the job, with `load`. */
export type StageContext = {
  /**
   * Reads the post for this stage (a read its owner module defines), in the statement that opens the stage run: the
   * processor's first read of the post. Later calls only read.
   */
  load<T>(read: PostRead<T>): Promise<T>;
  db: Db;
  config: Config;
  providers: Providers;
  log: Logger;
  /** For processors that create posts of their own (ingest fanning a feed out into entries). */
  queues?: PipelineQueues;
  /** Shared state across workers (robots.txt cache, per-host fetch limits). */
  redis?: RedisClient;
  /**
   * Puts this job back to wait `ms` without spending an attempt, pausing the whole stage queue for as long
   * (BullMQ's manual rate limit): a provider's 429, a shared rate limit, an open breaker. Throw what it returns.
   */
  pauseStage?: (ms: number, reason: string) => Promise<Error>;
};

/** A stage's work on one post; what it returns (src/posts/lifecycle.ts) is applied by the runner. */
export type StageProcessor = (job: StageJob, ctx: StageContext) => Promise<StageOutcome>;

type RunnerDeps = Omit<StageContext, 'log' | 'pauseStage' | 'load'> & { queues: PipelineQueues; logger: Logger };

const workerName = `${hostname()}:${process.pid}`;

/** A stage job found its post in a status the stage does not start from (src/posts/lifecycle.ts, startableFrom). */
class SupersededStart extends Error {
  readonly status: string;
  constructor(status: string) {
    super(`the post is ${status}: this stage job is superseded`);
    this.status = status;
  }
}

/**
 * Wraps a plain processor with everything every stage needs: payload validation, the stage-run
 * record, metrics, handing the post on to the next stage, and telling permanent errors (fail now,
 * reason on the post) from transient ones (BullMQ retries with backoff).
 */
export function runStage(stage: Stage, processor: StageProcessor, deps: RunnerDeps) {
  const processStageJob = async (job: Job): Promise<void> => {
    const parsed = stageJobSchema.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error({ stage, jobId: job.id, issues: parsed.error.issues }, 'invalid job payload');
      throw new UnrecoverableError(
        `invalid ${stage} payload: ${parsed.error.issues.map((i) => i.path.join('.') || i.message).join(', ')}`,
      );
    }
    const data = parsed.data;
    // Failures so far, plus this one: a job sent back to wait (a rate limit, a breaker) starts again without failing.
    const attempt = job.attemptsMade + 1;
    // correlationId comes from the logger's mixin (see withCorrelationId below), on every line.
    const log = deps.logger.child({ stage, postId: data.postId, jobId: job.id, attempt });

    const queuedAt = job.timestamp + (job.delay ?? 0);
    stageWaitSeconds.observe({ stage }, Math.max(0, (job.processedOn ?? Date.now()) - queuedAt) / 1000);

    // The run opens in the statement of the processor's first read of the post (or, when it reads none, before it
    // closes); a post that does not exist ends the job without one.
    const opening = { postId: data.postId, stage, attempt, jobId: job.id, worker: workerName };
    let run: OpenRun | null = null;
    const missing = () => new UnrecoverableError(`post ${data.postId} does not exist`);
    const load = async <T>(read: PostRead<T>): Promise<T> => {
      if (run) {
        const { rows } = await deps.db.query(read.sql, [data.postId, ...(read.params ?? [])]);
        if (!rows[0]) throw missing();
        return read.map(rows[0]);
      }
      const opened = await openStageRun(deps.db, opening, read);
      if (!opened) throw missing();
      if ('superseded' in opened) throw new SupersededStart(opened.superseded);
      run = opened.run;
      log.debug('stage started');
      return opened.post as T;
    };
    const openRun = async (): Promise<OpenRun> => {
      if (!run) {
        const opened = await openStageRun(deps.db, opening, null);
        if (opened && 'superseded' in opened) throw new SupersededStart(opened.superseded);
        run = opened?.run ?? null;
      }
      if (!run) throw missing();
      return run;
    };
    const endTimer = stageProcessingSeconds.startTimer({ stage });

    try {
      crashPoint(stage, 'started');
      const pauseStage = async (ms: number, why: string): Promise<Error> => {
        await deps.queues.queues[stage].rateLimit(Math.max(1, Math.ceil(ms)));
        return new RateLimitError(`${WAITING}${Math.ceil(ms)} ms: ${why}`);
      };
      const outcome = await inCountScope(stage, () =>
        processor(data, {
          load,
          db: deps.db,
          config: deps.config,
          providers: deps.providers,
          log,
          queues: deps.queues,
          ...(deps.redis ? { redis: deps.redis } : {}),
          pauseStage,
        }),
      );
      crashPoint(stage, 'processed');
      const next = outcome.kind === 'handOn' ? nextStage(stage) : null;
      // A stage's last write commits with its run's close before the next stage, which reads it, is enqueued. Dying
      // in between leaves a completed run on a post still showing this stage: the job's retry runs it again, or the
      // stranded sweep enqueues the next stage.
      const carriesWrite = outcome.kind === 'handOn' && outcome.write !== undefined;
      if (carriesWrite) await completeStageRun(deps.db, await openRun(), outcome);
      if (next) await deps.queues.enqueue(next, data);
      if (outcome.kind === 'wait') {
        // A new job id each time: this run completes, and the stage runs again when the wait is over.
        const generation = data.generation ?? 0;
        await deps.queues.queues[stage].add(
          stage,
          { postId: data.postId, correlationId: data.correlationId, generation },
          {
            jobId: waitJobId(data.postId, stage, generation, (await openRun()).runId),
            delay: Math.max(0, outcome.until.getTime() - Date.now()),
          },
        );
      }
      crashPoint(stage, 'handed-off');
      if (!carriesWrite) await completeStageRun(deps.db, await openRun(), outcome);
      endTimer({ outcome: 'completed' });
      stageJobsCompletedTotal.inc({ stage });
      log.info({ next, outcome: outcome.kind }, 'stage completed');
    } catch (err) {
      if (err instanceof SupersededStart) {
        // The post went on without this job: nothing to do, nothing to hand on, and no failure.
        endTimer({ outcome: 'superseded' });
        log.info({ status: err.status }, 'stage job superseded: the post has moved on');
        return;
      }
      const reason = errorMessage(err);
      // A post that does not exist has no run to record.
      if (!run && err instanceof UnrecoverableError && reason === missing().message) throw err;
      if (err instanceof RateLimitError) {
        // Not a failure: BullMQ puts the job back to wait and no attempt is spent.
        endTimer({ outcome: 'deferred' });
        await openRun()
          .then((r) => recordWait(deps.db, r.runId, reason))
          .catch(() => undefined);
        log.info({ reason }, 'stage paused');
        throw Object.assign(new RateLimitError(), { cause: reason });
      }
      const permanent = isPermanent(err);
      // attemptsMade (failures so far), not attemptsStarted: a job sent back by a rate limit started without failing.
      const outOfAttempts = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const outcome = permanent || outOfAttempts ? 'failed' : 'retrying';
      endTimer({ outcome });
      (outcome === 'failed' ? stageJobsFailedTotal : stageJobsRetriedTotal).inc({ stage });
      // Recording must not hide the original error: if PostgreSQL is what failed, BullMQ still retries.
      try {
        await finishStageRun(deps.db, await openRun(), outcome, { reason, permanent });
      } catch (recordErr) {
        log.error({ err: errorMessage(recordErr) }, 'could not record the stage failure');
      }
      log[outcome === 'failed' ? 'error' : 'warn']({ err: reason, permanent }, `stage ${outcome}`);
      if (outcome === 'failed')
        captureStageFailure(deps.config, err, {
          stage,
          postId: data.postId,
          correlationId: data.correlationId,
          jobId: job.id,
          attempt,
          permanent,
        });
      if (permanent && !(err instanceof UnrecoverableError)) throw new UnrecoverableError(reason);
      throw err;
    }
  };
  // Everything the job does (log lines from any logger, outbound calls through correlationHeaders())
  // carries the correlation id of the submission, which is the X-Request-Id it arrived with.
  // The benchmark counts the runner's own statements apart from the processor's (./cost-counter.ts).
  return function runWithCorrelation(job: Job): Promise<void> {
    const correlationId = (job.data as { correlationId?: unknown } | undefined)?.correlationId;
    return inCountScope(`${stage}:runner`, () =>
      typeof correlationId === 'string' && correlationId
        ? withCorrelationId(correlationId, () => processStageJob(job))
        : processStageJob(job),
    );
  };
}
