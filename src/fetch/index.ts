import type { RedisClient } from '../redis.ts';
import type { Config } from '../config.ts';
import { createRedisPoliteness } from './politeness.ts';
import { createSafeFetcher, type SafeFetcher, type SafeFetcherOptions } from './safe-fetch.ts';

export { createSafeFetcher, FetchError, type SafeFetcher, type SendRequest } from './safe-fetch.ts';

/**
 * The fetcher every processor uses, built from configuration. With Redis, robots.txt is obeyed and
 * cached and the per-host limits hold across every worker process.
 */
export function createConfiguredFetcher(config: Config, redis?: RedisClient): SafeFetcher {
  if (!redis) return createSafeFetcher(baseOptions(config));
  return createSafeFetcher({
    ...baseOptions(config),
    politeness: createRedisPoliteness({
      redis,
      keyPrefix: config.QUEUE_PREFIX,
      hostConcurrency: config.FETCH_HOST_CONCURRENCY,
      robotsTtlMs: config.ROBOTS_CACHE_TTL_MS,
      // A slot outlives the longest fetch, so a worker that died holding one frees it soon after.
      leaseMs: config.FETCH_TIMEOUT_MS + 5_000,
    }),
  });
}

/**
 * The fetcher for tenant-configured destinations (WordPress sites, webhooks, notification callbacks,
 * featured images): the same address guard and pinning as ingest, without robots.txt or per-host
 * crawl limits (a destination is not crawled). Cheap to build: each request makes its own agent.
 */
export function createDestinationFetcher(config: Config): SafeFetcher {
  return createSafeFetcher(baseOptions(config));
}

/** The address guard, time and size limits every fetcher shares. */
function baseOptions(config: Config): SafeFetcherOptions {
  return {
    allowPrivateHosts: config.FETCH_ALLOW_PRIVATE_HOSTS,
    timeoutMs: config.FETCH_TIMEOUT_MS,
    connectTimeoutMs: config.FETCH_CONNECT_TIMEOUT_MS,
    maxBytes: config.FETCH_MAX_BYTES,
    ...(config.FETCH_USER_AGENT ? { userAgent: config.FETCH_USER_AGENT } : {}),
  };
}
