import { createHash } from 'node:crypto';
import pgvector from 'pgvector';
import { PermanentError } from '../src/errors.ts';
import { chunkMarkdown } from '../src/text/chunk.ts';
import type { StageProcessor } from '../src/stage-runner.ts';

const batchSize = 64;

/**
 * Embed: splits the post into heading-aware chunks and makes sure every chunk's text has an
 * embedding in the cache. Text embedded before (by this post or any other) is not embedded again.
 */
export const embed: StageProcessor = async (job, ctx) => {
  const { rows } = await ctx.db.query<{ tenant_id: string; title: string | null; markdown: string | null }>(
    'SELECT tenant_id, title, markdown FROM posts WHERE id = $1',
    [job.postId],
  );
  const post = rows[0];
  if (!post?.markdown) throw new PermanentError('the post has no body to embed');

  const chunks = chunkMarkdown(`# ${post.title ?? ''}\n\n${post.markdown}`).map((c) => ({ ...c, hash: sha256(c.text) }));
  if (chunks.length === 0) throw new PermanentError('the post body produced no chunks');

  await ctx.db.tx(async (client) => {
    await client.query('DELETE FROM post_chunks WHERE post_id = $1', [job.postId]);
    await client.query(
      `INSERT INTO post_chunks (post_id, position, tenant_id, heading, content, token_count, content_hash)
       SELECT $1, u.position, $2, u.heading, u.content, u.token_count, u.content_hash
         FROM unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::text[])
           AS u(position, heading, content, token_count, content_hash)`,
      [job.postId, post.tenant_id, chunks.map((c) => c.position), chunks.map((c) => c.heading), chunks.map((c) => c.text), chunks.map((c) => c.tokenCount), chunks.map((c) => c.hash)],
    );
  });

  const { embedder, embeddingModel } = ctx.providers;
  const hashes = [...new Set(chunks.map((c) => c.hash))];
  const cached = await ctx.db.query<{ content_hash: string }>(
    'SELECT content_hash FROM embedding_cache WHERE model = $1 AND content_hash = ANY($2::text[])',
    [embeddingModel, hashes],
  );
  const have = new Set(cached.rows.map((r) => r.content_hash));
  const todo = [...new Map(chunks.filter((c) => !have.has(c.hash)).map((c) => [c.hash, c])).values()];

  for (let i = 0; i < todo.length; i += batchSize) {
    const batch = todo.slice(i, i + batchSize);
    const vectors = await embedder.embed(batch.map((c) => c.text));
    await ctx.db.query(
      `INSERT INTO embedding_cache (model, content_hash, dimension, embedding)
       SELECT $1, u.hash, $2, u.embedding::vector FROM unnest($3::text[], $4::text[]) AS u(hash, embedding)
       ON CONFLICT (model, content_hash) DO NOTHING`,
      [embeddingModel, embedder.dimension, batch.map((c) => c.hash), vectors.map((v) => pgvector.toSql(v))],
    );
  }
  ctx.log.debug({ chunks: chunks.length, embedded: todo.length, cached: have.size }, 'post embedded');
};

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
