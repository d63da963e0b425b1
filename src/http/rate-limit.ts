import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { rateLimit, type Options } from 'express-rate-limit';
import { redisKeys } from '../redis-keys.ts';
import type { RedisClient } from '../redis.ts';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { sendProblem } from './problem.ts';

// Rate limits kept in Redis, so every API replica counts against the same numbers. Two limits:
// per client address (before authentication, so key guessing is limited too) and per API key (a
// tenant's settings may set its own). Answers carry the IETF `RateLimit` and `RateLimit-Policy`
// headers (draft 8); a refusal is a 429 problem with `Retry-After`.

/**
 * rate-limit-redis loads its Lua scripts once, when the limiter is created; if Redis is not reachable
 * at that moment the failed load would stick. Answering SCRIPT LOAD with the locally computed SHA-1
 * instead makes the first EVALSHA fail with NOSCRIPT, on which the store loads the script for real.
 */
function sendCommand(redis: RedisClient) {
  return async (...args: string[]): Promise<RedisReply> => {
    if (args[0] === 'SCRIPT' && args[1] === 'LOAD') {
      const sha = createHash('sha1').update(args[2]!).digest('hex');
      return (await redis.call('SCRIPT', 'LOAD', args[2]!).catch(() => sha)) as RedisReply;
    }
    return (await redis.call(args[0]!, ...args.slice(1))) as RedisReply;
  };
}

type Deps = { config: Config; redis: RedisClient; logger: Logger };

function limiter(deps: Deps, name: string, options: Partial<Options>): RequestHandler {
  const log = deps.logger.child({ component: 'rate-limit', limiter: name });
  return rateLimit({
    windowMs: deps.config.RATE_LIMIT_WINDOW_MS,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: name,
    store: new RedisStore({
      sendCommand: sendCommand(deps.redis),
      prefix: redisKeys(deps.config.QUEUE_PREFIX).rateLimit(name),
    }),
    // Redis down: serve without limiting rather than refusing every read; submissions still get
    // their 503 from the queue, and the warning says limits are not enforced.
    passOnStoreError: true,
    logger: {
      error: (err) => log.warn({ err: (err as Error)?.message }, 'rate limit store unavailable; request not counted'),
      warn: (err) => log.warn({ err: (err as Error)?.message }, 'rate limiter warning'),
    },
    handler: (req, res, _next, opts) => {
      const limit = (req as Request & { rateLimit?: { limit: number } }).rateLimit?.limit ?? 'the allowed number of';
      sendProblem(res, 429, 'Too Many Requests', {
        detail:
          `more than ${limit} requests in ${Math.ceil(opts.windowMs / 1000)} s (${name}); ` +
          'retry after the time in Retry-After',
      });
    },
    ...options,
  });
}

/** Per client address (req.ip, which honours 'trust proxy'); mounted before authentication. */
export function addressRateLimit(deps: Deps): RequestHandler {
  const limit = deps.config.RATE_LIMIT_PER_ADDRESS;
  if (limit === 0) return (_req, _res, next) => next();
  return limiter(deps, 'address', { limit });
}

/** Per authenticated principal (an API key, the development key, or a signed-webhook tenant). */
export function keyRateLimit(deps: Deps): RequestHandler {
  const limitOf = (req: Request) => req.auth?.rateLimit ?? deps.config.RATE_LIMIT_PER_KEY;
  return limiter(deps, 'key', {
    limit: (req) => limitOf(req),
    skip: (req) => !req.auth || limitOf(req) === 0,
    keyGenerator: (req) => req.auth!.principal,
  });
}
