import { handOn, hold } from '../src/posts/lifecycle.ts';
import { postForIndexing, setMarkdown } from '../src/posts/store.ts';
import { duplicatePostsHeldTotal } from '../src/metrics.ts';
import type { StageProcessor } from '../src/stage-runner.ts';
import { relatedHref, saveRelatedPosts, withRelatedLinks } from '../src/vector/internal-links.ts';
import { indexPost, vectorDeps } from '../src/vector/post-index.ts';
import { postSummaries, similarPosts } from '../src/vector/similarity.ts';

/** Posts a new post must not duplicate: published ones and those only waiting for their publish time. */
const settledStatuses = ['published', 'scheduled'] as const;

/**
 * Index: makes the post's chunks searchable, then compares the post with the tenant's published posts.
 * The most similar ones (below the duplicate threshold) are stored as internal-link suggestions and, when
 * the tenant enables it, linked from the post's body. A post at or above DUPLICATE_THRESHOLD to a published
 * post is held as `duplicate_of` naming that post, unless an operator approved it.
 */
export const index: StageProcessor = async (job, ctx) => {
  const deps = vectorDeps(ctx.db, ctx.providers, ctx.config);
  const post = await ctx.load(postForIndexing(deps.space.model));
  const me = { id: job.postId, tenantId: post.tenant_id };
  const { indexed, embedded, vectors } = await indexPost(deps, me, post.chunks);

  const threshold = ctx.config.DUPLICATE_THRESHOLD;
  const scores = await similarPosts(deps, me, { statuses: settledStatuses }, vectors);
  const duplicate = scores.find((s) => s.score >= threshold);

  const settings = post.settings.internalLinks;
  const limit = settings.max ?? ctx.config.RELATED_POSTS_LIMIT;
  const related = scores
    .filter((s) => s.status === 'published' && s.score < threshold && s.score >= ctx.config.RELATED_MIN_SCORE)
    .slice(0, limit);
  const summaries = await postSummaries(
    ctx.db,
    post.tenant_id,
    related.map((r) => r.postId),
  );
  const link = settings.enabled && related.length > 0;

  // The block is rewritten (or removed, when the tenant turned links off) so a re-run leaves one copy.
  const markdown = withRelatedLinks(
    post.markdown ?? '',
    link
      ? related.map((r) => {
          const s = summaries.get(r.postId)!;
          return { title: s.title ?? s.slug ?? 'Related post', href: relatedHref(s) };
        })
      : [],
    settings.heading,
  );
  const newBody = post.markdown !== null && markdown !== post.markdown;
  // Nothing related before or now and the body unchanged: nothing to write.
  if (post.hasRelated || related.length > 0 || newBody) {
    await ctx.db.tx(async (client) => {
      await saveRelatedPosts(client, job.postId, deps.space.model, link, related);
      if (newBody) await setMarkdown(client, job.postId, markdown);
    });
  }
  ctx.log.debug({ indexed, embedded, index: deps.index.name, related: related.length, linked: link }, 'post indexed');

  if (duplicate && ctx.config.DUPLICATE_GUARD && !post.approved_at) {
    const [other] = (await postSummaries(ctx.db, post.tenant_id, [duplicate.postId])).values();
    duplicatePostsHeldTotal.inc();
    ctx.log.info({ duplicateOf: duplicate.postId, score: duplicate.score }, 'post held as a near-duplicate');
    return hold(
      'duplicate_of',
      'index',
      `too similar (${duplicate.score.toFixed(3)} ≥ ${threshold}) to ${duplicate.status} ` +
        `post ${duplicate.postId}${other?.title ? ` "${other.title}"` : ''}`,
      { postId: duplicate.postId, score: duplicate.score, threshold, title: other?.title ?? null },
    );
  }
  return handOn();
};
