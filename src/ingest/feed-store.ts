import type { Db } from '../db/pool.ts';
import type { CollectorKind } from './collect.ts';

// Queries of the feeds table.

/** Every registered feed's schedule, for the scheduler to keep its job schedulers in step. */
export async function listFeedSchedules(db: Db): Promise<{ id: string; cron: string; timezone: string }[]> {
  const { rows } = await db.query<{ id: string; cron: string; timezone: string }>(
    'SELECT id, cron, timezone FROM feeds',
  );
  return rows;
}

/** A feed as its poll reads it, with whether its tenant is an operator tenant (no polling floor). */
export type PolledFeed = {
  id: string;
  tenant_id: string;
  kind: CollectorKind;
  url: string;
  cron: string;
  timezone: string;
  operator: boolean;
  last_polled_at: Date | null;
};

export async function feedToPoll(db: Db, feedId: string): Promise<PolledFeed | null> {
  const { rows } = await db.query<PolledFeed>(
    `SELECT f.id, f.tenant_id, f.kind, f.url, f.cron, f.timezone, f.last_polled_at, t.operator
       FROM feeds f JOIN tenants t ON t.id = f.tenant_id WHERE f.id = $1`,
    [feedId],
  );
  return rows[0] ?? null;
}

/** Claims a scheduler tick's poll of a feed: the poll's id, or null when another worker polled that tick. */
export async function claimPoll(db: Db, feedId: string, tick: string, worker: string): Promise<number | null> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO feed_polls (feed_id, tick, worker) VALUES ($1, $2, $3)
     ON CONFLICT (feed_id, tick) DO NOTHING RETURNING id`,
    [feedId, tick, worker],
  );
  return rows[0]?.id ?? null;
}

/** Records how a poll ended, on the poll and on its feed. */
export async function finishPoll(
  db: Db,
  poll: { id: number; feedId: string; outcome: string; newEntries: number; error: string | null },
): Promise<void> {
  await db.query(`UPDATE feed_polls SET finished_at = now(), outcome = $2, new_items = $3, error = $4 WHERE id = $1`, [
    poll.id,
    poll.outcome,
    poll.newEntries,
    poll.error,
  ]);
  await db.query(`UPDATE feeds SET last_polled_at = now(), last_outcome = $2, last_error = $3 WHERE id = $1`, [
    poll.feedId,
    poll.outcome,
    poll.error,
  ]);
}
