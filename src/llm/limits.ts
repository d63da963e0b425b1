import { randomUUID } from 'node:crypto';
import { redisKeys } from '../redis-keys.ts';
import type { RedisClient } from '../redis.ts';

/**
 * Requests and tokens per rolling window, shared by every worker through Redis. A sliding log (a sorted set of
 * `cost:id` members scored by time, Redis's own clock) rather than fixed windows: a fixed window lets twice the
 * limit through around its boundary, which is exactly when a provider answers 429. Both limits are checked and
 * taken together, atomically; the answer is 0 (go) or how many milliseconds to wait.
 */
const SLIDING_WINDOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local member = ARGV[2]
local wait = 0
local which = 0
for i = 1, #KEYS do
  local limit = tonumber(ARGV[1 + i * 2])
  local cost = tonumber(ARGV[2 + i * 2])
  if limit > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
    local entries = redis.call('ZRANGE', KEYS[i], 0, -1, 'WITHSCORES')
    local used = 0
    for j = 1, #entries, 2 do used = used + tonumber(string.match(entries[j], '^(%d+):')) end
    if used + cost > limit then
      local need = used + cost - limit
      local freed = 0
      local until_ms = window
      for j = 1, #entries, 2 do
        freed = freed + tonumber(string.match(entries[j], '^(%d+):'))
        if freed >= need then
          until_ms = tonumber(entries[j + 1]) + window - now
          break
        end
      end
      if until_ms > wait then
        wait = until_ms
        which = i
      end
    end
  end
end
if wait > 0 then return {wait, which} end
for i = 1, #KEYS do
  local limit = tonumber(ARGV[1 + i * 2])
  local cost = tonumber(ARGV[2 + i * 2])
  if limit > 0 then
    redis.call('ZADD', KEYS[i], now, cost .. ':' .. member)
    redis.call('PEXPIRE', KEYS[i], window)
  end
end
return {0, 1}
`;

export type LimitDecision = { waitMs: 0 } | { waitMs: number; limit: 'rpm' | 'tpm' };

export function createSharedLimits(
  redis: RedisClient,
  opts: { prefix: string; rpm?: number | undefined; tpm?: number | undefined; windowMs: number },
) {
  return {
    enabled: Boolean(opts.rpm || opts.tpm),
    /** Takes one request and `tokens` tokens from the provider's allowance, or says how long to wait. */
    async acquire(provider: string, model: string, tokens: number): Promise<LimitDecision> {
      if (!opts.rpm && !opts.tpm) return { waitMs: 0 };
      const windows = redisKeys(opts.prefix).llmWindows(provider, model);
      const rpm = opts.rpm ?? 0;
      const tpm = opts.tpm ?? 0;
      // One request larger than the whole allowance would otherwise wait forever.
      const tokenCost = Math.max(1, Math.min(tokens, tpm || tokens));
      const [waitMs, which] = (await redis.eval(
        SLIDING_WINDOW,
        2,
        windows.requests,
        windows.tokens,
        // A little longer than the window, so requests that reach the provider later or sooner after they were
        // counted here (a cold connection, a busy event loop: a few hundred milliseconds) still fall into
        // separate windows on its side.
        Math.round(opts.windowMs * 1.05) + 250,
        randomUUID(),
        rpm,
        1,
        tpm,
        tokenCost,
      )) as [number, number];
      if (waitMs <= 0) return { waitMs: 0 };
      return { waitMs: Math.max(1, waitMs), limit: which === 1 ? 'rpm' : 'tpm' };
    },
  };
}
