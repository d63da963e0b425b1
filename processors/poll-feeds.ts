import { hostname } from 'node:os';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../src/config.ts';
import type { Db } from '../src/db/pool.ts';
import { errorMessage } from '../src/errors.ts';
import { createConfiguredFetcher } from '../src/fetch/index.ts';
import { collect, fanOut, type CollectorKind } from '../src/ingest/collect.ts';
import type { Logger } from '../src/logger.ts';
import { feedPollsTotal } from '../src/metrics.ts';
import type { PipelineQueues } from '../src/pipeline-queues.ts';

// Scheduler job: polls one registered feed, sitemap or site. Each feed has its own BullMQ job
// scheduler on the maintenance queue, keyed by the feed id, so however many scheduler processes
// run there is one job per tick; the tick is also recorded under a unique key, so a job that runs
// twice (a stalled retry) polls once.

export const pollFeedJobName = 'poll-feed';
export const pollFeedJobSchema = z.object({ feedId: z.uuid() }).strict();

const schedulerPrefix = 'feed:';
export const feedSchedulerId = (feedId: string) => `${schedulerPrefix}${feedId}`;

type FeedRow = { id: string; tenant_id: string; kind: CollectorKind; url: string; cron: string; timezone: string };
type PollDeps = { db: Db; queues: PipelineQueues; redis: Redis; config: Config; log: Logger };
export type PollOutcome = 'not_modified' | 'new_entries' | 'nothing_new' | 'already_polled' | 'gone' | 'failed';

export async function pollFeed(
  deps: PollDeps,
  job: { id?: string | undefined; data: unknown },
): Promise<{ outcome: PollOutcome; newEntries: number }> {
  const { feedId } = pollFeedJobSchema.parse(job.data);
  const tick = job.id ?? `manual-${Date.now()}`;
  const log = deps.log.child({ feedId, tick });
  const { rows } = await deps.db.query<FeedRow>(
    'SELECT id, tenant_id, kind, url, cron, timezone FROM feeds WHERE id = $1',
    [feedId],
  );
  const feed = rows[0];
  if (!feed) return { outcome: 'gone', newEntries: 0 };

  const claimed = await deps.db.query<{ id: number }>(
    `INSERT INTO feed_polls (feed_id, tick, worker) VALUES ($1, $2, $3) ON CONFLICT (feed_id, tick) DO NOTHING RETURNING id`,
    [feedId, tick, `${hostname()}:${process.pid}`],
  );
  const pollId = claimed.rows[0]?.id;
  if (pollId === undefined) {
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
  await deps.db.query(
    `UPDATE feed_polls SET finished_at = now(), outcome = $2, new_items = $3, error = $4 WHERE id = $1`,
    [pollId, outcome, newEntries, error],
  );
  await deps.db.query(`UPDATE feeds SET last_polled_at = now(), last_outcome = $2, last_error = $3 WHERE id = $1`, [
    feedId,
    outcome,
    error,
  ]);
  feedPollsTotal.inc({ outcome });
  log.info({ outcome, newEntries }, 'feed polled');
  return { outcome, newEntries };
}

/** Adds or updates the job scheduler of one feed. */
export async function scheduleFeed(queue: Queue, feed: { id: string; cron: string; timezone: string }): Promise<void> {
  await queue.upsertJobScheduler(
    feedSchedulerId(feed.id),
    { pattern: feed.cron, tz: feed.timezone },
    {
      name: pollFeedJobName,
      data: { feedId: feed.id },
      opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    },
  );
}

export async function unscheduleFeed(queue: Queue, feedId: string): Promise<void> {
  await queue.removeJobScheduler(feedSchedulerId(feedId));
}

/**
 * Makes the job schedulers match the feeds table: every feed scheduled, no scheduler left for a
 * deleted one. Idempotent, so every scheduler process may run it at start.
 */
export async function syncFeedSchedulers(db: Db, queue: Queue): Promise<{ scheduled: number; removed: number }> {
  const { rows } = await db.query<{ id: string; cron: string; timezone: string }>(
    'SELECT id, cron, timezone FROM feeds',
  );
  for (const feed of rows) await scheduleFeed(queue, feed);
  const ids = new Set(rows.map((f) => feedSchedulerId(f.id)));
  let removed = 0;
  for (const scheduler of await queue.getJobSchedulers(0, -1)) {
    if (scheduler.key.startsWith(schedulerPrefix) && !ids.has(scheduler.key)) {
      await queue.removeJobScheduler(scheduler.key);
      removed++;
    }
  }
  return { scheduled: rows.length, removed };
}
