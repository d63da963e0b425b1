import { createHash } from 'node:crypto';
import pgvector from 'pgvector';
import type { Db } from '../db/pool.ts';
import { embeddedTextsTotal, embeddingCacheLookupsTotal, embeddingRequestsTotal } from '../metrics.ts';
import type { Chunk, Embedder } from './types.ts';

// The embedding cache (embedding_cache: model key + text hash → vector). Every path that needs a vector goes
// through ensureEmbeddings, so a text is embedded once per model, whoever asks for it first.

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** What is embedded for a chunk: its section heading gives the text its context (and the title the lead). */
export function embeddingInput(chunk: Pick<Chunk, 'heading' | 'text'>): string {
  return chunk.heading ? `${chunk.heading}\n\n${chunk.text}` : chunk.text;
}

/** Counts embedder calls and embedded texts by provider (a bounded label). */
export function instrumentEmbedder(embedder: Embedder, provider: string): Embedder {
  embeddingRequestsTotal.inc({ provider }, 0);
  embeddedTextsTotal.inc({ provider }, 0);
  return {
    model: embedder.model,
    dimension: embedder.dimension,
    async embed(texts) {
      embeddingRequestsTotal.inc({ provider });
      embeddedTextsTotal.inc({ provider }, texts.length);
      return embedder.embed(texts);
    },
    ...(embedder.check ? { check: () => embedder.check!() } : {}),
    ...(embedder.probe ? { probe: () => embedder.probe!() } : {}),
  };
}

/**
 * Vectors for the given texts (by hash), embedding only those the cache does not have, in batches.
 * `model` is the cache key of the embedder (model and dimension).
 */
export async function ensureEmbeddings(
  db: Db,
  embedder: Embedder,
  model: string,
  texts: { hash: string; text: string }[],
  opts: { batchSize?: number } = {},
): Promise<{ vectors: Map<string, number[]>; embedded: number }> {
  const unique = [...new Map(texts.map((t) => [t.hash, t])).values()];
  if (unique.length === 0) return { vectors: new Map(), embedded: 0 };
  const cached = await db.query<{ content_hash: string; embedding: string }>(
    'SELECT content_hash, embedding::text AS embedding FROM embedding_cache ' +
      'WHERE model = $1 AND content_hash = ANY($2::text[])',
    [model, unique.map((t) => t.hash)],
  );
  return embedUncached(
    db,
    embedder,
    model,
    texts,
    new Map(cached.rows.map((r) => [r.content_hash, vectorFromText(r.embedding)])),
    opts,
  );
}

/** The cache's vectors of `hashes` under `model`, as a column of another query (named `cached`). */
export const cachedVectorsColumn = (model: string, hashes: string) =>
  `(SELECT COALESCE(json_object_agg(e.content_hash, e.embedding::real[]), '{}') FROM embedding_cache e
     WHERE e.model = ${model} AND e.content_hash = ANY(${hashes})) AS cached`;

/**
 * ensureEmbeddings for a caller that already read what the cache holds of `texts` (`cached`, by hash): embeds the
 * rest in batches and stores them in the cache, each batch as it comes (a retry re-embeds none of them). With
 * `deferLast`, the last batch is returned unstored (`unstored`), for the caller to store in a statement of its own
 * (embedCacheInsert).
 */
export async function embedUncached(
  db: Db,
  embedder: Embedder,
  model: string,
  texts: { hash: string; text: string }[],
  cached: Map<string, number[]>,
  opts: { batchSize?: number; deferLast?: boolean } = {},
): Promise<{ vectors: Map<string, number[]>; embedded: number; unstored: CacheRows | null }> {
  const unique = [...new Map(texts.map((t) => [t.hash, t])).values()];
  const vectors = new Map<string, number[]>();
  for (const t of unique) {
    const vector = cached.get(t.hash);
    if (vector) vectors.set(t.hash, vector);
  }
  const todo = unique.filter((t) => !vectors.has(t.hash));
  embeddingCacheLookupsTotal.inc({ result: 'hit' }, unique.length - todo.length);
  embeddingCacheLookupsTotal.inc({ result: 'miss' }, todo.length);

  const batchSize = opts.batchSize ?? 64;
  let unstored: CacheRows | null = null;
  for (let i = 0; i < todo.length; i += batchSize) {
    const batch = todo.slice(i, i + batchSize);
    const embedded = await embedder.embed(batch.map((t) => t.text));
    if (embedded.length !== batch.length)
      throw new Error(`the embedder returned ${embedded.length} vectors for ${batch.length} texts`);
    const rows = { model, dimension: embedder.dimension, hashes: batch.map((t) => t.hash), vectors: embedded };
    if (opts.deferLast && i + batchSize >= todo.length) unstored = rows;
    else {
      const params: unknown[] = [];
      await db.query(embedCacheInsert(rows, params), params);
    }
    batch.forEach((t, j) => {
      vectors.set(t.hash, embedded[j]!);
    });
  }
  return { vectors, embedded: todo.length, unstored };
}

/** Vectors for the embedding cache: of `model`, by text hash. */
export type CacheRows = { model: string; dimension: number; hashes: string[]; vectors: number[][] };

/** The INSERT that stores `rows` in the embedding cache, its parameters appended to `params`. */
export function embedCacheInsert(rows: CacheRows, params: unknown[]): string {
  const p = (value: unknown) => `$${params.push(value)}`;
  return `INSERT INTO embedding_cache (model, content_hash, dimension, embedding)
          SELECT ${p(rows.model)}, u.hash, ${p(rows.dimension)}, u.embedding::vector
            FROM unnest(${p(rows.hashes)}::text[], ${p(rows.vectors.map((v) => pgvector.toSql(v)))}::text[])
              AS u(hash, embedding)
          ON CONFLICT (model, content_hash) DO NOTHING`;
}

export type StoredChunkVector = { postId: string; position: number; tokenCount: number; vector: number[] };

/** The cached vectors of the posts' chunks (chunks without a cached vector are left out). */
export async function loadChunkVectors(db: Db, model: string, postIds: string[]): Promise<StoredChunkVector[]> {
  if (postIds.length === 0) return [];
  const { rows } = await db.query<{ post_id: string; position: number; token_count: number; embedding: string }>(
    `SELECT c.post_id, c.position, c.token_count, e.embedding::text AS embedding
       FROM post_chunks c JOIN embedding_cache e ON e.model = $1 AND e.content_hash = c.content_hash
      WHERE c.post_id = ANY($2::uuid[])
      ORDER BY c.post_id, c.position`,
    [model, postIds],
  );
  return rows.map((r) => ({
    postId: r.post_id,
    position: r.position,
    tokenCount: r.token_count,
    vector: vectorFromText(r.embedding),
  }));
}

/**
 * A pgvector value in its text form (`[0.25,-0.5,…]`, the shortest digits that read back as the stored float4, as
 * `real[]` prints them too) is a JSON array: JSON.parse reads it many times faster than the driver's array parser,
 * which was most of the similarity check's time on a post with dozens of similar posts.
 */
export function vectorFromText(text: string): number[] {
  return JSON.parse(text) as number[];
}

export function norm(v: number[]): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

export function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
