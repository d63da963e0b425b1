import { PermanentError } from '../src/errors.ts';
import { submissionToPublishedSeconds } from '../src/metrics.ts';
import type { Citation } from '../src/providers/types.ts';
import type { StageProcessor } from '../src/stage-runner.ts';

type PostRow = {
  id: string; tenant_id: string; title: string | null; slug: string | null; markdown: string | null;
  meta_description: string | null; tags: string[]; citations: Citation[]; published_at: Date | null; created_at: Date;
};

/**
 * Publish: hands the post to its destination and records the publication. The publisher is
 * idempotent and the publication row is keyed by post and destination, so a retry publishes once.
 */
export const publish: StageProcessor = async (job, ctx) => {
  const { rows } = await ctx.db.query<PostRow>(
    `SELECT id, tenant_id, title, slug, markdown, meta_description, tags, citations, published_at, created_at
       FROM posts WHERE id = $1`,
    [job.postId],
  );
  const post = rows[0];
  if (!post?.title || !post.slug || !post.markdown) throw new PermanentError('the post is not written yet');

  const publishedAt = post.published_at ?? new Date();
  const { publisher } = ctx.providers;
  const result = await publisher.publish({
    id: post.id,
    tenantId: post.tenant_id,
    title: post.title,
    slug: post.slug,
    markdown: post.markdown,
    metaDescription: post.meta_description ?? '',
    tags: post.tags,
    citations: post.citations,
    publishedAt,
  });

  const firstTime = await ctx.db.tx(async (client) => {
    await client.query(
      `INSERT INTO publications (post_id, destination, external_id, location, url, details, published_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (post_id, destination) DO UPDATE
         SET external_id = EXCLUDED.external_id, location = EXCLUDED.location, url = EXCLUDED.url, details = EXCLUDED.details`,
      [post.id, publisher.destination, result.externalId, result.location, result.url, result.details, publishedAt],
    );
    const updated = await client.query(
      `UPDATE posts SET status = 'published', published_at = $2, failed_stage = NULL, failure_reason = NULL, updated_at = now()
        WHERE id = $1 AND status <> 'published'`,
      [post.id, publishedAt],
    );
    return updated.rowCount === 1;
  });
  if (firstTime) submissionToPublishedSeconds.observe((Date.now() - post.created_at.getTime()) / 1000);
  ctx.log.info({ destination: publisher.destination, location: result.location }, 'post published');
  return { handOff: false };
};
