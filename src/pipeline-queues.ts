import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import { defaultJobOptions } from '../queues/options.ts';
import { queueName, stageJobId, stages, type Stage, type StageJob } from '../queues/stages.ts';

export type PipelineQueues = {
  queues: Record<Stage, Queue>;
  /** Adds the stage job for a post; a job with the same id that already exists is left as it is. */
  enqueue(stage: Stage, data: StageJob): Promise<void>;
  close(): Promise<void>;
};

export function createPipelineQueues(config: Config, connection: Redis): PipelineQueues {
  const jobOptions = defaultJobOptions(config);
  const queues = Object.fromEntries(
    stages.map((stage) => [
      stage,
      new Queue(queueName(stage), { connection, prefix: config.QUEUE_PREFIX, defaultJobOptions: jobOptions }),
    ]),
  ) as Record<Stage, Queue>;

  return {
    queues,
    async enqueue(stage, data) {
      await queues[stage].add(stage, data, { jobId: stageJobId(data.postId, stage, data.generation) });
    },
    async close() {
      await Promise.all(Object.values(queues).map((q) => q.close()));
    },
  };
}
