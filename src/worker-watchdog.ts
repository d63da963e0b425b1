import type { Worker } from 'bullmq';
import type { Logger } from './logger.ts';
import { closeWithin } from './redis.ts';

/**
 * A worker kept alive across Redis Cluster failovers. After a master dies, a BullMQ worker's wait for
 * its next job can hang for good: the blocking read is dropped with its connection and the wait never
 * settles (seen in test/fault/redis-cluster-failover.test.ts: jobs wait, the worker takes none). A single
 * wait lasts at most BullMQ's maximum block time (10 s) plus its own one-second watchdog, so the same
 * wait still pending at two looks `checkMs` apart (30 s by default) is stuck: that worker is closed, its
 * connections cut, and a new one made in its place. A worker busy with jobs is not waiting, and is left
 * alone.
 */
export function supervisedWorker(
  create: () => Worker,
  opts: { enabled: boolean; log: Logger; checkMs?: number },
): { current(): Worker; stop(): void } {
  let worker = create();
  if (!opts.enabled) return { current: () => worker, stop: () => undefined };
  let seen: unknown = null;
  let replacing = false;
  const timer = setInterval(() => {
    if (replacing) return;
    // BullMQ keeps the pending wait in `waiting` (null when the worker is not waiting).
    const waiting = (worker as unknown as { waiting?: unknown }).waiting ?? null;
    if (waiting === null || waiting !== seen) {
      seen = waiting;
      return;
    }
    replacing = true;
    const stuck = worker;
    opts.log.warn({ queue: stuck.name }, 'worker stuck waiting for a job (after a Redis failover?); replacing it');
    worker = create();
    seen = null;
    void closeWithin(stuck, 1_000, true).finally(() => {
      replacing = false;
    });
  }, opts.checkMs ?? 30_000);
  timer.unref();
  return {
    current: () => worker,
    stop: () => clearInterval(timer),
  };
}
