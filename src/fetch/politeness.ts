import { randomUUID } from 'node:crypto';
import { redisKeys } from '../redis-keys.ts';
import type { RedisClient } from '../redis.ts';
import robotsParserModule from 'robots-parser';

// robots-parser is CommonJS whose types describe an ES default export; at run time the module is the function.
const robotsParser = robotsParserModule as unknown as typeof robotsParserModule.default;

// Being a good crawler across every worker process: robots.txt is obeyed and cached in Redis,
// and each host gets at most N requests in flight and at least its crawl-delay between request
// starts. Both are kept in Redis so they hold however many workers fetch at once.

export const ROBOTS_USER_AGENT_TOKEN = 'BlogPoster';
/** A site asking for more than this between requests is still fetched, this often. */
const MAX_CRAWL_DELAY_MS = 30_000;

export type RobotsVerdict = { allowed: boolean; crawlDelayMs: number; sitemaps: string[] };
export type RobotsFile = { status: number; body: string };

export interface Politeness {
  /** The robots.txt verdict for a URL; `loadRobots` fetches the file when the cache has none. */
  robots(url: URL, loadRobots: (robotsUrl: string) => Promise<RobotsFile>): Promise<RobotsVerdict>;
  /** Waits for a slot on the host (and its crawl-delay); resolves with the slot's release. */
  acquire(host: string, crawlDelayMs: number, deadline: number, signal?: AbortSignal): Promise<() => Promise<void>>;
}

export class HostBusyError extends Error {}

// Frees expired slots, then takes one if the host is under its limit and past its crawl-delay.
// Returns 0 when the slot is taken, else how long to wait before asking again. Redis's clock is
// the one clock every worker shares.
const acquireScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nextAt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nextAt > now then return nextAt - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 100 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
local delay = tonumber(ARGV[4])
if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', delay + 1000) end
return 0`;

export function createRedisPoliteness(opts: {
  redis: RedisClient;
  keyPrefix: string;
  hostConcurrency: number;
  robotsTtlMs: number;
  /** How long a slot is held at most if its worker dies without releasing it. */
  leaseMs: number;
  userAgentToken?: string;
}): Politeness {
  const token = opts.userAgentToken ?? ROBOTS_USER_AGENT_TOKEN;
  const keys = redisKeys(opts.keyPrefix);

  return {
    async robots(url, loadRobots) {
      const robotsUrl = new URL('/robots.txt', url.origin).href;
      const cacheKey = keys.robots(url.origin);
      let cached = await opts.redis.get(cacheKey);
      if (cached === null) {
        const file = await loadRobots(robotsUrl);
        // 4xx means "no rules" (RFC 9309); the loader throws on 5xx and network errors.
        cached = file.status >= 200 && file.status < 300 ? file.body : '';
        await opts.redis.set(cacheKey, cached, 'PX', opts.robotsTtlMs);
      }
      const robots = robotsParser(robotsUrl, cached);
      const delay = robots.getCrawlDelay(token);
      return {
        allowed: robots.isAllowed(url.href, token) !== false,
        crawlDelayMs: delay === undefined ? 0 : Math.min(MAX_CRAWL_DELAY_MS, Math.max(0, delay * 1000)),
        sitemaps: robots.getSitemaps(),
      };
    },

    async acquire(host, crawlDelayMs, deadline, signal) {
      const slot = randomUUID();
      const { slots, next } = keys.hostSlots(host);
      for (;;) {
        const wait = Number(
          await opts.redis.eval(
            acquireScript,
            2,
            slots,
            next,
            opts.hostConcurrency,
            slot,
            opts.leaseMs,
            Math.round(crawlDelayMs),
          ),
        );
        if (wait === 0) {
          return async () => {
            await opts.redis.zrem(slots, slot).catch(() => undefined);
          };
        }
        if (Date.now() + Math.min(wait, 100) > deadline) {
          throw new HostBusyError(`${host} is busy (per-host limit or crawl-delay); retrying later`);
        }
        await sleep(Math.min(wait, 250), signal);
      }
    },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
