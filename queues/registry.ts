import { Queue } from 'bullmq';
import { closeWithin, type RedisClient } from '../src/redis.ts';
import type { Config } from '../src/config.ts';
import { defaultJobOptions } from './options.ts';
import { queueName, stageJobId, stages, type Stage, type StageJob } from './stages.ts';

// Every queue the service has, made in one place: the five stage queues, static-site rebuilds and the
// scheduler's maintenance queue. Producers, workers and operator views all take their handles from here.

/** Static-site index, feed and sitemap rebuilds, requested by publish and coalesced (src/publish/site-rebuilds.ts). */
export const siteQueueName = 'site';
/** Scheduled jobs: sweeps, backups and feed polls (./maintenance.ts). */
export const maintenanceQueueName = 'maintenance';

export type PipelineQueues = {
  queues: Record<Stage, Queue>;
  /** Requests for static-site rebuilds (not a stage). */
  site: Queue;
  /** The scheduler's queue: its job schedulers and one-off maintenance jobs. */
  maintenance: Queue;
  /** Every queue above, as operators see them (Bull Board, /readyz, queue metrics). */
  all(): Queue[];
  /** Adds the stage job for a post; a job with the same id that already exists is left as it is. */
  enqueue(stage: Stage, data: StageJob): Promise<void>;
  /** The same for many posts in one round trip to Redis; when it fails, some of them may have been added. */
  enqueueMany(stage: Stage, data: readonly StageJob[]): Promise<void>;
  close(): Promise<void>;
};

export function createPipelineQueues(
  config: Config,
  connection: RedisClient,
  onError: (err: Error) => void = () => undefined,
): PipelineQueues {
  const jobOptions = defaultJobOptions(config);
  const queues = Object.fromEntries(
    stages.map((stage) => [
      stage,
      new Queue(queueName(stage), { connection, prefix: config.QUEUE_PREFIX, defaultJobOptions: jobOptions }),
    ]),
  ) as Record<Stage, Queue>;
  const site = new Queue(siteQueueName, { connection, prefix: config.QUEUE_PREFIX });
  const maintenance = new Queue(maintenanceQueueName, { connection, prefix: config.QUEUE_PREFIX });
  const all = [...Object.values(queues), site, maintenance];
  // Connection errors surface through the callers' promises; the event only needs a listener.
  for (const queue of all) queue.on('error', onError);

  return {
    queues,
    site,
    maintenance,
    all: () => all,
    async enqueue(stage, data) {
      await queues[stage].add(stage, data, { jobId: stageJobId(data.postId, stage, data.generation) });
    },
    async enqueueMany(stage, data) {
      if (data.length === 0) return;
      await queues[stage].addBulk(
        data.map((job) => ({ name: stage, data: job, opts: { jobId: stageJobId(job.postId, stage, job.generation) } })),
      );
    },
    async close() {
      await Promise.all(all.map((q) => closeWithin(q, 5_000)));
    },
  };
}
