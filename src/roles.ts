import { createServer, type Server } from 'node:http';
import { Queue, Worker } from 'bullmq';
import { stages, type Stage, queueName } from '../queues/stages.ts';
import { workerOptions } from '../queues/options.ts';
import { embed } from '../processors/embed.ts';
import { generate } from '../processors/generate.ts';
import { index } from '../processors/index.ts';
import { ingest } from '../processors/ingest.ts';
import { publish } from '../processors/publish.ts';
import { sweepStranded } from '../processors/sweep-stranded.ts';
import { createApp } from './http/app.ts';
import { registry } from './metrics.ts';
import { createRedis } from './redis.ts';
import type { Runtime } from './runtime.ts';
import { runStage, type StageProcessor } from './stage-runner.ts';

export type Role = { name: string; stop(): Promise<void> };

const processors: Record<Stage, StageProcessor> = { ingest, generate, embed, index, publish };

export async function startApi(rt: Runtime, port = rt.config.PORT): Promise<Role & { server: Server; url: string }> {
  const app = createApp({ config: rt.config, db: rt.db, redis: rt.redis, queues: rt.queues, logger: rt.logger });
  const server = app.listen(port, rt.config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url = rt.config.PUBLIC_API_URL ?? `http://${rt.config.HOST === '0.0.0.0' ? '127.0.0.1' : rt.config.HOST}:${actualPort}`;
  rt.logger.info({ url }, 'API listening');
  return {
    name: 'api',
    server,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** One BullMQ worker per selected stage, each on its own blocking connection. */
export async function startWorkers(rt: Runtime, selected: readonly Stage[] = stages): Promise<Role & { workers: Worker[] }> {
  const workers = selected.map((stage) => {
    const connection = createRedis(rt.config.REDIS_URL, 'worker');
    const worker = new Worker(queueName(stage), runStage(stage, processors[stage], rt), {
      connection,
      prefix: rt.config.QUEUE_PREFIX,
      ...workerOptions(stage, rt.config),
    });
    worker.on('error', (err) => rt.logger.warn({ stage, err: err.message }, 'worker error'));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  rt.logger.info({ stages: selected }, 'workers started');
  return {
    name: 'worker',
    workers,
    async stop() {
      // close() stops taking jobs and waits for the active ones; past the grace period they are
      // abandoned (their locks expire and another worker picks them up as stalled).
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), rt.config.SHUTDOWN_GRACE_MS).unref()),
      ]);
      if (timedOut) {
        rt.logger.warn({ graceMs: rt.config.SHUTDOWN_GRACE_MS }, 'grace period over; leaving in-flight jobs to be retried');
        await Promise.all(workers.map((w) => w.close(true)));
      }
      await Promise.all(workers.map((w) => w.disconnect()));
    },
  };
}

/**
 * Periodic maintenance. A BullMQ job scheduler creates one job per tick however many scheduler
 * processes run, and a worker on the same queue runs it.
 */
export async function startScheduler(rt: Runtime): Promise<Role> {
  const name = 'maintenance';
  const connection = createRedis(rt.config.REDIS_URL, 'worker');
  const queue = new Queue(name, { connection, prefix: rt.config.QUEUE_PREFIX });
  await queue.upsertJobScheduler('sweep-stranded', { every: rt.config.SCHEDULER_TICK_MS }, {
    name: 'sweep-stranded',
    opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  });
  const log = rt.logger.child({ role: 'scheduler' });
  const worker = new Worker(
    name,
    async (job) => {
      if (job.name === 'sweep-stranded') {
        return sweepStranded({ db: rt.db, queues: rt.queues, log, strandedAfterMs: rt.config.STRANDED_AFTER_MS });
      }
      log.warn({ job: job.name }, 'unknown maintenance job');
    },
    { connection: createRedis(rt.config.REDIS_URL, 'worker'), prefix: rt.config.QUEUE_PREFIX, concurrency: 1 },
  );
  worker.on('error', (err) => log.warn({ err: err.message }, 'scheduler worker error'));
  log.info({ everyMs: rt.config.SCHEDULER_TICK_MS }, 'scheduler started');
  return {
    name: 'scheduler',
    async stop() {
      await worker.close();
      await queue.close();
      await worker.disconnect();
      connection.disconnect();
    },
  };
}

/** A /metrics endpoint for processes without the API (a worker on another machine). */
export async function startMetricsServer(rt: Runtime, port: number): Promise<Role> {
  const server: Server = createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.setHeader('Content-Type', registry.contentType);
      res.end(await registry.metrics());
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, rt.config.HOST, resolve));
  return { name: 'metrics', stop: () => new Promise<void>((r) => server.close(() => r())) };
}
