import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import { defaultJobOptions } from '../queues/options.ts';
import { queueName, siteQueueName, stageJobId, stages, type Stage, type StageJob } from '../queues/stages.ts';

export type PipelineQueues = {
  queues: Record<Stage, Queue>;
  /** Requests for static-site rebuilds (not a stage: see src/publish/site-rebuilds.ts). */
  site: Queue;
  /** Adds the stage job for a post; a job with the same id that already exists is left as it is. */
  enqueue(stage: Stage, data: StageJob): Promise<void>;
  close(): Promise<void>;
};

export function createPipelineQueues(
  config: Config,
  connection: Redis,
  onError: (err: Error) => void = () => undefined,
): PipelineQueues {
  const jobOptions = defaultJobOptions(config);
  const queues = Object.fromEntries(
    stages.map((stage) => [
      stage,
      new Queue(queueName(stage), { connection, prefix: config.QUEUE_PREFIX, defaultJobOptions: jobOptions }),
    ]),
  ) as Record<Stage, Queue>;
  // Connection errors surface through the callers' promises; the event only needs a listener.
  const site = new Queue(siteQueueName, { connection, prefix: config.QUEUE_PREFIX });
  for (const queue of [...Object.values(queues), site]) queue.on('error', onError);

  return {
    queues,
    site,
    async enqueue(stage, data) {
      await queues[stage].add(stage, data, { jobId: stageJobId(data.postId, stage, data.generation) });
    },
    async close() {
      await Promise.all([...Object.values(queues), site].map((q) => q.close()));
    },
  };
}
