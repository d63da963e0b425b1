import { handOn } from '../src/posts/lifecycle.ts';
import type { StageProcessor } from '../src/stage-runner.ts';
import { embedPost, postToEmbed, vectorDeps } from '../src/vector/post-index.ts';

/**
 * Embed: splits the post into heading-aware, token-bounded, overlapping chunks, stores them, and makes sure
 * every chunk's text has a vector in the embedding cache. Text embedded before (by this post or any other,
 * under the same model) is not embedded again.
 */
export const embed: StageProcessor = async (job, ctx) => {
  const post = await ctx.load(postToEmbed);
  const { chunks, embedded, write } = await embedPost(vectorDeps(ctx.db, ctx.providers, ctx.config), job.postId, post);
  ctx.log.debug({ chunks, embedded, cached: chunks - embedded }, 'post embedded');
  return handOn(write);
};
