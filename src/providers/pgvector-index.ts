import { createHash } from 'node:crypto';
import pgvector from 'pgvector';
import type { Db } from '../db/pool.ts';

export type SearchHit = { postId: string; position: number; heading: string | null; content: string; score: number };

export interface VectorIndex {
  readonly name: string;
  /** Makes the post's current chunks searchable under the given embedding model. */
  upsertPost(postId: string, model: string, dimension: number): Promise<number>;
  search(tenantId: string, vector: number[], opts: { model: string; limit: number }): Promise<SearchHit[]>;
}

/**
 * pgvector in the same PostgreSQL. Vectors are copied from the embedding cache onto the post's
 * chunk rows; each model gets its own partial HNSW index (cosine) with the dimension cast, so a
 * new model adds an index instead of breaking the old one.
 */
export function createPgvectorIndex(db: Db, opts: { efSearch: number }): VectorIndex {
  const ready = new Set<string>();

  async function ensureIndex(model: string, dimension: number): Promise<void> {
    if (ready.has(model)) return;
    const name = `post_chunks_hnsw_${createHash('sha256').update(model).digest('hex').slice(0, 12)}`;
    await db.tx(async (client) => {
      // Serialises workers that meet a new model at the same time; CREATE INDEX IF NOT EXISTS alone can race.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${name} ON post_chunks
           USING hnsw ((embedding::vector(${Number(dimension)})) vector_cosine_ops)
           WHERE embedding_model = ${quoteLiteral(model)}`,
      );
    });
    ready.add(model);
  }

  return {
    name: 'pgvector',
    async upsertPost(postId, model, dimension) {
      await ensureIndex(model, dimension);
      const { rowCount } = await db.query(
        `UPDATE post_chunks c SET embedding = e.embedding, embedding_model = e.model
           FROM embedding_cache e
          WHERE c.post_id = $1 AND e.model = $2 AND e.content_hash = c.content_hash`,
        [postId, model],
      );
      const missing = await db.query(
        `SELECT count(*)::int AS n FROM post_chunks WHERE post_id = $1 AND embedding_model IS DISTINCT FROM $2`,
        [postId, model],
      );
      const n = (missing.rows[0] as { n: number }).n;
      if (n > 0) throw new Error(`${n} chunk(s) of post ${postId} have no cached embedding for ${model}`);
      return rowCount ?? 0;
    },
    async search(tenantId, vector, { model, limit }) {
      const dimension = vector.length;
      return db.tx(async (client) => {
        await client.query(`SET LOCAL hnsw.ef_search = ${Number(opts.efSearch)}`);
        // The expression and predicate match the partial index, so the planner can use it.
        const { rows } = await client.query<{ post_id: string; position: number; heading: string | null; content: string; distance: number }>(
          `SELECT post_id, position, heading, content,
                  (embedding::vector(${dimension})) <=> $2::vector(${dimension}) AS distance
             FROM post_chunks
            WHERE embedding_model = $3 AND tenant_id = $1
            ORDER BY (embedding::vector(${dimension})) <=> $2::vector(${dimension})
            LIMIT $4`,
          [tenantId, pgvector.toSql(vector), model, limit],
        );
        return rows.map((r) => ({ postId: r.post_id, position: r.position, heading: r.heading, content: r.content, score: 1 - r.distance }));
      });
    },
  };
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
