import type { Config } from './config.ts';
import type { Db } from './db/pool.ts';
import type { HealthCheck } from './health-checks.ts';
import { modelEndpointCheck } from './llm/index.ts';
import { createLocalWriter } from './llm/local-writer.ts';
import { createEmbedding, createVectorIndex } from './vector/providers.ts';
import type { Embedder, VectorIndex } from './vector/types.ts';
import type { Writer } from './llm/types.ts';

export type Providers = {
  writer: Writer;
  embedder: Embedder;
  /** Cache and index key of the embedder: model and dimension together. */
  embeddingModel: string;
  vectorIndex: VectorIndex;
  /** Readiness checks of networked providers (a Qdrant index names its check `vectorIndex`), shown by /readyz. */
  healthChecks?: HealthCheck[];
};

/**
 * The offline defaults; networked alternatives plug in here behind the same interfaces. (Publishing
 * goes to each tenant's destinations instead: src/publish/destinations.ts.)
 */
export function createProviders(config: Config, db: Db): Providers {
  const { embedder, embeddingModel, healthChecks: embeddingChecks } = createEmbedding(config);
  const { vectorIndex, healthChecks: vectorChecks } = createVectorIndex(config, db);
  return {
    writer: createLocalWriter(),
    embedder,
    embeddingModel,
    vectorIndex,
    healthChecks: [
      ...(config.LLM_PROVIDER === 'openai' ? [modelEndpointCheck(config)] : []),
      ...embeddingChecks,
      ...vectorChecks,
    ],
  };
}
