import type { Queue } from 'bullmq';
import type { Db } from './db/pool.ts';
import {
  dbPoolConnections,
  metricsCollectErrorsTotal,
  posts,
  queueJobs,
  queueWorkers,
  setScrapeRefresh,
  tenantBudgetUsedRatioMax,
  tenantsNearBudget,
} from './metrics.ts';

// Gauges read at scrape time from Redis and PostgreSQL. One refresh serves every gauge of a scrape
// and is reused for `ttlMs`, so several Prometheus servers (or a dashboard poll) cost one read.

export const queueStates = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;

/** Share of the monthly budget from which a tenant counts as near it (the alert threshold). */
const nearBudgetRatio = 0.8;

export type ScrapeSources = { db: Db; queues: readonly Queue[]; ttlMs?: number };

/** Installs the scrape-time reads for this process; returns the function that removes them again. */
export function installScrapeCollectors(sources: ScrapeSources): () => void {
  const ttlMs = sources.ttlMs ?? 2000;
  let last: { at: number; done: Promise<void> } | null = null;
  const refresh = () => {
    if (!last || Date.now() - last.at >= ttlMs) last = { at: Date.now(), done: readAll(sources) };
    return last.done;
  };
  setScrapeRefresh(refresh);
  return () => setScrapeRefresh(null);
}

async function readAll({ db, queues }: ScrapeSources): Promise<void> {
  // The pool is in memory: always current.
  dbPoolConnections.set({ state: 'total' }, db.pool.totalCount);
  dbPoolConnections.set({ state: 'idle' }, db.pool.idleCount);
  dbPoolConnections.set({ state: 'waiting' }, db.pool.waitingCount);
  await Promise.all([readQueues(queues), readDatabase(db)]);
}

async function readQueues(queues: readonly Queue[]): Promise<void> {
  try {
    const read = await Promise.all(
      queues.map(async (q) => [q, await q.getJobCounts(...queueStates), await q.getWorkersCount()] as const),
    );
    for (const [queue, counts, workers] of read) {
      for (const state of queueStates) queueJobs.set({ queue: queue.name, state }, counts[state] ?? 0);
      queueWorkers.set({ queue: queue.name }, workers);
    }
  } catch {
    // Redis is away: the gauges keep their last values and the error counter tells.
    metricsCollectErrorsTotal.inc({ source: 'queues' });
  }
}

async function readDatabase(db: Db): Promise<void> {
  try {
    const byStatus = await db.query<{ status: string; n: number }>(
      `SELECT s.status, count(p.id)::int AS n FROM post_statuses s LEFT JOIN ` +
        `posts p ON p.status = s.status GROUP BY s.status`,
    );
    for (const row of byStatus.rows) posts.set({ status: row.status }, row.n);

    const budget = await readBudgetUse(db);
    tenantBudgetUsedRatioMax.set(budget.maxRatio);
    tenantsNearBudget.set(budget.near);
  } catch {
    metricsCollectErrorsTotal.inc({ source: 'database' });
  }
}

/**
 * Spend this calendar month (UTC) over tenants.settings.monthlyBudgetUsd, for tenants that have a
 * budget. The llm_calls table comes with the generate stage's migration; until it exists nothing
 * has been spent.
 */
async function readBudgetUse(db: Db): Promise<{ maxRatio: number; near: number }> {
  const table = await db.query<{ present: boolean }>(`SELECT to_regclass('llm_calls') IS NOT NULL AS present`);
  if (!table.rows[0]?.present) return { maxRatio: 0, near: 0 };
  const { rows } = await db.query<{ max_ratio: number | null; near: number }>(
    `WITH budgets AS (
       SELECT id, (settings->>'monthlyBudgetUsd')::float8 AS budget
         FROM tenants
        WHERE jsonb_typeof(settings->'monthlyBudgetUsd') = 'number' AND (settings->>'monthlyBudgetUsd')::float8 > 0
     ), spent AS (
       SELECT b.id, b.budget, coalesce(sum(c.cost_usd), 0)::float8 AS used
         FROM budgets b
         LEFT JOIN llm_calls c ON c.tenant_id = b.id AND c.created_at >= date_trunc('month', now() AT TIME ZONE 'UTC')
           AT TIME ZONE 'UTC'
        GROUP BY b.id, b.budget
     )
     SELECT max(used / budget) AS max_ratio, count(*) FILTER (WHERE used / budget >= $1)::int AS near FROM spent`,
    [nearBudgetRatio],
  );
  return { maxRatio: rows[0]?.max_ratio ?? 0, near: rows[0]?.near ?? 0 };
}
