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

/** A registered feed as the API shows it. */
export type FeedRow = {
  id: string;
  kind: string;
  url: string;
  cron: string;
  timezone: string;
  created_at: Date;
  last_polled_at: Date | null;
  last_outcome: string | null;
  last_error: string | null;
};

const FEED_COLUMNS = 'id, kind, url, cron, timezone, created_at, last_polled_at, last_outcome, last_error';

/** Registers a feed; null when the tenant already has one at that URL. */
export async function insertFeed(
  db: Db,
  tenantId: string,
  feed: { kind: string; url: string; cron: string; timezone: string },
): Promise<FeedRow | null> {
  const { rows } = await db.query<FeedRow>(
    `INSERT INTO feeds (tenant_id, kind, url, cron, timezone) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, url) DO NOTHING RETURNING ${FEED_COLUMNS}`,
    [tenantId, feed.kind, feed.url, feed.cron, feed.timezone],
  );
  return rows[0] ?? null;
}

export async function listFeeds(db: Db, tenantId: string): Promise<FeedRow[]> {
  const { rows } = await db.query<FeedRow>(
    `SELECT ${FEED_COLUMNS} FROM feeds WHERE tenant_id = $1 ORDER BY created_at, id`,
    [tenantId],
  );
  return rows;
}

export async function findFeed(db: Db, tenantId: string, id: string): Promise<FeedRow | null> {
  const { rows } = await db.query<FeedRow>(`SELECT ${FEED_COLUMNS} FROM feeds WHERE id = $1 AND tenant_id = $2`, [
    id,
    tenantId,
  ]);
  return rows[0] ?? null;
}

/** The feed's last 20 polls, newest first. */
export async function recentPolls(
  db: Db,
  feedId: string,
): Promise<Array<{ tick: string; started_at: Date; outcome: string | null; new_items: number; error: string | null }>> {
  const { rows } = await db.query<{
    tick: string;
    started_at: Date;
    outcome: string | null;
    new_items: number;
    error: string | null;
  }>(
    `SELECT tick, started_at, outcome, new_items, error FROM feed_polls
      WHERE feed_id = $1 ORDER BY started_at DESC, id DESC LIMIT 20`,
    [feedId],
  );
  return rows;
}

/** Deletes a feed (of the tenant, when one is given); whether there was one. */
export async function deleteFeed(db: Db, id: string, tenantId?: string): Promise<boolean> {
  const { rows } =
    tenantId === undefined
      ? await db.query<{ id: string }>('DELETE FROM feeds WHERE id = $1 RETURNING id', [id])
      : await db.query<{ id: string }>('DELETE FROM feeds WHERE id = $1 AND tenant_id = $2 RETURNING id', [
          id,
          tenantId,
        ]);
  return rows.length > 0;
}
