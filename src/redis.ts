import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.ts';

/** One Redis server or a Redis Cluster: every command this service sends works on both. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: REDIS_URL, or REDIS_CLUSTER_NODES (credentials and TLS still from REDIS_URL). */
export type RedisTarget = Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>;

/**
 * Connections for BullMQ. Workers need `maxRetriesPerRequest: null` (blocking commands must wait
 * out a Redis restart); the HTTP edge wants the opposite, failing fast so a submission gets a 503
 * instead of hanging.
 *
 * With REDIS_CLUSTER_NODES the connection is an ioredis Cluster: it follows MOVED/ASK redirections,
 * refreshes the slot map when a replica is promoted, and keeps commands queued while the cluster has
 * no master for a slot (workers) or fails them at once (the edge, which answers 503).
 */
export function createRedis(
  target: RedisTarget | string,
  role: 'worker' | 'client',
  extra: RedisOptions = {},
): RedisClient {
  const { REDIS_URL: url, REDIS_CLUSTER_NODES: nodes } =
    typeof target === 'string' ? { REDIS_URL: target, REDIS_CLUSTER_NODES: undefined } : target;
  const options: RedisOptions = {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    connectTimeout: 5_000,
    ...extra,
  };
  if (!nodes?.length) return new Redis(url, options);

  const { enableOfflineQueue, replyMapping: _, ...redisOptions } = { ...options, ...credentialsOf(url) };
  return new ClusterClient(nodes, {
    redisOptions,
    enableOfflineQueue,
    // A failover takes the cluster a few seconds (node timeout + election); commands wait that out
    // (workers) and redirections are followed while the slot map is refreshed.
    maxRedirections: 32,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: 2_000,
    clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
  });
}

/**
 * ioredis' Cluster, with one fix: disconnect() while the cluster waits to reconnect (no node left in its
 * pool, as after a failover) cleared the retry timer and waited for a pool to drain that was already
 * empty, so neither 'close' nor 'end' ever came. BullMQ awaits 'end' when it resets a worker's blocking
 * connection and when it closes, so a worker stopped taking jobs, or never finished closing.
 */
class ClusterClient extends Cluster {
  // BullMQ makes its blocking connections with duplicate(): they need the fix too.
  override duplicate(...args: Parameters<Cluster['duplicate']>): Cluster {
    const copy = super.duplicate(...args);
    Object.setPrototypeOf(copy, ClusterClient.prototype);
    return copy;
  }

  override disconnect(reconnect = false): void {
    const drained = this.status !== 'wait' && this.nodes('all').length === 0;
    super.disconnect(reconnect);
    if (drained && this.status === 'disconnecting') {
      // What the pool's 'drain' and the connection's 'close' would have done.
      const inner = this as unknown as { setStatus(status: string): void; handleCloseEvent(): void };
      inner.setStatus('close');
      inner.handleCloseEvent();
    }
  }
}

/** The user, password, database and TLS of a redis:// or rediss:// URL, for the nodes of a cluster. */
function credentialsOf(url: string): RedisOptions {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** Every master of a cluster, or the one server: for commands that look at one node's keys (SCAN). */
export async function masters(redis: RedisClient): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  if (redis.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      redis.once('ready', resolve);
      redis.once('end', () => reject(new Error('Redis Cluster connection ended')));
    });
  }
  return redis.nodes('master');
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

type BullHandle = { close(force?: boolean): Promise<void>; backend: unknown };

/**
 * Closes a BullMQ worker or queue, waiting at most `timeoutMs`; past that its connections are cut.
 * BullMQ's close waits for its connections to say goodbye, and a connection left behind by a cluster
 * failover (or a Redis that is gone) may never answer: a process must still be able to stop.
 * Returns false when the connections had to be cut.
 */
export async function closeWithin(handle: BullHandle, timeoutMs: number, force = false): Promise<boolean> {
  const closed = handle.close(force).then(
    () => true,
    () => true,
  );
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    closed,
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (done) return true;
  const backend = handle.backend as { client?: Promise<RedisClient>; blockingClient?: Promise<RedisClient> };
  for (const client of [backend.client, backend.blockingClient]) {
    client?.then(
      (c) => c.disconnect(),
      () => undefined,
    );
  }
  return false;
}
