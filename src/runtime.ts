import type { RedisClient } from './redis.ts';
import type { Config } from './config.ts';
import { migrationsPending } from './db/migrations-pending.ts';
import { connectDb, type Db } from './db/pool.ts';
import { createReadRouting, type ReadRouting } from './db/replicas.ts';
import { createLogger, type Logger } from './logger.ts';
import { createPipelineQueues, type PipelineQueues } from '../queues/registry.ts';
import { createProviders, type Providers } from './providers.ts';
import { createRedis } from './redis.ts';

/** The shared pieces every process role is built from. */
export type Runtime = {
  config: Config;
  logger: Logger;
  db: Db;
  /** Fail-fast connection for the HTTP edge and queue producers. */
  redis: RedisClient;
  /** Read replicas for the API's reads (DATABASE_READ_URL); null without any. */
  reads: ReadRouting | null;
  queues: PipelineQueues;
  providers: Providers;
  close(): Promise<void>;
};

export async function createRuntime(config: Config, opts: { logger?: Logger } = {}): Promise<Runtime> {
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const db = await connectDb(config, logger);
  // node-pg-migrate (16 MiB resident) is loaded only when there is something to apply.
  if (config.MIGRATE_ON_START && (await migrationsPending(db)))
    await (await import('./db/migrate.ts')).migrate(config.DATABASE_URL, logger);
  const redis = createRedis(config, 'client');
  redis.on('error', (err) => logger.warn({ err: err.message }, 'Redis connection error'));
  const queues = createPipelineQueues(config, redis, (err) =>
    logger.debug({ err: err.message }, 'queue connection error'),
  );
  const providers = createProviders(config, db);
  const reads = createReadRouting(config, db, logger);
  return {
    config,
    logger,
    db,
    redis,
    reads,
    queues,
    providers,
    async close() {
      await reads?.close();
      await queues.close().catch(() => undefined);
      redis.disconnect();
      await db.close();
    },
  };
}
