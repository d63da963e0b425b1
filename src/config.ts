import { z } from 'zod';

// Every setting comes from the environment and is checked once, at start. With nothing set, the
// defaults run on a single Debian host with Redis and PostgreSQL on their usual local ports.

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  /** The address clients use to reach the API; used in links. Defaults to http://HOST:PORT. */
  PUBLIC_API_URL: z.url().optional(),
  BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'a size such as 512kb or 1mb').default('1mb'),
  /** Development bearer key for the default tenant. Per-tenant keys come with the tenants issue. */
  DEV_API_KEY: z.string().min(16, 'at least 16 characters').default('bp_dev_key_change_me'),

  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix; the braces are a Redis Cluster hash tag so one pipeline's keys share a slot. */
  QUEUE_PREFIX: z.string().min(1).default('{blog-poster}'),

  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/blog_poster'),
  DATABASE_POOL_MAX: positiveInt.default(10),
  DATABASE_SLOW_QUERY_MS: positiveInt.default(250),
  DATABASE_CONNECT_RETRIES: z.coerce.number().int().min(0).default(8),
  MIGRATE_ON_START: bool.default(true),

  /** Serves /metrics on this port from processes without the API (workers, scheduler). */
  METRICS_PORT: port.optional(),

  WORKER_CONCURRENCY: positiveInt.default(4),
  STAGE_ATTEMPTS: positiveInt.default(5),
  STAGE_BACKOFF_MS: positiveInt.default(1000),
  /** Overrides every stage's job lock; a dead worker's job is retried once its lock expires. */
  LOCK_DURATION_MS: positiveInt.optional(),
  /** How often workers look for jobs whose worker died (BullMQ stalled check). */
  STALLED_INTERVAL_MS: positiveInt.default(30_000),
  SHUTDOWN_GRACE_MS: positiveInt.default(30_000),
  /** How old a post may sit queued without a job before the scheduler hands it to ingest again. */
  STRANDED_AFTER_MS: positiveInt.default(60_000),
  SCHEDULER_TICK_MS: positiveInt.default(30_000),

  FETCH_TIMEOUT_MS: positiveInt.default(15_000),
  FETCH_MAX_BYTES: positiveInt.default(5 * 1024 * 1024),

  EMBEDDING_DIMENSION: z.coerce.number().int().min(8).max(4096).default(384),
  HNSW_EF_SEARCH: positiveInt.default(40),

  OUTPUT_DIR: z.string().min(1).default('./output'),
  /** Where the static output is served from, if anywhere; published links are built on it. */
  PUBLIC_SITE_URL: z.url().optional(),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration; fix these environment variables:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  if (config.NODE_ENV === 'production' && config.DEV_API_KEY === 'bp_dev_key_change_me') {
    throw new ConfigError('Invalid configuration; fix these environment variables:\n  DEV_API_KEY: must be set in production');
  }
  return config;
}

/** Variables documented in the README, in the order of the schema. */
export const configKeys = Object.keys(schema.shape);
