import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { PermanentError } from '../errors.ts';
import type { Providers } from '../providers.ts';
import { chunkMarkdown } from '../text/chunk.ts';
import { embeddingInput, ensureEmbeddings, norm, sha256 } from './embeddings.ts';
import { stripRelatedLinks } from './internal-links.ts';
import type { VectorDeps } from './similarity.ts';

export function vectorDeps(db: Db, providers: Providers, config: Pick<Config, 'EMBEDDING_BATCH_SIZE'>): VectorDeps {
  return {
    db,
    embedder: providers.embedder,
    space: { model: providers.embeddingModel, dimension: providers.embedder.dimension },
    index: providers.vectorIndex,
    batchSize: config.EMBEDDING_BATCH_SIZE,
  };
}

/**
 * Splits the post (title and body, without the index stage's related-links block) into chunks and stores them
 * as the post's chunk rows, replacing the old ones. The hash is of the text that is embedded.
 */
export async function storePostChunks(db: Db, postId: string): Promise<{ tenantId: string; chunks: number }> {
  const { rows } = await db.query<{ tenant_id: string; title: string | null; markdown: string | null }>(
    'SELECT tenant_id, title, markdown FROM posts WHERE id = $1',
    [postId],
  );
  const post = rows[0];
  if (!post?.markdown) throw new PermanentError('the post has no body to embed');
  const chunks = chunkMarkdown(`# ${post.title ?? ''}\n\n${stripRelatedLinks(post.markdown)}`);
  if (chunks.length === 0) throw new PermanentError('the post body produced no chunks');
  await db.tx(async (client) => {
    await client.query('DELETE FROM post_chunks WHERE post_id = $1', [postId]);
    await client.query(
      `INSERT INTO post_chunks (post_id, position, tenant_id, heading, content, token_count, content_hash)
       SELECT $1, u.position, $2, u.heading, u.content, u.token_count, u.content_hash
         FROM unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::text[])
           AS u(position, heading, content, token_count, content_hash)`,
      [
        postId,
        post.tenant_id,
        chunks.map((c) => c.position),
        chunks.map((c) => c.heading),
        chunks.map((c) => c.text),
        chunks.map((c) => c.tokenCount),
        chunks.map((c) => sha256(embeddingInput(c))),
      ],
    );
  });
  return { tenantId: post.tenant_id, chunks: chunks.length };
}

/** Embeds the post's stored chunks that the cache lacks; returns their vectors by position. */
export async function embedPostChunks(
  deps: VectorDeps,
  postId: string,
): Promise<{ vectors: Map<number, number[]>; embedded: number }> {
  const { rows } = await deps.db.query<{
    position: number;
    heading: string | null;
    content: string;
    content_hash: string;
  }>('SELECT position, heading, content, content_hash FROM post_chunks WHERE post_id = $1 ORDER BY position', [postId]);
  const texts = rows.map((r) => ({
    hash: r.content_hash,
    text: embeddingInput({ heading: r.heading, text: r.content }),
  }));
  const { vectors, embedded } = await ensureEmbeddings(deps.db, deps.embedder, deps.space.model, texts, {
    batchSize: deps.batchSize,
  });
  return { vectors: new Map(rows.map((r) => [r.position, vectors.get(r.content_hash)!])), embedded };
}

/**
 * Makes the post's chunks searchable in the configured index. Vectors come from the cache; a chunk the cache
 * lacks (the embedder changed between the stages) is embedded here, once. Chunks without any word (zero
 * vectors) cannot be found by cosine similarity and are left out.
 */
export async function indexPost(
  deps: VectorDeps,
  post: { id: string; tenantId: string },
): Promise<{ indexed: number; embedded: number }> {
  const { vectors, embedded } = await embedPostChunks(deps, post.id);
  const chunks = [...vectors.entries()]
    .filter(([, v]) => norm(v) > 0)
    .map(([position, vector]) => ({ position, vector }));
  const indexed = await deps.index.upsertPost({ postId: post.id, tenantId: post.tenantId }, deps.space, chunks);
  return { indexed, embedded };
}
