import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import type { PipelineQueues } from './pipeline-queues.ts';

// Every queue operators watch: the five stage queues, static-site rebuilds and the scheduler's maintenance queue.

export const maintenanceQueueName = 'maintenance';

const made = new WeakMap<PipelineQueues, Queue[]>();

/** The watched queues for one process; the maintenance queue handle is made once and shares `redis`. */
export function operatorQueues(config: Config, redis: Redis, pipeline: PipelineQueues): Queue[] {
  let queues = made.get(pipeline);
  if (!queues) {
    queues = [
      ...Object.values(pipeline.queues),
      pipeline.site,
      new Queue(maintenanceQueueName, { connection: redis, prefix: config.QUEUE_PREFIX }),
    ];
    made.set(pipeline, queues);
  }
  return queues;
}
