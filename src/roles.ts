import type { Server } from 'node:http';
import { type Job, Queue, Worker } from 'bullmq';
import {
  ensureSchedulers,
  maintenanceJobNames,
  type MaintenanceJobName,
  syncFeedSchedulers,
  upsertMaintenanceSchedulers,
} from '../queues/maintenance.ts';
import { workerOptions } from '../queues/options.ts';
import { maintenanceQueueName } from '../queues/registry.ts';
import { queueName, type Stage, stages } from '../queues/stages.ts';
import { listFeedSchedules } from './ingest/feed-store.ts';
import type { Logger } from './logger.ts';
import { closeWithin, createRedis } from './redis.ts';
import { supervisedWorker } from './worker-watchdog.ts';
import type { Runtime } from './runtime.ts';
import { runStage, type StageProcessor } from './stage-runner.ts';

export type Role = { name: string; stop(): Promise<void> };

/** A scheduled job's handler: the maintenance job and what it may use. */
export type MaintenanceProcessor = (job: Job, ctx: { rt: Runtime; log: Logger }) => Promise<unknown>;

/** What the workers run: one processor per stage and one handler per maintenance job (processors/registry.ts). */
export type Pipeline = {
  stages: Record<Stage, StageProcessor>;
  maintenance: Record<MaintenanceJobName, MaintenanceProcessor>;
};

// Each role loads only its own modules: a worker never loads the HTTP API (Express, Bull Board, the console), an
// API process never loads the stage processors or what they parse and call.

export async function startApi(rt: Runtime, port = rt.config.PORT): Promise<Role & { server: Server; url: string }> {
  const { createApp } = await import('./http/app.ts');
  const app = createApp({
    config: rt.config,
    db: rt.db,
    redis: rt.redis,
    reads: rt.reads,
    queues: rt.queues,
    logger: rt.logger,
    providers: rt.providers,
  });
  const server = app.listen(port, rt.config.HOST);
  // Idle keep-alive connections are closed by clients (undici 4 s, browsers, proxies 60 s) before the
  // server closes them: a client reusing one just as the server closes it gets ECONNRESET.
  server.keepAliveTimeout = 65_000;
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
  processors: Pipeline['stages'],
  selected: readonly Stage[] = stages,
): Promise<Role & { workers: Worker[] }> {
  // On a Redis Cluster each worker is watched for a wait that a failover left hanging (./worker-watchdog.ts).
  const supervised = selected.map((stage) =>
    supervisedWorker(
      () => {
        const worker = new Worker(queueName(stage), runStage(stage, processors[stage], rt), {
          connection: createRedis(rt.config, 'worker'),
          prefix: rt.config.QUEUE_PREFIX,
          ...workerOptions(stage, rt.config),
        });
        worker.on('error', (err) => rt.logger.warn({ stage, err: err.message }, 'worker error'));
        return worker;
      },
      { enabled: Boolean(rt.config.REDIS_CLUSTER_NODES), log: rt.logger },
    ),
  );
  const current = () => supervised.map((s) => s.current());
  await Promise.all(current().map((w) => w.waitUntilReady()));
  // Publish workers also deliver the tenants' signed event callbacks.
  const publishing = selected.includes('publish');
  const notifications = publishing ? (await import('./publish/notifications.ts')).startNotificationDelivery(rt) : null;
  const siteRebuilds = publishing ? (await import('./publish/site-rebuilds.ts')).startSiteRebuilds(rt) : null;
  rt.logger.info({ stages: selected }, 'workers started');
  return {
    name: 'worker',
    get workers() {
      return current();
    },
    async stop() {
      for (const s of supervised) s.stop();
      const workers = current();
      await notifications?.stop();
      await siteRebuilds?.stop();
      // close() stops taking jobs and waits for the active ones; past the grace period they are
      // abandoned (their locks expire and another worker picks them up as stalled).
      // A close that outlasts the grace period has its connections cut (see closeWithin).
      const closed = await Promise.all(workers.map((w) => closeWithin(w, rt.config.SHUTDOWN_GRACE_MS)));
      if (closed.includes(false)) {
        rt.logger.warn(
          { graceMs: rt.config.SHUTDOWN_GRACE_MS },
          'grace period over; leaving in-flight jobs to be retried',
        );
      } else {
        await Promise.all(workers.map((w) => w.disconnect()));
      }
    },
  };
}

/**
 * Periodic maintenance. A BullMQ job scheduler creates one job per tick however many scheduler
 * processes run, and a worker on the same queue runs it.
 */
export async function startScheduler(rt: Runtime, jobs: Pipeline['maintenance']): Promise<Role & { worker: Worker }> {
  // Its own blocking-tolerant connection: a scheduler started while Redis is away waits for it.
  const connection = createRedis(rt.config, 'worker');
  const queue = new Queue(maintenanceQueueName, { connection, prefix: rt.config.QUEUE_PREFIX });
  queue.on('error', (err) => rt.logger.debug({ err: err.message }, 'maintenance queue connection error'));
  await upsertMaintenanceSchedulers(queue, rt.config);
  const log = rt.logger.child({ role: 'scheduler' });
  // Each registered feed has its own job scheduler; every scheduler process re-applies them (idempotent).
  await syncFeedSchedulers(queue, await listFeedSchedules(rt.db));
  const known = new Set<string>(maintenanceJobNames);
  const supervised = supervisedWorker(
    () => {
      const worker = new Worker(
        maintenanceQueueName,
        async (job) => {
          if (!known.has(job.name)) return log.warn({ job: job.name }, 'unknown maintenance job');
          return jobs[job.name as MaintenanceJobName](job, { rt, log });
        },
        // Feed polls wait on the network, so a few run at once (a tick is still polled once: see poll-feed.ts).
        { connection: createRedis(rt.config, 'worker'), prefix: rt.config.QUEUE_PREFIX, concurrency: 4 },
      );
      worker.on('error', (err) => log.warn({ err: err.message }, 'scheduler worker error'));
      return worker;
    },
    { enabled: Boolean(rt.config.REDIS_CLUSTER_NODES), log },
  );
  // Redis may come back without its data (no persistence, a failover that lost recent writes): the job
  // schedulers are checked on every reconnection and periodically, and re-created when some are missing.
  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      if (await ensureSchedulers(queue, rt.config, () => listFeedSchedules(rt.db)))
        log.warn('job schedulers were missing (Redis lost its data?); re-created them');
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'could not check the job schedulers; trying again later');
    } finally {
      checking = false;
    }
  };
  const onReady = () => void check();
  connection.on('ready', onReady);
  const watchdog = setInterval(check, Math.min(rt.config.SCHEDULER_TICK_MS, 10_000));
  watchdog.unref();
  log.info({ everyMs: rt.config.SCHEDULER_TICK_MS }, 'scheduler started');
  return {
    name: 'scheduler',
    get worker() {
      return supervised.current();
    },
    async stop() {
      supervised.stop();
      const worker = supervised.current();
      clearInterval(watchdog);
      connection.off('ready', onReady);
      if (await closeWithin(worker, rt.config.SHUTDOWN_GRACE_MS)) await worker.disconnect();
      await closeWithin(queue, 5_000);
      connection.disconnect();
    },
  };
}

/** /metrics, /healthz and /readyz on their own port, for processes without the API (a worker on another machine). */
export async function startMetricsServer(rt: Runtime, port: number): Promise<Role & { server: Server }> {
  const { createHealthApp } = await import('./http/health.ts');
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
