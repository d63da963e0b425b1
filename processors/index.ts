import type { StageProcessor } from '../src/stage-runner.ts';

/** Index: makes the post's embedded chunks searchable in the configured vector index. */
export const index: StageProcessor = async (job, ctx) => {
  const { vectorIndex, embeddingModel, embedder } = ctx.providers;
  const chunks = await vectorIndex.upsertPost(job.postId, embeddingModel, embedder.dimension);
  ctx.log.debug({ chunks, index: vectorIndex.name }, 'post indexed');
};
