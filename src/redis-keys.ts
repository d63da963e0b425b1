// Every Redis key this service writes, by family, in one place. On a Redis Cluster a Lua script or a
// multi-key command must find all its keys in one hash slot, and Redis hashes only the part of a key
// between the first `{` and the next `}` when there is one (the hash tag). So:
//
// - BullMQ's keys are `<QUEUE_PREFIX>:<queue>:…`; QUEUE_PREFIX is itself a hash tag (`{blog-poster}`),
//   which puts every queue in one slot, as BullMQ's scripts need (a job moves between keys of its queue,
//   and the pipeline's queues hand jobs to one another).
// - Everything else is spread over the cluster: keys start with the prefix's name without its braces
//   (`blog-poster:`), and each family tags the part that its scripts share, e.g. the host for the
//   per-host fetch limits (slots and next-start keys in one script), the endpoint for the LLM slots
//   (holders, waiters, seen), the provider and model for the request and token windows.
//
// test/integration/redis-cluster.test.ts runs the pipeline on a cluster and checks every key it finds
// against these families.

/** The prefix's name without hash-tag braces: `{blog-poster}` → `blog-poster`. */
export function namespaceOf(prefix: string): string {
  return prefix.replace(/[{}]/g, '');
}

/** A hash tag for an id: braces inside it would end the tag early, so they are replaced. */
function tag(id: string): string {
  return `{${id.replace(/[{}]/g, '_')}}`;
}

export function redisKeys(prefix: string) {
  const ns = namespaceOf(prefix);
  return {
    /** BullMQ's prefix (queues, jobs, schedulers, worker names): one slot for every queue. */
    queuePrefix: prefix,
    /** robots.txt of an origin (one key, GET/SET). */
    robots: (origin: string) => `${ns}:fetch:robots:${tag(origin)}`,
    /** Per-host fetch slots and the earliest next start: one Lua script takes both. */
    hostSlots: (host: string) => ({
      slots: `${ns}:fetch:slots:${tag(host)}`,
      next: `${ns}:fetch:next:${tag(host)}`,
    }),
    /** An LLM endpoint's concurrency slots: holders, waiters and last-seen waiters, used together by its scripts. */
    llmSlots: (scope: string) => ({
      holders: `${ns}:llm-concurrency:${tag(scope)}:holders`,
      waiters: `${ns}:llm-concurrency:${tag(scope)}:waiters`,
      seen: `${ns}:llm-concurrency:${tag(scope)}:seen`,
    }),
    /** A provider and model's sliding request and token windows, checked and taken by one script. */
    llmWindows: (provider: string, model: string) => ({
      requests: `${ns}:llm-limit:${tag(`${provider}:${model}`)}:requests`,
      tokens: `${ns}:llm-limit:${tag(`${provider}:${model}`)}:tokens`,
    }),
    /** A cached model answer, by the request's digest (one key). */
    llmCache: (digest: string) => `${ns}:llm-cache:${tag(digest)}`,
    /**
     * The prefix of rate-limit-redis' counters (`<prefix><client>`): its script touches one key, so
     * without a tag each client's counter hashes on its own.
     */
    rateLimit: (name: string) => `${ns}:rate-limit:${name}:`,
    /** A signed webhook message already seen (replay guard; one key, SET NX). */
    webhookSeen: (tenantId: string, digest: string) => `${ns}:webhook-seen:${tag(`${tenantId}:${digest}`)}`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;

/**
 * Which family a key belongs to, or null when it is none of this service's (for the cluster test and
 * for operators tidying a shared Redis).
 */
export function familyOf(prefix: string, key: string): string | null {
  if (key.startsWith(`${prefix}:`)) return 'bullmq';
  const ns = namespaceOf(prefix);
  const m = new RegExp(
    `^${escapeRegExp(ns)}:(fetch:robots|fetch:slots|fetch:next|llm-concurrency|llm-limit|llm-cache|webhook-seen|rate-limit:[a-z]+):`,
  ).exec(key);
  return m ? m[1]! : null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
