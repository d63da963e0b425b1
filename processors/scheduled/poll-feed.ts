import { hostname } from 'node:os';
import type { RedisClient } from '../../src/redis.ts';
import type { Config } from '../../src/config.ts';
import type { Db } from '../../src/db/pool.ts';
import { errorMessage } from '../../src/errors.ts';
import { createConfiguredFetcher } from '../../src/fetch/index.ts';
import { collect } from '../../src/ingest/collect.ts';
import { fanOut } from '../../src/ingest/fan-out.ts';
import { claimPoll, feedToPoll, finishPoll } from '../../src/ingest/feed-store.ts';
import type { Logger } from '../../src/logger.ts';
import { feedPollsTotal } from '../../src/metrics.ts';
import { pollFeedJobSchema } from '../../queues/maintenance.ts';
import type { PipelineQueues } from '../../queues/registry.ts';

// Scheduler job: polls one registered feed, sitemap or site. Each feed has its own BullMQ job
// scheduler on the maintenance queue (queues/maintenance.ts), keyed by the feed id, so however many scheduler processes
// run there is one job per tick; the tick is also recorded under a unique key, so a job that runs
// twice (a stalled retry) polls once.

type PollDeps = { db: Db; queues: PipelineQueues; redis: RedisClient; config: Config; log: Logger };
const POLL_OUTCOMES = [
  'not_modified',
  'new_entries',
  'nothing_new',
  'already_polled',
  'too_soon',
  'gone',
  'failed',
] as const;
export type PollOutcome = (typeof POLL_OUTCOMES)[number];
for (const outcome of POLL_OUTCOMES) feedPollsTotal.inc({ outcome }, 0);

/** Every tick counts, the skipped ones too: a feed that is never polled shows as gone or too_soon. */
export async function pollFeed(
  deps: PollDeps,
  job: { id?: string | undefined; data: unknown },
): Promise<{ outcome: PollOutcome; newEntries: number }> {
  const result = await pollOnce(deps, job);
  feedPollsTotal.inc({ outcome: result.outcome });
  return result;
}

async function pollOnce(
  deps: PollDeps,
  job: { id?: string | undefined; data: unknown },
): Promise<{ outcome: PollOutcome; newEntries: number }> {
  const { feedId } = pollFeedJobSchema.parse(job.data);
  const tick = job.id ?? `manual-${Date.now()}`;
  const log = deps.log.child({ feedId, tick });
  const feed = await feedToPoll(deps.db, feedId);
  if (!feed) return { outcome: 'gone', newEntries: 0 };
  // A feed registered with a faster cron before the floor existed still polls no more often than it allows.
  const sinceLastMs = feed.last_polled_at ? Date.now() - feed.last_polled_at.getTime() : Number.POSITIVE_INFINITY;
  if (!feed.operator && sinceLastMs < deps.config.FEED_MIN_INTERVAL_MS * 0.9) {
    log.debug({ sinceLastMs }, 'polled less than FEED_MIN_INTERVAL_MS ago; tick skipped');
    return { outcome: 'too_soon', newEntries: 0 };
  }

  const pollId = await claimPoll(deps.db, feedId, tick, `${hostname()}:${process.pid}`);
  if (pollId === null) {
    log.info('tick already polled');
    return { outcome: 'already_polled', newEntries: 0 };
  }

  let outcome: PollOutcome;
  let newEntries = 0;
  let error: string | null = null;
  try {
    const fetcher = createConfiguredFetcher(deps.config, deps.redis);
    const collected = await collect(
      { db: deps.db, fetcher, config: deps.config, log },
      { tenantId: feed.tenant_id, kind: feed.kind, url: feed.url },
    );
    if (collected.notModified) {
      outcome = 'not_modified';
    } else {
      const result = await fanOut(deps, {
        tenantId: feed.tenant_id,
        parent: { feedId, kind: feed.kind, url: feed.url, correlationId: `feed-${feedId}-${tick}` },
        collected,
      });
      newEntries = result.newEntries;
      outcome = newEntries > 0 ? 'new_entries' : 'nothing_new';
    }
  } catch (err) {
    // The next tick tries again; retrying this one would only race it.
    outcome = 'failed';
    error = errorMessage(err).slice(0, 2000);
    log.warn({ err: error }, 'feed poll failed');
  }
  await finishPoll(deps.db, { id: pollId, feedId, outcome, newEntries, error });
  log.info({ outcome, newEntries }, 'feed polled');
  return { outcome, newEntries };
}
