import type { Db } from '../db/pool.ts';
import { monthSpendUsd } from '../llm/budget.ts';
import { loadTenantSettings } from '../tenant-settings.ts';
import { destinationNames, plannedDestinationsSql } from './list.ts';

// A tenant at a glance: model spend this month against its budget, posts per day by status, why posts
// failed, what is scheduled where, and how its feeds are polling. Days are UTC calendar days.

/** A failure reason without the parts that differ between posts (URLs, ids, figures), so alike ones group. */
const reasonPattern = `regexp_replace(regexp_replace(regexp_replace(reason,
  'https?://[^\\s"'')]+', '<url>', 'g'),
  '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<id>', 'gi'),
  '[0-9]+(\\.[0-9]+)?', '<n>', 'g')`;

export async function readOverview(db: Db, tenantId: string, opts: { days: number; pollsPerFeed?: number }) {
  const days = opts.days;
  const [settings, spent, perDay, byStatus, failures, scheduled, feeds] = await Promise.all([
    loadTenantSettings(db, tenantId),
    monthSpendUsd(db, tenantId),
    db.query<{ day: string; status: string | null; n: number }>(
      `SELECT to_char(d, 'YYYY-MM-DD') AS day, p.status, count(p.id)::int AS n
         FROM generate_series(date_trunc('day', now() AT TIME ZONE 'UTC') - ($2::int - 1) * interval '1 day',
                              date_trunc('day', now() AT TIME ZONE 'UTC'), interval '1 day') d
         LEFT JOIN posts p ON p.tenant_id = $1
                          AND p.created_at >= d AT TIME ZONE 'UTC' AND p.created_at < (d + interval '1 day') AT TIME
                            ZONE 'UTC'
        GROUP BY d, p.status ORDER BY d, p.status`,
      [tenantId, days],
    ),
    db.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM posts WHERE tenant_id = $1 GROUP BY status ORDER BY status',
      [tenantId],
    ),
    db.query<{ status: string; stage: string | null; reason: string; example: string; n: number; last_at: Date }>(
      `SELECT status, stage, ${reasonPattern} AS reason, min(reason) AS example, count(*)::int AS n, max(updated_at) AS
         last_at
         FROM (SELECT status, updated_at,
                      CASE WHEN status = 'failed' THEN failed_stage ELSE 'generate' END AS stage,
                      CASE WHEN status = 'failed' THEN COALESCE(failure_reason, 'no reason recorded')
                           ELSE COALESCE(held_reason, 'budget exceeded') END AS reason
                 FROM posts
                WHERE tenant_id = $1 AND status IN ('failed', 'budget_exceeded')
                  AND updated_at >= now() - $2::int * interval '1 day') f
        GROUP BY status, stage, ${reasonPattern}
        ORDER BY n DESC, last_at DESC LIMIT 20`,
      [tenantId, days],
    ),
    db.query<{ key: string; n: number; next_at: Date | null }>(
      `SELECT k AS key, count(*)::int AS n,
              min(COALESCE(pp.publish_at, (s.options #>> '{publish,publishAt}')::timestamptz)) AS next_at
         FROM posts p
         JOIN submissions s ON s.id = p.submission_id
         LEFT JOIN post_publishing pp ON pp.post_id = p.id
         CROSS JOIN LATERAL (${plannedDestinationsSql}) dest
         CROSS JOIN LATERAL unnest(dest.keys) k
        WHERE p.tenant_id = $1 AND p.status = 'scheduled'
        GROUP BY k ORDER BY n DESC, k`,
      [tenantId],
    ),
    db.query<{
      id: string;
      kind: string;
      url: string;
      cron: string;
      timezone: string;
      last_polled_at: Date | null;
      last_outcome: string | null;
      last_error: string | null;
    }>(
      `SELECT id, kind, url, cron, timezone, last_polled_at, last_outcome, last_error
         FROM feeds WHERE tenant_id = $1 ORDER BY created_at, id`,
      [tenantId],
    ),
  ]);

  const polls = feeds.rows.length
    ? await db.query<{
        feed_id: string;
        started_at: Date;
        finished_at: Date | null;
        outcome: string | null;
        new_items: number;
        error: string | null;
      }>(
        `SELECT feed_id, started_at, finished_at, outcome, new_items, error
           FROM (SELECT fp.*, row_number() OVER (PARTITION BY feed_id ORDER BY started_at DESC, id DESC) AS rn
                   FROM feed_polls fp WHERE feed_id = ANY($1::uuid[])) x
          WHERE rn <= $2 ORDER BY started_at DESC, id DESC`,
        [feeds.rows.map((f) => f.id), opts.pollsPerFeed ?? 10],
      )
    : { rows: [] };
  const names = await destinationNames(
    db,
    tenantId,
    scheduled.rows.map((r) => r.key),
  );

  const dayMap = new Map<string, Record<string, number>>();
  for (const r of perDay.rows) {
    const counts = dayMap.get(r.day) ?? {};
    if (r.status) counts[r.status] = r.n;
    dayMap.set(r.day, counts);
  }
  const budget = settings.monthlyBudgetUsd ?? null;
  const now = new Date();
  return {
    generatedAt: now.toISOString(),
    days,
    spend: {
      monthStart: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString(),
      spentUsd: spent,
      monthlyBudgetUsd: budget,
      usedRatio: budget === null ? null : budget === 0 ? (spent > 0 ? 1 : 0) : spent / budget,
      perPostCostCapUsd: settings.perPostCostCapUsd ?? null,
    },
    postsByStatus: Object.fromEntries(byStatus.rows.map((r) => [r.status, r.n])),
    postsPerDay: [...dayMap].map(([date, counts]) => ({
      date,
      total: Object.values(counts).reduce((a, b) => a + b, 0),
      byStatus: counts,
    })),
    failures: failures.rows.map((r) => ({
      status: r.status,
      stage: r.stage,
      reason: r.reason,
      example: r.example,
      count: r.n,
      lastAt: r.last_at.toISOString(),
    })),
    scheduled: scheduled.rows.map((r) => ({
      destination: r.key,
      name: names.get(r.key) ?? null,
      count: r.n,
      nextAt: r.next_at?.toISOString() ?? null,
    })),
    feeds: feeds.rows.map((f) => ({
      id: f.id,
      type: f.kind,
      url: f.url,
      cron: f.cron,
      timezone: f.timezone,
      lastPolledAt: f.last_polled_at?.toISOString() ?? null,
      lastOutcome: f.last_outcome,
      lastError: f.last_error,
      recentPolls: polls.rows
        .filter((p) => p.feed_id === f.id)
        .map((p) => ({
          startedAt: p.started_at.toISOString(),
          finishedAt: p.finished_at?.toISOString() ?? null,
          outcome: p.outcome,
          newEntries: p.new_items,
          error: p.error,
        })),
      links: { self: `/api/v1/feeds/${f.id}` },
    })),
  };
}
