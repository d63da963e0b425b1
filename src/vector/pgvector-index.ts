import { createHash } from 'node:crypto';
import pg from 'pg';
import pgvector from 'pgvector';
import type { Db } from '../db/pool.ts';
import { vectorSearchSeconds } from '../metrics.ts';
import type { IndexHit, SearchOptions, VectorIndex, VectorSpace } from './types.ts';

export type PgvectorOptions = {
  /** hnsw.ef_search: candidates kept per query; higher is slower and more exact. */
  efSearch: number;
  /** HNSW build parameters; pgvector's defaults. */
  m?: number;
  efConstruction?: number;
};

export const pgvectorDefaults = { m: 16, efConstruction: 64 };

/** Name of the partial HNSW index of one embedding space. */
export function pgvectorIndexName(space: VectorSpace): string {
  const hash = createHash('sha256').update(`${space.model}|${space.dimension}`).digest('hex');
  return `post_chunks_hnsw_${hash.slice(0, 12)}`;
}

/**
 * Creates the space's partial HNSW index (cosine) when missing. The embedding column has no fixed dimension,
 * so each model gets its own index over `embedding::vector(dimension)` restricted to its rows: a new model adds
 * an index instead of breaking the old one.
 */
export async function ensurePgvectorIndex(
  db: Db,
  space: VectorSpace,
  opts: { m?: number; efConstruction?: number } = {},
): Promise<string> {
  const name = pgvectorIndexName(space);
  const m = opts.m ?? pgvectorDefaults.m;
  const efConstruction = opts.efConstruction ?? pgvectorDefaults.efConstruction;
  await db.tx(async (client) => {
    // Serialises workers that meet a new model at the same time; CREATE INDEX IF NOT EXISTS alone can race.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${name} ON post_chunks
         USING hnsw ((embedding::vector(${dim(space)})) vector_cosine_ops) WITH (m = ${Number(m)}, ef_construction =
           ${Number(efConstruction)})
         WHERE embedding_model = ${pg.escapeLiteral(space.model)}`,
    );
  });
  return name;
}

/**
 * pgvector in the same PostgreSQL: vectors live on the post's chunk rows (post_chunks.embedding), searched
 * through the space's partial HNSW index with the tenant filter in the same query. pgvector's iterative scan
 * keeps a small tenant from getting fewer than `limit` hits when other tenants' chunks crowd the candidates.
 */
export function createPgvectorIndex(db: Db, opts: PgvectorOptions): VectorIndex {
  const ready = new Set<string>();
  const configured = new WeakSet<pg.PoolClient>();

  async function ensure(space: VectorSpace): Promise<void> {
    const key = `${space.model}|${space.dimension}`;
    if (ready.has(key)) return;
    await ensurePgvectorIndex(db, space, opts);
    ready.add(key);
  }

  return {
    name: 'pgvector',

    async upsertPost({ postId, tenantId }, space, chunks) {
      await ensure(space);
      for (const c of chunks) checkDimension(c.vector, space);
      // One statement: these chunks get their vectors, the post's other chunks in the space lose theirs.
      const { rows } = await db
        .query<{ updated: number }>(
          `WITH updated AS (
           UPDATE post_chunks c SET embedding = u.embedding::vector, embedding_model = $3
             FROM unnest($4::int[], $5::text[]) AS u(position, embedding)
            WHERE c.post_id = $1 AND c.tenant_id = $2 AND c.position = u.position RETURNING c.position),
              cleared AS (
           UPDATE post_chunks SET embedding = NULL, embedding_model = NULL
            WHERE post_id = $1 AND embedding_model = $3 AND NOT (position = ANY($4::int[])))
         -- Fewer rows than chunks (the post was chunked again meanwhile) fails the statement, undoing both updates:
         -- casting the message to a number is what raises the error.
         SELECT CASE WHEN count(*) = $6 THEN count(*)::int
                     ELSE ('post ' || $1 || ' of tenant ' || $2 || ' has ' || count(*) || ' of ' || $6 ||
                           ' chunk rows to index')::int END AS updated
           FROM updated`,
          [
            postId,
            tenantId,
            space.model,
            chunks.map((c) => c.position),
            chunks.map((c) => pgvector.toSql(c.vector)),
            chunks.length,
          ],
        )
        .catch((err: Error & { code?: string }) => {
          // The statement's own refusal, as the error it stands for.
          const message = err.code === '22P02' ? /"(post .*)"/.exec(err.message)?.[1] : undefined;
          throw message ? new Error(message) : err;
        });
      return rows[0]?.updated ?? 0;
    },

    async deletePost(postId, space) {
      await db.query(
        `UPDATE post_chunks SET embedding = NULL, embedding_model = NULL WHERE post_id = $1 AND embedding_model = $2`,
        [postId, space.model],
      );
    },

    async search(tenantId, space, vector, opts) {
      return (await searchMany(tenantId, space, [vector], opts))[0]!;
    },

    searchMany,
  };

  async function searchMany(
    tenantId: string,
    space: VectorSpace,
    vectors: number[][],
    { limit, excludePostId }: SearchOptions,
  ): Promise<IndexHit[][]> {
    for (const v of vectors) checkDimension(v, space);
    if (vectors.length === 0) return [];
    const end = vectorSearchSeconds.startTimer({ backend: 'pgvector' });
    try {
      return await withSearchSettings(async (client) => {
        const d = dim(space);
        // The expression and the predicate match the partial index, so the planner can use it for each query
        // vector; relaxed order is re-sorted outside the scan, as pgvector recommends. The query vectors are parsed
        // once, in the array's cast: a cast beside the distance is evaluated per row when the planner scans the
        // tenant's rows instead of the index (small tenants), 40 times slower at 640 rows of 384 dimensions.
        const { rows } = await client.query<{ i: number; post_id: string; position: number; distance: number }>(
          `SELECT q.i::int AS i, n.post_id, n.position, n.distance
               FROM unnest($2::text[]::vector(${d})[]) WITH ORDINALITY AS q(v, i)
               CROSS JOIN LATERAL (
                 SELECT post_id, position, (embedding::vector(${d})) <=> q.v AS distance
                   FROM post_chunks
                  WHERE embedding_model = ${pg.escapeLiteral(space.model)} AND tenant_id = $1
                    AND ($4::uuid IS NULL OR post_id <> $4::uuid)
                  ORDER BY (embedding::vector(${d})) <=> q.v
                  LIMIT $3) n
              ORDER BY q.i, n.distance, n.post_id, n.position`,
          [tenantId, vectors.map((v) => pgvector.toSql(v)), limit, excludePostId ?? null],
        );
        const hits = vectors.map((): IndexHit[] => []);
        for (const r of rows) hits[r.i - 1]!.push({ postId: r.post_id, position: r.position, score: 1 - r.distance });
        return hits;
      });
    } finally {
      end();
    }
  }

  /**
   * Runs fn on a connection with the search settings (ef_search, iterative scan) set for its session, once per
   * connection rather than per search: they concern HNSW scans only, which are these searches.
   */
  async function withSearchSettings<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await db.pool.connect();
    // A connection that drops emits 'error' on the client; it is destroyed instead of going back to the pool.
    let lost = false;
    const onError = () => {
      lost = true;
    };
    client.on('error', onError);
    try {
      if (!configured.has(client)) {
        await client.query(`SET hnsw.ef_search = ${Number(opts.efSearch)}; SET hnsw.iterative_scan = relaxed_order`);
        configured.add(client);
      }
      return await fn(client);
    } finally {
      client.off('error', onError);
      client.release(lost || undefined);
    }
  }
}

function dim(space: VectorSpace): number {
  if (!Number.isInteger(space.dimension) || space.dimension < 1 || space.dimension > 16000)
    throw new RangeError(`bad dimension ${space.dimension}`);
  return space.dimension;
}

function checkDimension(vector: number[], space: VectorSpace): void {
  if (vector.length !== space.dimension)
    throw new RangeError(
      `a vector of ${vector.length} dimensions does not fit the ${space.model} space (${space.dimension})`,
    );
}
