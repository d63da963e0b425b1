import { createHash } from 'node:crypto';
import pg from 'pg';
import pgvector from 'pgvector';
import type { Db } from '../db/pool.ts';
import { vectorSearchSeconds } from '../metrics.ts';
import type { VectorIndex, VectorSpace } from './types.ts';

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
      return db.tx(async (client) => {
        const updated = await client.query(
          `UPDATE post_chunks c SET embedding = u.embedding::vector, embedding_model = $3
             FROM unnest($4::int[], $5::text[]) AS u(position, embedding)
            WHERE c.post_id = $1 AND c.tenant_id = $2 AND c.position = u.position`,
          [postId, tenantId, space.model, chunks.map((c) => c.position), chunks.map((c) => pgvector.toSql(c.vector))],
        );
        if ((updated.rowCount ?? 0) !== chunks.length) {
          throw new Error(
            `post ${postId} of tenant ${tenantId} has ${updated.rowCount} of ${chunks.length} chunk rows to index`,
          );
        }
        await client.query(
          `UPDATE post_chunks SET embedding = NULL, embedding_model = NULL
            WHERE post_id = $1 AND embedding_model = $2 AND NOT (position = ANY($3::int[]))`,
          [postId, space.model, chunks.map((c) => c.position)],
        );
        return chunks.length;
      });
    },

    async deletePost(postId, space) {
      await db.query(
        `UPDATE post_chunks SET embedding = NULL, embedding_model = NULL WHERE post_id = $1 AND embedding_model = $2`,
        [postId, space.model],
      );
    },

    async search(tenantId, space, vector, { limit, excludePostId }) {
      checkDimension(vector, space);
      const end = vectorSearchSeconds.startTimer({ backend: 'pgvector' });
      try {
        return await db.tx(async (client) => {
          await client.query(`SET LOCAL hnsw.ef_search = ${Number(opts.efSearch)}`);
          await client.query(`SET LOCAL hnsw.iterative_scan = relaxed_order`);
          const d = dim(space);
          // The expression and the predicate match the partial index, so the planner can use it; relaxed order
          // is re-sorted outside the materialised scan, as pgvector recommends.
          const { rows } = await client.query<{ post_id: string; position: number; distance: number }>(
            `WITH nearest AS MATERIALIZED (
               SELECT post_id, position, (embedding::vector(${d})) <=> $2::vector(${d}) AS distance
                 FROM post_chunks
                WHERE embedding_model = ${pg.escapeLiteral(space.model)} AND tenant_id = $1
                  AND ($4::uuid IS NULL OR post_id <> $4::uuid)
                ORDER BY (embedding::vector(${d})) <=> $2::vector(${d})
                LIMIT $3)
             SELECT post_id, position, distance FROM nearest ORDER BY distance, post_id, position`,
            [tenantId, pgvector.toSql(vector), limit, excludePostId ?? null],
          );
          return rows.map((r) => ({ postId: r.post_id, position: r.position, score: 1 - r.distance }));
        });
      } finally {
        end();
      }
    },
  };
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
