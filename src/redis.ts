import { Redis, type RedisOptions } from 'ioredis';

/**
 * Connections for BullMQ. Workers need `maxRetriesPerRequest: null` (blocking commands must wait
 * out a Redis restart); the HTTP edge wants the opposite, failing fast so a submission gets a 503
 * instead of hanging.
 */
export function createRedis(url: string, role: 'worker' | 'client', extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    connectTimeout: 5_000,
    ...extra,
  });
}
