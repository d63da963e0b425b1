import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../src/config.ts';

// The scheduler's jobs, apart from the five stages: what runs on the maintenance queue, what each job
// carries, and the job schedulers that create one job per tick however many scheduler processes run.

export const maintenanceJobNames = ['sweep-stranded', 'sweep-failed', 'backup', 'poll-feed'] as const;
export type MaintenanceJobName = (typeof maintenanceJobNames)[number];

export const pollFeedJobName = 'poll-feed' satisfies MaintenanceJobName;
export const pollFeedJobSchema = z.object({ feedId: z.uuid() }).strict();

const feedSchedulerPrefix = 'feed:';
export const feedSchedulerId = (feedId: string) => `${feedSchedulerPrefix}${feedId}`;

/** The periodic sweeps and the backup, as configured; a backup scheduler left from an earlier setting is removed. */
export async function upsertMaintenanceSchedulers(queue: Queue, config: Config): Promise<void> {
  await queue.upsertJobScheduler(
    'sweep-stranded',
    { every: config.SCHEDULER_TICK_MS },
    { name: 'sweep-stranded', opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
  );
  await queue.upsertJobScheduler(
    'sweep-failed',
    { every: config.SWEEP_FAILED_EVERY_MS },
    { name: 'sweep-failed', opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
  );
  if (config.BACKUP_DIR) {
    await queue.upsertJobScheduler(
      'backup',
      { pattern: config.BACKUP_CRON },
      { name: 'backup', opts: { removeOnComplete: { count: 30 }, removeOnFail: { count: 30 } } },
    );
  } else {
    await queue.removeJobScheduler('backup');
  }
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
 * Makes the feed job schedulers match the registered feeds: every feed scheduled, no scheduler left for a
 * deleted one. Idempotent, so every scheduler process may run it at start.
 */
export async function syncFeedSchedulers(
  queue: Queue,
  feeds: { id: string; cron: string; timezone: string }[],
): Promise<{ scheduled: number; removed: number }> {
  for (const feed of feeds) await scheduleFeed(queue, feed);
  const ids = new Set(feeds.map((f) => feedSchedulerId(f.id)));
  let removed = 0;
  for (const scheduler of await queue.getJobSchedulers(0, -1)) {
    if (scheduler.key.startsWith(feedSchedulerPrefix) && !ids.has(scheduler.key)) {
      await queue.removeJobScheduler(scheduler.key);
      removed++;
    }
  }
  return { scheduled: feeds.length, removed };
}

/**
 * Re-creates the scheduler's job schedulers when some are missing (Redis restarted empty, or failed over
 * and lost recent writes): the sweeps and the backup, and every registered feed's. Cheap when nothing is
 * missing (one count); the scheduler role runs it periodically and whenever its connection comes back.
 */
export async function ensureSchedulers(
  queue: Queue,
  config: Config,
  feeds: () => Promise<{ id: string; cron: string; timezone: string }[]>,
): Promise<boolean> {
  const registered = await feeds();
  const expected = 2 + (config.BACKUP_DIR ? 1 : 0) + registered.length;
  if ((await queue.getJobSchedulersCount()) >= expected) return false;
  await upsertMaintenanceSchedulers(queue, config);
  await syncFeedSchedulers(queue, registered);
  return true;
}
