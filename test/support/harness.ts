import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Config, loadConfig } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { pipeline } from '../../processors/registry.ts';
import { startApi, startWorkers } from '../../src/roles.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { createRedis, masters } from '../../src/redis.ts';
import { namespaceOf } from '../../src/redis-keys.ts';

export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const postgresUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

/**
 * An isolated environment on the real local Redis and PostgreSQL: its own database, its own queue
 * prefix and its own output folder, all removed by cleanup().
 */
export async function createTestEnv(overrides: Record<string, string> = {}) {
  const id = randomBytes(4).toString('hex');
  const outputDir = await mkdtemp(join(tmpdir(), `bp-test-${id}-`));
  const env: Record<string, string> = {
    DATABASE_URL: `${postgresUrl}/bp_test_${id}`,
    REDIS_URL: redisUrl,
    // The whole suite can run on a Redis Cluster (scripts/redis-cluster.sh prints the variable).
    ...(process.env.TEST_REDIS_CLUSTER_NODES ? { REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES } : {}),
    QUEUE_PREFIX: `{bp-test-${id}}`,
    OUTPUT_DIR: outputDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    STAGE_BACKOFF_MS: '50',
    DEV_API_KEY: 'test-key-0123456789abcdef',
    PORT: '0',
    // Test sites listen on loopback, which the SSRF guard refuses unless allowlisted; and suites that
    // submit near-identical texts on purpose must not see them end as duplicates (the ingest tests turn dedup on).
    FETCH_ALLOW_PRIVATE_HOSTS: '127.0.0.1,localhost',
    DEDUP_MODE: 'off',
    // Tenant secrets need a master key; rate limits stay off except in the suites that test them.
    SECRETS_MASTER_KEYS: 'test:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
    RATE_LIMIT_PER_KEY: '0',
    RATE_LIMIT_PER_ADDRESS: '0',
    // Likewise the index stage's near-duplicate guard; test/integration/similarity.test.ts turns it on.
    DUPLICATE_GUARD: 'false',
    // Feed entries wait out a topic window before ingest in production; test/integration/topic-window.test.ts opens
    // one.
    TOPIC_WINDOW_MS: '0',
    ...overrides,
  };
  const config = loadConfig(env);
  return {
    id,
    env,
    config,
    outputDir,
    async cleanup() {
      await rm(outputDir, { recursive: true, force: true });
      // BullMQ's keys under the prefix, the other families under its name (src/redis-keys.ts).
      await deleteKeys(config, [`${config.QUEUE_PREFIX}:*`, `${namespaceOf(config.QUEUE_PREFIX)}:*`]);
      const admin = new pg.Client({ connectionString: `${postgresUrl}/postgres` });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS bp_test_${id} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export type TestEnv = Awaited<ReturnType<typeof createTestEnv>>;

/** Runtime, every stage worker and the API in this process, as the `all` role runs them. */
export async function startPipeline(t: TestEnv, opts: { workers?: boolean; logger?: Logger } = {}) {
  const rt: Runtime = await createRuntime(t.config, { logger: opts.logger ?? createLogger(t.config.LOG_LEVEL) });
  const workers = opts.workers === false ? null : await startWorkers(rt, pipeline.stages);
  const api = await startApi(rt, 0);
  const headers = { authorization: `Bearer ${t.config.DEV_API_KEY}`, 'content-type': 'application/json' };
  return {
    rt,
    api,
    headers,
    async post(path: string, body: unknown, extra: Record<string, string> = {}) {
      const res = await fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { ...headers, ...extra },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
    },
    async get(path: string) {
      const res = await fetch(`${api.url}${path}`, { headers });
      return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
    },
    async stop() {
      await api.stop();
      await workers?.stop();
      await rt.close();
    },
  };
}

/** Submits as a well-behaved client does while a dependency comes back: a 503 is retried (up to 50 times). */
export async function submitWithRetry(app: Awaited<ReturnType<typeof startPipeline>>, body: unknown) {
  for (let attempt = 0; ; attempt++) {
    const res = await app.post('/api/v1/submissions', body);
    if (res.status !== 503 || attempt === 50) return res;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function deleteKeys(config: Config, patterns: string[]): Promise<void> {
  const redis = createRedis(config, 'worker');
  redis.on('error', () => undefined);
  try {
    for (const node of await masters(redis)) {
      for (const pattern of patterns) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          // One DEL per key: on a cluster the keys of one node still span several slots.
          if (keys.length) await node.pipeline(keys.map((key) => ['del', key])).exec();
        } while (cursor !== '0');
      }
    }
  } finally {
    redis.disconnect();
  }
}
