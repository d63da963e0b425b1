import type { JobsOptions, WorkerOptions } from 'bullmq';
import type { Config } from '../src/config.ts';
import type { Stage } from './stages.ts';

// Queue and worker tuning, kept apart from the processors so it can change without touching them.

export function defaultJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.STAGE_ATTEMPTS,
    // Exponential backoff with jitter so a recovering dependency is not hit by every retry at once.
    backoff: { type: 'exponential', delay: config.STAGE_BACKOFF_MS, jitter: 0.5 },
    // Completed jobs are kept for a day so the deterministic job id still deduplicates late retries, at most
    // 10,000 a queue: a finished job is about 1.4 KiB in Redis (ids only), so five stage queues keep at most ~70 MiB.
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    // Failed jobs stay for operators to inspect for two weeks, at most 10,000 a queue, so that an outage that fails
    // every job cannot fill Redis (which runs with noeviction). The post's row keeps its failure either way, and
    // replays and the failed-post sweep work from PostgreSQL, not from these jobs.
    removeOnFail: { age: 14 * 24 * 3600, count: 10_000 },
  };
}

type StageWorkerOptions = Pick<
  WorkerOptions,
  'concurrency' | 'lockDuration' | 'maxStalledCount' | 'stalledInterval' | 'limiter'
>;

/** Per-stage worker options; concurrency scales from WORKER_CONCURRENCY. */
export function workerOptions(stage: Stage, config: Config): StageWorkerOptions {
  const base = config.WORKER_CONCURRENCY;
  const byStage: Record<Stage, StageWorkerOptions> = {
    // Fetching is I/O-bound: more in flight.
    ingest: { concurrency: base * 2, lockDuration: 60_000 },
    // LLM calls are slow; a longer lock keeps a long generation from being taken for stalled.
    // With a model, twice as many posts as model calls: a process makes at most `base` calls at once
    // (src/llm/concurrency.ts, createLocalSlots), and the other posts do their database work meanwhile instead of
    // leaving a slot idle. The offline writer waits on nothing, so more posts at once would only add memory.
    // The limiter never bites on its own (a million jobs a second); it is there because BullMQ only honours a
    // manual rate limit (a provider's 429, an open breaker: Queue.rateLimit) on workers that have one.
    generate: {
      concurrency: config.LLM_PROVIDER === 'local' ? base : base * 2,
      lockDuration: 120_000,
      limiter: { max: 1_000_000, duration: 1000 },
    },
    embed: { concurrency: base, lockDuration: 60_000 },
    index: { concurrency: base, lockDuration: 30_000 },
    publish: { concurrency: base, lockDuration: 60_000 },
  };
  // A job whose worker died is retried by another worker (stalled check) rather than failed.
  const options: StageWorkerOptions = {
    maxStalledCount: 2,
    stalledInterval: config.STALLED_INTERVAL_MS,
    ...byStage[stage],
  };
  if (config.LOCK_DURATION_MS) options.lockDuration = config.LOCK_DURATION_MS;
  return options;
}
