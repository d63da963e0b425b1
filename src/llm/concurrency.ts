import { randomUUID } from 'node:crypto';
import { redisKeys } from '../redis-keys.ts';
import type { RedisClient } from '../redis.ts';
import { backoffMs } from '../resilience/backoff.ts';

/**
 * Calls in flight to one model endpoint, across every worker: a semaphore in Redis. A local server (Ollama,
 * llama.cpp, LM Studio on one GPU or CPU) works on one or a few requests at a time and queues the rest without
 * answering, so callers that all start their timeout at once all time out together. Here they queue instead, in
 * arrival order, and a call's timeout starts only when it holds a slot.
 *
 * Holders are a sorted set scored by when their lease ends (Redis's clock); a holder renews its lease while its
 * call runs, so the slot of a worker that died frees itself when the lease runs out. Waiters are a sorted set by
 * arrival, with a second one of when each last asked; one that stopped asking (its worker died) is dropped.
 */
const TAKE_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holders, waiters, seen = KEYS[1], KEYS[2], KEYS[3]
local id, max, lease, stale = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', seen, '-inf', now - stale)) do
  redis.call('ZREM', waiters, gone)
  redis.call('ZREM', seen, gone)
end
local free = max - redis.call('ZCARD', holders)
local rank = redis.call('ZRANK', waiters, id)
if not rank then rank = redis.call('ZCARD', waiters) end
if rank < free then
  redis.call('ZADD', holders, now + lease, id)
  redis.call('ZREM', waiters, id)
  redis.call('ZREM', seen, id)
  redis.call('PEXPIRE', holders, lease * 2)
  return 0
end
redis.call('ZADD', waiters, 'NX', now, id)
redis.call('ZADD', seen, now, id)
redis.call('PEXPIRE', waiters, stale * 2)
redis.call('PEXPIRE', seen, stale * 2)
redis.call('PEXPIRE', holders, lease * 2)
return rank - free + 1
`;

/** Extends a holder's lease; 0 when it no longer holds the slot (its lease ran out). */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
`;

/** Leaves the slot or the queue. */
const LEAVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
`;

export type Slot = { release(): Promise<void> };

export type ConcurrencyOptions = {
  /** QUEUE_PREFIX; an endpoint's keys share a hash tag (src/redis-keys.ts), so on a cluster they share a slot. */
  prefix: string;
  /** Calls in flight per endpoint; 0 or unset means no limit. */
  max: number | undefined;
  /** How long a slot outlives a worker that stopped renewing it. */
  leaseMs?: number;
  /** Longest wait between two looks at the queue. */
  pollMaxMs?: number;
};

export class SlotWaitTimeout extends Error {
  override readonly name = 'SlotWaitTimeout';
  readonly position: number;
  constructor(message: string, position: number) {
    super(message);
    this.position = position;
  }
}

// Waiters of this process per queue, woken when a slot of this process is released: they look again at once
// instead of after their pause (up to pollMaxMs), which would leave the slot idle meanwhile. Waiters in other
// processes still find it at their next look.
const sleepers = new Map<string, Set<() => void>>();

function sleep(queue: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let set = sleepers.get(queue);
    if (!set) {
      set = new Set();
      sleepers.set(queue, set);
    }
    const wake = () => {
      clearTimeout(timer);
      set.delete(wake);
      if (set.size === 0 && sleepers.get(queue) === set) sleepers.delete(queue);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    set.add(wake);
  });
}

function wakeSleepers(queue: string): void {
  for (const wake of [...(sleepers.get(queue) ?? [])]) wake();
}

export function createConcurrencyLimit(redis: RedisClient, opts: ConcurrencyOptions) {
  const leaseMs = opts.leaseMs ?? 30_000;
  const pollMaxMs = opts.pollMaxMs ?? 1_000;
  // A waiter that has not asked for three of its longest pauses is gone.
  const staleMs = pollMaxMs * 3 + 1_000;
  const family = redisKeys(opts.prefix);
  const keys = (scope: string) => {
    const k = family.llmSlots(scope);
    return [k.holders, k.waiters, k.seen];
  };

  return {
    enabled: Boolean(opts.max && opts.max > 0),
    /**
     * Waits for a slot of `scope` (an endpoint) in arrival order, at most `maxWaitMs`; throws SlotWaitTimeout
     * after that. The slot is held until release(), its lease renewed meanwhile.
     */
    async acquire(scope: string, maxWaitMs: number): Promise<Slot> {
      if (!opts.max || opts.max <= 0) return { release: async () => undefined };
      const [holders, waiters, seen] = keys(scope);
      const id = randomUUID();
      const deadline = Date.now() + maxWaitMs;
      for (let attempt = 1; ; attempt++) {
        const pause = backoffMs(attempt, { baseMs: 50, maxMs: pollMaxMs, factor: 1.5 });
        const position = Number(
          await redis.eval(TAKE_SLOT, 3, holders!, waiters!, seen!, id, opts.max, leaseMs, staleMs),
        );
        if (position === 0) break;
        if (Date.now() + pause > deadline) {
          await redis.eval(LEAVE, 3, holders!, waiters!, seen!, id).catch(() => undefined);
          throw new SlotWaitTimeout(
            `all ${opts.max} slot${opts.max === 1 ? '' : 's'} of the model endpoint ` +
              `stayed busy for ${maxWaitMs} ms (${position} ahead in the queue)`,
            position,
          );
        }
        await sleep(waiters!, pause);
      }
      // Renewed well before it runs out; a renewal that fails (Redis away) is tried again at the next tick.
      const timer = setInterval(
        () => void redis.eval(RENEW, 1, holders!, id, leaseMs).catch(() => undefined),
        Math.max(100, Math.floor(leaseMs / 3)),
      );
      timer.unref();
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          clearInterval(timer);
          await redis.eval(LEAVE, 3, holders!, waiters!, seen!, id).catch(() => undefined);
          wakeSleepers(waiters!);
        },
      };
    },
  };
}

export type ConcurrencyLimit = ReturnType<typeof createConcurrencyLimit>;

/**
 * Model calls in flight in this process, at most `max`, the rest waiting in arrival order. The generate stage takes
 * more posts at once than it has model slots, so that a post's database work (loading it, saving the draft, handing
 * it on) runs while other posts' calls keep every slot busy, instead of leaving its slot idle meanwhile.
 */
export function createLocalSlots(max: number) {
  let busy = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else busy--;
  };
  return {
    get busy() {
      return busy;
    },
    get waiting() {
      return waiting.length;
    },
    /** Resolves with the function that gives the slot back (call it exactly once). */
    async acquire(): Promise<() => void> {
      if (busy < max) busy++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      let released = false;
      return () => {
        if (released) return;
        released = true;
        release();
      };
    },
  };
}

export type LocalSlots = ReturnType<typeof createLocalSlots>;
