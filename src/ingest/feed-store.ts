import type { Db } from '../db/pool.ts';

// Queries of the feeds table.

/** Every registered feed's schedule, for the scheduler to keep its job schedulers in step. */
export async function listFeedSchedules(db: Db): Promise<{ id: string; cron: string; timezone: string }[]> {
  const { rows } = await db.query<{ id: string; cron: string; timezone: string }>(
    'SELECT id, cron, timezone FROM feeds',
  );
  return rows;
}
