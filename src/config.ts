import { z } from 'zod';
import { priceFor } from './llm/pricing.ts';

// Every setting comes from the environment and is checked once, at start. With nothing set, the
// defaults run on a single Debian host with Redis and PostgreSQL on their usual local ports.

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
/** A JSON object in a variable, `{}` when unset; `example` shows its shape in the error. */
const jsonSetting = (example: string) =>
  z
    .string()
    .default('{}')
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be JSON: ${example}` });
        return z.NEVER;
      }
    });

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  /** The address clients use to reach the API; used in links. Defaults to http://HOST:PORT. */
  PUBLIC_API_URL: z.url().optional(),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'a size such as 512kb or 1mb')
    .default('1mb'),
  /** Development bearer key for the default tenant. Per-tenant keys come with the tenants issue. */
  DEV_API_KEY: z.string().min(16, 'at least 16 characters').default('bp_dev_key_change_me'),

  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /**
   * A Redis Cluster instead of REDIS_URL: its seed nodes as host:port,host:port,… (one is enough, the rest
   * are found). Credentials and TLS still come from REDIS_URL (its user, password and rediss: scheme).
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const nodes = [];
      for (const part of v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(part);
        const nodePort = m ? Number(m[2]) : 0;
        if (!m || nodePort < 1 || nodePort > 65535) {
          ctx.addIssue({ code: 'custom', message: `"${part}" is not host:port (e.g. redis-1:6379,redis-2:6379)` });
          return z.NEVER;
        }
        nodes.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port: nodePort });
      }
      return nodes;
    }),
  /** BullMQ key prefix; the braces are a Redis Cluster hash tag so one pipeline's keys share a slot. */
  QUEUE_PREFIX: z.string().min(1).default('{blog-poster}'),

  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/blog_poster'),
  DATABASE_POOL_MAX: positiveInt.default(10),
  /**
   * Streaming replicas for the API's reads (lists, posts, search, related posts, overview): one URL or
   * several, comma-separated. Unset: every read goes to DATABASE_URL.
   */
  DATABASE_READ_URL: z
    .string()
    .optional()
    .refine(
      (v) =>
        v === undefined ||
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .every((s) => URL.canParse(s) && /^postgres(ql)?:$/.test(new URL(s).protocol)),
      'a comma list of postgres:// URLs',
    ),
  /** A replica further behind than this is not read from (its reads go to the primary). */
  DATABASE_READ_MAX_LAG_MS: positiveInt.default(5_000),
  /** How long after a write a caller's reads wait for a replica to have replayed it (else the primary). */
  DATABASE_READ_YOUR_WRITES_MS: positiveInt.default(30_000),
  /** How often each replica's position, lag and health are checked. */
  DATABASE_READ_CHECK_MS: positiveInt.default(1_000),
  DATABASE_SLOW_QUERY_MS: positiveInt.default(250),
  DATABASE_CONNECT_RETRIES: z.coerce.number().int().min(0).default(8),
  /** Named prepared statements for parameterised queries; off behind a pooler that cannot keep them (PgBouncer < 1.21 in transaction mode). */
  DATABASE_PREPARED_STATEMENTS: bool.default(true),
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

  /** Dead letters: posts failed on a transient error get another run after this long, this many times. */
  SWEEP_FAILED_EVERY_MS: positiveInt.default(300_000),
  SWEEP_FAILED_MIN_AGE_MS: positiveInt.default(600_000),
  SWEEP_FAILED_MAX_RETRIES: z.coerce.number().int().min(0).default(3),
  /** Scheduled pg_dump backups; off unless BACKUP_DIR is set. */
  BACKUP_DIR: z.string().min(1).optional(),
  BACKUP_CRON: z.string().min(9).default('0 3 * * *'),
  BACKUP_KEEP: positiveInt.default(7),

  FETCH_TIMEOUT_MS: positiveInt.default(15_000),
  FETCH_MAX_BYTES: positiveInt.default(5 * 1024 * 1024),

  // Ingest: safe fetching, feeds and dedup.
  /** Hosts (as written in URLs) allowed to resolve to private/loopback addresses; for development and tests only. */
  FETCH_ALLOW_PRIVATE_HOSTS: z.string().default(''),
  FETCH_CONNECT_TIMEOUT_MS: positiveInt.default(5_000),
  FETCH_USER_AGENT: z.string().min(1).max(300).optional(),
  /**
   * Shortest poll interval a feed's cron may have (operator tenants may go lower): third-party sites are not hammered.
   */
  FEED_MIN_INTERVAL_MS: z.coerce.number().int().min(0).default(300_000),
  /** Requests in flight per host across all workers. */
  FETCH_HOST_CONCURRENCY: positiveInt.default(2),
  ROBOTS_CACHE_TTL_MS: positiveInt.default(3_600_000),
  /** `near` (exact and near duplicates), `exact`, or `off`. */
  DEDUP_MODE: z.enum(['near', 'exact', 'off']).default('near'),
  /** Largest SimHash Hamming distance (of 64 bits) at which two texts count as near duplicates (0–3). */
  DEDUP_NEAR_DISTANCE: z.coerce.number().int().min(0).max(3).default(3),
  /** Most new entries one feed, sitemap or site poll turns into posts. */
  INGEST_MAX_ENTRIES: positiveInt.default(50),
  /** Keyword overlap (Jaccard, 0–1) at which entries arriving together are grouped into one brief. */
  BRIEF_GROUP_SIMILARITY: z.coerce.number().min(0).max(1).default(0.5),
  /** Share of a brief's keywords (0–1) a published post must already cover for the brief to be skipped. */
  BRIEF_COVERED_THRESHOLD: z.coerce.number().min(0).max(1).default(0.8),
  /**
   * How long a post made from feed, sitemap or site entries stays open: it waits this long before ingest, and a
   * similar entry of a later poll joins its brief instead of becoming a post of its own; 0 turns it off.
   */
  TOPIC_WINDOW_MS: z.coerce.number().int().min(0).default(180_000),

  EMBEDDING_DIMENSION: z.coerce.number().int().min(8).max(4096).default(384),
  HNSW_EF_SEARCH: positiveInt.default(40),

  // Embeddings and the vector index.
  /** `local`: the offline hashing embedder; `openai`: any OpenAI-compatible /v1/embeddings endpoint. */
  EMBEDDING_PROVIDER: z.enum(['local', 'openai']).default('local'),
  /** Model name sent to the endpoint; defaults to text-embedding-3-small (openai) or local-hash-v1 (local). */
  EMBEDDING_MODEL: z.string().min(1).max(200).optional(),
  EMBEDDING_BASE_URL: z.url().optional(),
  EMBEDDING_API_KEY: z.string().min(1).optional(),
  /** Texts per embeddings request. */
  EMBEDDING_BATCH_SIZE: z.coerce.number().int().min(1).max(2048).default(64),
  /** Ask the endpoint for EMBEDDING_DIMENSION dimensions (models that can shorten, e.g. text-embedding-3-*). */
  EMBEDDING_SEND_DIMENSIONS: bool.default(false),
  EMBEDDING_TIMEOUT_MS: positiveInt.default(30_000),
  VECTOR_INDEX: z.enum(['pgvector', 'qdrant']).default('pgvector'),
  QDRANT_URL: z.url().optional(),
  QDRANT_API_KEY: z.string().min(1).optional(),
  /** Collections are named <prefix>_<model>_<dimension>. */
  QDRANT_COLLECTION_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,100}$/, 'letters, digits, _ and - only')
    .default('blog_poster'),
  /** Hold near-duplicates of published posts (index stage); off, they are published with their suggestions only. */
  DUPLICATE_GUARD: bool.default(true),
  /** Post similarity (0–1) at or above which a post is held as a near-duplicate of a published one. */
  DUPLICATE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.9),
  /** Related posts suggested per post, and the least similarity a suggestion needs. */
  RELATED_POSTS_LIMIT: z.coerce.number().int().min(0).max(20).default(3),
  RELATED_MIN_SCORE: z.coerce.number().min(0).max(1).default(0.4),

  // Writing with an LLM.
  /** `local`: the offline extractive writer; `openai`: any OpenAI-compatible chat-completions endpoint. */
  LLM_PROVIDER: z.enum(['local', 'openai']).default('local'),
  /** OpenAI, Azure OpenAI (…/openai/v1), Ollama, vLLM or LM Studio; unset means api.openai.com. */
  OPENAI_BASE_URL: z.url().optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_ORGANIZATION: z.string().min(1).optional(),
  OPENAI_MODEL: z.string().min(1).max(200).default('gpt-4o-mini'),
  LLM_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.3),
  /** Time allowed for one model call. */
  LLM_TIMEOUT_MS: positiveInt.default(60_000),
  /** In-job retries of a transient model error before the stage's own backoff takes over. */
  LLM_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  /** Requests and tokens per window for each provider and model, shared by every worker; unset means no limit. */
  LLM_RPM: positiveInt.optional(),
  LLM_TPM: positiveInt.optional(),
  LLM_LIMIT_WINDOW_MS: positiveInt.default(60_000),
  /**
   * Calls in flight to the model endpoint at once, across every worker (a local server's parallel slots); the
   * others queue in arrival order, each waiting at most LLM_TIMEOUT_MS. Unset means no limit.
   */
  LLM_MAX_CONCURRENCY: positiveInt.optional(),
  /** How long identical model requests are answered from Redis; 0 turns the cache off. */
  LLM_CACHE_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .default(7 * 24 * 3600),
  /**
   * USD per million tokens by model, JSON: {"gpt-4o-mini": {"prompt": 0.15, "completion": 0.6}}; "*" prices any other
   * model.
   */
  LLM_PRICES: jsonSetting('{"model": {"prompt": USD per 1M tokens, "completion": USD per 1M tokens}}').pipe(
    z.record(
      z.string().min(1),
      z.object({ prompt: z.number().nonnegative(), completion: z.number().nonnegative() }).strict(),
    ),
  ),
  /**
   * What each model can take and give, JSON by model name ("*" for any other): {"llama3.1:8b": {"contextTokens":
   * 8192, "outlineTokens": 1500, "draftTokens": 4000, "metadataTokens": 800}}; every field optional.
   */
  LLM_MODEL_LIMITS: jsonSetting('{"model": {"contextTokens": 8192, "draftTokens": 4000}}').pipe(
    z.record(
      z.string().min(1),
      z
        .object({
          contextTokens: z.number().int().min(1024).max(10_000_000).optional(),
          outlineTokens: z.number().int().min(64).max(1_000_000).optional(),
          draftTokens: z.number().int().min(256).max(1_000_000).optional(),
          metadataTokens: z.number().int().min(64).max(1_000_000).optional(),
        })
        .strict(),
    ),
  ),
  /**
   * The provider's breaker opens when this share of calls fail (after LLM_BREAKER_VOLUME calls) and half-opens after
   * the reset time.
   */
  LLM_BREAKER_ERROR_PERCENT: z.coerce.number().int().min(1).max(100).default(50),
  LLM_BREAKER_VOLUME: positiveInt.default(5),
  LLM_BREAKER_RESET_MS: positiveInt.default(30_000),

  OUTPUT_DIR: z.string().min(1).default('./output'),
  /** Where the static output is served from, if anywhere; published links are built on it. */
  PUBLIC_SITE_URL: z.url().optional(),

  // Publishing: static site, destination breakers, notifications to tenants.
  /** Title of each tenant's static site (index page and Atom feed). */
  SITE_TITLE: z.string().trim().min(1).max(200).default('Blog'),
  /** A destination's breaker opens when this share of calls in its window fails ... */
  PUBLISH_BREAKER_ERROR_PERCENT: z.coerce.number().int().min(1).max(100).default(50),
  /** ... once at least this many calls were made. */
  PUBLISH_BREAKER_VOLUME: positiveInt.default(3),
  /** How long an open breaker waits before one trial call; publish jobs for it wait as long. */
  PUBLISH_BREAKER_RESET_MS: positiveInt.default(30_000),
  /** Largest featured image sent to WordPress. */
  PUBLISH_IMAGE_MAX_BYTES: positiveInt.default(10 * 1024 * 1024),
  /** How often workers look for tenant notifications to deliver. */
  NOTIFICATION_POLL_MS: positiveInt.default(1000),
  /** Delivery attempts of one notification before it is marked failed. */
  NOTIFICATION_ATTEMPTS: positiveInt.default(8),
  /** First retry delay of a notification; doubles each attempt, with jitter. */
  NOTIFICATION_BACKOFF_MS: positiveInt.default(2000),
  NOTIFICATION_TIMEOUT_MS: positiveInt.default(10_000),

  // Operator console and observability.
  /** Bearer token for /admin/queues (Bull Board); OPERATOR_USER/OPERATOR_PASSWORD give browsers basic auth. */
  OPERATOR_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  OPERATOR_USER: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[^:]+$/, 'must not contain ":"')
    .optional(),
  OPERATOR_PASSWORD: z.string().min(12, 'at least 12 characters').optional(),
  /** Bull Board shows the queues but refuses retries, cleans, removals and pauses. */
  BULL_BOARD_READ_ONLY: bool.default(false),
  /**
   * Path prefix a reverse proxy serves this app under (and strips), e.g. /blog-poster; X-Forwarded-Prefix from a
   * trusted proxy also works.
   */
  BASE_PATH: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'a path such as /blog-poster, without a trailing slash')
    .optional(),
  /** When set, /metrics answers only requests with Authorization: Bearer <METRICS_TOKEN>. */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /**
   * Error tracking (Sentry SDK; any Sentry-compatible server): route 500s and stage failures that end a post. Off
   * unless set.
   */
  SENTRY_DSN: z
    .url({ protocol: /^https?$/, error: 'a Sentry DSN such as https://<public key>@<host>/<project id>' })
    .optional(),
  /** Environment name on reported events; defaults to NODE_ENV. */
  SENTRY_ENVIRONMENT: z.string().trim().min(1).max(64).optional(),
  SENTRY_RELEASE: z.string().trim().min(1).max(200).optional(),

  // Tenants, keys, secrets and limits.
  /** Master keys of secrets at rest: `<id>:<base64 of 32 bytes>`, comma-separated; the first encrypts, all decrypt. */
  SECRETS_MASTER_KEYS: z
    .string()
    .refine((v) => {
      const ids = v.split(',').map((part) => /^([A-Za-z0-9_-]{1,32}):[A-Za-z0-9+/]{43}=$/.exec(part.trim())?.[1]);
      return ids.every(Boolean) && new Set(ids).size === ids.length;
    }, 'a comma list of distinct <key id>:<base64 of 32 random bytes>, e.g. k1:$(openssl rand -base64 32)')
    .optional(),
  /** Browser origins allowed to call the API, comma-separated; empty keeps CORS closed. */
  CORS_ORIGINS: z
    .string()
    .regex(/^(https?:\/\/[^,\s/]+)?(,https?:\/\/[^,\s/]+)*$/, 'a comma list of origins such as https://app.example.com')
    .default(''),
  RATE_LIMIT_WINDOW_MS: positiveInt.default(60_000),
  /**
   * Requests per window and API key (or signed-webhook tenant); a tenant's settings may set its own; 0 turns it off.
   */
  RATE_LIMIT_PER_KEY: z.coerce.number().int().min(0).default(600),
  /** Requests per window and client address, counted before authentication; 0 turns it off. */
  RATE_LIMIT_PER_ADDRESS: z.coerce.number().int().min(0).default(1200),
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
    throw new ConfigError(
      'Invalid configuration; fix these environment variables:\n  DEV_API_KEY: must be set in production',
    );
  }
  if ((config.OPERATOR_USER === undefined) !== (config.OPERATOR_PASSWORD === undefined)) {
    const missing = config.OPERATOR_USER === undefined ? 'OPERATOR_USER' : 'OPERATOR_PASSWORD';
    throw new ConfigError(
      `Invalid configuration; fix these environment variables:\n  ${missing}: ` +
        `set OPERATOR_USER and OPERATOR_PASSWORD together`,
    );
  }
  if (config.REDIS_CLUSTER_NODES && !/\{[^{}]+\}/.test(config.QUEUE_PREFIX)) {
    throw new ConfigError(
      `Invalid configuration; fix these environment variables:\n  QUEUE_PREFIX: ` +
        `"${config.QUEUE_PREFIX}" has no hash tag; on a Redis Cluster (REDIS_CLUSTER_NODES) ` +
        `it must be one, e.g. {blog-poster}, so that BullMQ's keys share a slot`,
    );
  }
  if (config.LLM_PROVIDER === 'openai' && priceFor(config.LLM_PRICES, config.OPENAI_MODEL) === null) {
    throw new ConfigError(
      `Invalid configuration; fix these environment variables:\n  LLM_PRICES: ` +
        `no price for OPENAI_MODEL "${config.OPENAI_MODEL}"; add {"${config.OPENAI_MODEL}": ` +
        `{"prompt": USD per 1M tokens, "completion": USD per 1M tokens}} (0 for ` +
        `a model that costs nothing), so that budgets mean money`,
    );
  }
  return config;
}

/** Variables documented in the README, in the order of the schema. */
export const configKeys = Object.keys(schema.shape);
