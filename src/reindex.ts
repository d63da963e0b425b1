import type { Config } from './config.ts';
import type { Db } from './db/pool.ts';
import type { Providers } from './providers.ts';
import { indexPost, vectorDeps } from './vector/post-index.ts';

export type ReindexProgress = {
  tenantId: string;
  done: number;
  total: number;
  chunks: number;
  embedded: number;
  resumed: boolean;
  finished: boolean;
};

export class ReindexError extends Error {}

/**
 * Rebuilds one tenant's index under the configured embedder and index backend, for example after switching
 * the embedder: every post that has chunks is embedded (through the cache, so only new texts cost a call) and
 * upserted. Progress is stored per tenant, backend and model after each post, so an interrupted run continues
 * after the last post it finished; `restart` starts over.
 */
export async function reindexTenant(
  deps: { db: Db; providers: Providers; config: Pick<Config, 'EMBEDDING_BATCH_SIZE'> },
  opts: {
    tenant: string;
    restart?: boolean;
    batchSize?: number;
    stopAfter?: number;
    onProgress?: (p: ReindexProgress) => void;
  },
): Promise<ReindexProgress> {
  const { db } = deps;
  const v = vectorDeps(db, deps.providers, deps.config);
  const tenant = await db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = $1 OR id::text = $1`, [
    opts.tenant,
  ]);
  const tenantId = tenant.rows[0]?.id;
  if (!tenantId) throw new ReindexError(`no tenant "${opts.tenant}"`);
  const key = [tenantId, v.index.name, v.space.model];

  const total = (
    await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM posts p WHERE p.tenant_id = $1 AND EXISTS ` +
        `(SELECT 1 FROM post_chunks c WHERE c.post_id = p.id)`,
      [tenantId],
    )
  ).rows[0]!.n;
  const { rows } = await db.query<{
    last_post_id: string | null;
    posts_done: number;
    chunks_indexed: number;
    finished_at: Date | null;
  }>(
    `INSERT INTO reindex_runs (tenant_id, vector_index, embedding_model, posts_total) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id, vector_index, embedding_model) DO UPDATE SET
       last_post_id = CASE WHEN $5 OR reindex_runs.finished_at IS NOT NULL THEN NULL ELSE reindex_runs.last_post_id END,
       posts_done = CASE WHEN $5 OR reindex_runs.finished_at IS NOT NULL THEN 0 ELSE reindex_runs.posts_done END,
       chunks_indexed = CASE WHEN $5 OR reindex_runs.finished_at IS NOT NULL THEN 0 ELSE reindex_runs.chunks_indexed
         END,
       started_at = CASE WHEN $5 OR reindex_runs.finished_at IS NOT NULL THEN now() ELSE reindex_runs.started_at END,
       finished_at = NULL, posts_total = $4, updated_at = now()
     RETURNING last_post_id, posts_done, chunks_indexed, finished_at`,
    [...key, total, opts.restart ?? false],
  );
  let last = rows[0]!.last_post_id;
  const progress: ReindexProgress = {
    tenantId,
    done: rows[0]!.posts_done,
    total,
    chunks: rows[0]!.chunks_indexed,
    embedded: 0,
    resumed: last !== null,
    finished: false,
  };
  opts.onProgress?.({ ...progress });

  const batchSize = opts.batchSize ?? 100;
  let processed = 0;
  for (;;) {
    const page = await db.query<{ id: string }>(
      `SELECT p.id FROM posts p
        WHERE p.tenant_id = $1 AND ($2::uuid IS NULL OR p.id > $2::uuid)
          AND EXISTS (SELECT 1 FROM post_chunks c WHERE c.post_id = p.id)
        ORDER BY p.id LIMIT $3`,
      [tenantId, last, batchSize],
    );
    if (page.rows.length === 0) break;
    for (const { id } of page.rows) {
      if (opts.stopAfter !== undefined && processed >= opts.stopAfter) return progress;
      const { indexed, embedded } = await indexPost(v, { id, tenantId });
      last = id;
      processed++;
      progress.done++;
      progress.chunks += indexed;
      progress.embedded += embedded;
      await db.query(
        `UPDATE reindex_runs SET last_post_id = $4, posts_done = $5, chunks_indexed = $6, updated_at = now()
          WHERE tenant_id = $1 AND vector_index = $2 AND embedding_model = $3`,
        [...key, id, progress.done, progress.chunks],
      );
      opts.onProgress?.({ ...progress });
    }
  }
  await db.query(
    `UPDATE reindex_runs SET finished_at = now() WHERE tenant_id = $1 AND vector_index = $2 AND embedding_model = $3`,
    key,
  );
  progress.finished = true;
  opts.onProgress?.({ ...progress });
  return progress;
}
