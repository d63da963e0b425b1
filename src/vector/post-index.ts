import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { PermanentError } from '../errors.ts';
import type { Providers } from '../providers.ts';
import { chunkMarkdown } from '../text/chunk.ts';
import {
  cachedVectorsColumn,
  embedCacheInsert,
  embeddingInput,
  embedUncached,
  ensureEmbeddings,
  norm,
  sha256,
} from './embeddings.ts';
import type { StageWrite } from '../posts/lifecycle.ts';
import type { PostRead } from '../posts/status.ts';
import { stripRelatedLinks } from './internal-links.ts';
import type { VectorDeps } from './similarity.ts';
import type { StoredChunkVector } from './embeddings.ts';

export function vectorDeps(db: Db, providers: Providers, config: Pick<Config, 'EMBEDDING_BATCH_SIZE'>): VectorDeps {
  return {
    db,
    embedder: providers.embedder,
    space: { model: providers.embeddingModel, dimension: providers.embedder.dimension },
    index: providers.vectorIndex,
    batchSize: config.EMBEDDING_BATCH_SIZE,
  };
}

/** What embed needs of a post. */
export type PostToEmbed = { tenant_id: string; title: string | null; markdown: string | null };

export const postToEmbed: PostRead<PostToEmbed> = {
  sql: 'SELECT p.tenant_id, p.title, p.markdown FROM posts p WHERE p.id = $1',
  map: (row) => row as PostToEmbed,
};

/**
 * Splits the post (title and body, without the index stage's related-links block) into chunks, reads what the
 * embedding cache holds of them, and embeds the rest (./embeddings.ts). Returns the stage's last write: the chunks as
 * the post's chunk rows (replacing the old ones) and the last batch of new vectors for the cache. The hash is of the
 * text that is embedded.
 */
export async function embedPost(
  deps: VectorDeps,
  postId: string,
  post: PostToEmbed,
): Promise<{ chunks: number; embedded: number; write: StageWrite }> {
  if (!post.markdown) throw new PermanentError('the post has no body to embed');
  const chunks = chunkMarkdown(`# ${post.title ?? ''}\n\n${stripRelatedLinks(post.markdown)}`);
  if (chunks.length === 0) throw new PermanentError('the post body produced no chunks');
  const texts = chunks.map((c) => ({ hash: sha256(embeddingInput(c)), text: embeddingInput(c) }));
  const { rows } = await deps.db.query<{ cached: Record<string, number[]> }>(
    `SELECT ${cachedVectorsColumn('$1', '$2::text[]')}`,
    [deps.space.model, texts.map((t) => t.hash)],
  );
  const cached = new Map(Object.entries(rows[0]?.cached ?? {}));
  const { embedded, unstored } = await embedUncached(deps.db, deps.embedder, deps.space.model, texts, cached, {
    batchSize: deps.batchSize,
    deferLast: true,
  });
  // Rows at the positions this post still has are rewritten in place (their vectors cleared for index to set again);
  // the rest are removed.
  const params: unknown[] = [
    postId,
    post.tenant_id,
    chunks.map((c) => c.position),
    chunks.map((c) => c.heading),
    chunks.map((c) => c.text),
    chunks.map((c) => c.tokenCount),
    texts.map((t) => t.hash),
    chunks.length,
  ];
  const sql = `stored AS (
       INSERT INTO post_chunks (post_id, position, tenant_id, heading, content, token_count, content_hash)
       SELECT $1, u.position, $2, u.heading, u.content, u.token_count, u.content_hash
         FROM unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::text[])
           AS u(position, heading, content, token_count, content_hash)
       ON CONFLICT (post_id, position) DO UPDATE
         SET tenant_id = EXCLUDED.tenant_id, heading = EXCLUDED.heading, content = EXCLUDED.content,
             token_count = EXCLUDED.token_count, content_hash = EXCLUDED.content_hash, embedding = NULL,
             embedding_model = NULL),
     beyond AS (DELETE FROM post_chunks WHERE post_id = $1 AND position >= $8)${
       unstored ? `, cached AS (${embedCacheInsert(unstored, params)})` : ''
     }`;
  // $1, the post id, is the StageWrite's own.
  return { chunks: chunks.length, embedded, write: { sql, params: params.slice(1) } };
}

/** Embeds the post's stored chunks that the cache lacks; returns their vectors by position. */
export async function embedPostChunks(
  deps: VectorDeps,
  postId: string,
): Promise<{ vectors: Map<number, number[]>; tokenCounts: Map<number, number>; embedded: number }> {
  const { rows } = await deps.db.query<{
    position: number;
    heading: string | null;
    content: string;
    content_hash: string;
    token_count: number;
  }>(
    'SELECT position, heading, content, content_hash, token_count FROM post_chunks WHERE post_id = $1 ORDER BY position',
    [postId],
  );
  const texts = rows.map((r) => ({
    hash: r.content_hash,
    text: embeddingInput({ heading: r.heading, text: r.content }),
  }));
  const { vectors, embedded } = await ensureEmbeddings(deps.db, deps.embedder, deps.space.model, texts, {
    batchSize: deps.batchSize,
  });
  return {
    vectors: new Map(rows.map((r) => [r.position, vectors.get(r.content_hash)!])),
    tokenCounts: new Map(rows.map((r) => [r.position, r.token_count])),
    embedded,
  };
}

/** The post's chunks with their cached vectors under `model` (null when the cache lacks one), as a column of a read. */
export const chunkVectorsColumn = (model: string) =>
  `(SELECT COALESCE(json_agg(json_build_object('postId', c.post_id, 'position', c.position, 'tokenCount',
      c.token_count, 'vector', e.embedding::real[]) ORDER BY c.position), '[]')
     FROM post_chunks c LEFT JOIN embedding_cache e ON e.model = ${model} AND e.content_hash = c.content_hash
    WHERE c.post_id = p.id) AS chunks`;

export type ChunkWithVector = Omit<StoredChunkVector, 'vector'> & { vector: number[] | null };

/**
 * Makes the post's chunks searchable in the configured index. Vectors come from the cache (`known`: as the caller
 * read them); a chunk the cache lacks (the embedder changed between the stages) is embedded here, once. Chunks
 * without any word (zero vectors) cannot be found by cosine similarity and are left out. Returns the post's chunk
 * vectors too.
 */
export async function indexPost(
  deps: VectorDeps,
  post: { id: string; tenantId: string },
  known?: ChunkWithVector[],
): Promise<{ indexed: number; embedded: number; vectors: StoredChunkVector[] }> {
  let vectors: StoredChunkVector[];
  let embedded = 0;
  if (known?.every((c): c is StoredChunkVector => c.vector !== null)) vectors = known;
  else {
    const fresh = await embedPostChunks(deps, post.id);
    embedded = fresh.embedded;
    const tokens = new Map((known ?? []).map((c) => [c.position, c.tokenCount]));
    vectors = [...fresh.vectors.entries()].map(([position, vector]) => ({
      postId: post.id,
      position,
      tokenCount: tokens.get(position) ?? fresh.tokenCounts.get(position) ?? 0,
      vector,
    }));
  }
  const chunks = vectors.filter((c) => norm(c.vector) > 0).map(({ position, vector }) => ({ position, vector }));
  const indexed = await deps.index.upsertPost({ postId: post.id, tenantId: post.tenantId }, deps.space, chunks);
  return { indexed, embedded, vectors };
}
