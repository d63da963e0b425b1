import type { Server } from 'node:http';
import { Queue, Worker } from 'bullmq';
import { stages, type Stage, queueName } from '../queues/stages.ts';
import { workerOptions } from '../queues/options.ts';
import { embed } from '../processors/embed.ts';
import { generate } from '../processors/generate.ts';
import { index } from '../processors/index.ts';
import { ingest } from '../processors/ingest.ts';
import { publish } from '../processors/publish.ts';
import { sweepFailed } from '../processors/sweep-failed.ts';
import { sweepStranded } from '../processors/sweep-stranded.ts';
import { backupDatabase } from './backup.ts';
import { pollFeed, pollFeedJobName, syncFeedSchedulers } from '../processors/poll-feeds.ts';
import { createApp } from './http/app.ts';
import { startSiteRebuilds } from './publish/site-rebuilds.ts';
import { startNotificationDelivery } from './publish/notifications.ts';
import { createHealthApp } from './http/health.ts';
import { maintenanceQueueName } from './operator-queues.ts';
import { createRedis } from './redis.ts';
import type { Runtime } from './runtime.ts';
import { runStage, type StageProcessor } from './stage-runner.ts';

export type Role = { name: string; stop(): Promise<void> };

const processors: Record<Stage, StageProcessor> = { ingest, generate, embed, index, publish };

export async function startApi(rt: Runtime, port = rt.config.PORT): Promise<Role & { server: Server; url: string }> {
  const app = createApp({
    config: rt.config,
    db: rt.db,
    redis: rt.redis,
    queues: rt.queues,
    logger: rt.logger,
    providers: rt.providers,
  });
  const server = app.listen(port, rt.config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const url =
    rt.config.PUBLIC_API_URL ?? `http://${rt.config.HOST === '0.0.0.0' ? '127.0.0.1' : rt.config.HOST}:${actualPort}`;
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
export async function startWorkers(
  rt: Runtime,
  selected: readonly Stage[] = stages,
): Promise<Role & { workers: Worker[] }> {
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
  // Publish workers also deliver the tenants' signed event callbacks (issue 6).
  const notifications = selected.includes('publish') ? startNotificationDelivery(rt) : null;
  const siteRebuilds = selected.includes('publish') ? startSiteRebuilds(rt) : null;
  rt.logger.info({ stages: selected }, 'workers started');
  return {
    name: 'worker',
    workers,
    async stop() {
      await notifications?.stop();
      await siteRebuilds?.stop();
      // close() stops taking jobs and waits for the active ones; past the grace period they are
      // abandoned (their locks expire and another worker picks them up as stalled).
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), rt.config.SHUTDOWN_GRACE_MS).unref()),
      ]);
      if (timedOut) {
        rt.logger.warn(
          { graceMs: rt.config.SHUTDOWN_GRACE_MS },
          'grace period over; leaving in-flight jobs to be retried',
        );
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
  const name = maintenanceQueueName;
  const connection = createRedis(rt.config.REDIS_URL, 'worker');
  const queue = new Queue(name, { connection, prefix: rt.config.QUEUE_PREFIX });
  queue.on('error', (err) => rt.logger.debug({ err: err.message }, 'maintenance queue connection error'));
  await queue.upsertJobScheduler(
    'sweep-stranded',
    { every: rt.config.SCHEDULER_TICK_MS },
    {
      name: 'sweep-stranded',
      opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    },
  );
  await queue.upsertJobScheduler(
    'sweep-failed',
    { every: rt.config.SWEEP_FAILED_EVERY_MS },
    {
      name: 'sweep-failed',
      opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    },
  );
  if (rt.config.BACKUP_DIR) {
    await queue.upsertJobScheduler(
      'backup',
      { pattern: rt.config.BACKUP_CRON },
      {
        name: 'backup',
        opts: { removeOnComplete: { count: 30 }, removeOnFail: { count: 30 } },
      },
    );
  } else {
    await queue.removeJobScheduler('backup');
  }
  const log = rt.logger.child({ role: 'scheduler' });
  // Each registered feed has its own job scheduler; every scheduler process re-applies them (idempotent).
  await syncFeedSchedulers(rt.db, queue);
  const worker = new Worker(
    name,
    async (job) => {
      if (job.name === 'sweep-stranded') {
        return sweepStranded({ db: rt.db, queues: rt.queues, log, strandedAfterMs: rt.config.STRANDED_AFTER_MS });
      }
      if (job.name === 'sweep-failed') {
        const { SWEEP_FAILED_MIN_AGE_MS: minAgeMs, SWEEP_FAILED_MAX_RETRIES: maxRetries } = rt.config;
        return sweepFailed({ db: rt.db, queues: rt.queues, log, minAgeMs, maxRetries });
      }
      if (job.name === 'backup' && rt.config.BACKUP_DIR) {
        return backupDatabase({
          databaseUrl: rt.config.DATABASE_URL,
          dir: rt.config.BACKUP_DIR,
          keep: rt.config.BACKUP_KEEP,
          log,
        });
      }
      if (job.name === pollFeedJobName) {
        return pollFeed({ db: rt.db, queues: rt.queues, redis: rt.redis, config: rt.config, log }, job);
      }
      log.warn({ job: job.name }, 'unknown maintenance job');
    },
    // Feed polls wait on the network, so a few run at once (a tick is still polled once: see poll-feeds.ts).
    { connection: createRedis(rt.config.REDIS_URL, 'worker'), prefix: rt.config.QUEUE_PREFIX, concurrency: 4 },
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

/** /metrics, /healthz and /readyz on their own port, for processes without the API (a worker on another machine). */
export async function startMetricsServer(rt: Runtime, port: number): Promise<Role & { server: Server }> {
  const server: Server = createHealthApp(rt).listen(port, rt.config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return {
    name: 'metrics',
    server,
    stop: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections(); // a scraper's kept-alive connection must not hold the stop up
      }),
  };
}
