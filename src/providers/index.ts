import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { createFilesPublisher } from './files-publisher.ts';
import { createLocalEmbedder } from './local-embedder.ts';
import { createLocalWriter } from './local-writer.ts';
import { createPgvectorIndex, type VectorIndex } from './pgvector-index.ts';
import type { Embedder, PublishablePost, PublishResult, Writer } from './types.ts';

export type Publisher = { readonly destination: string; publish(post: PublishablePost): Promise<PublishResult> };

export type Providers = {
  writer: Writer;
  embedder: Embedder;
  /** Cache and index key of the embedder: model and dimension together. */
  embeddingModel: string;
  vectorIndex: VectorIndex;
  publisher: Publisher;
};

/** The offline defaults; networked alternatives plug in here behind the same interfaces. */
export function createProviders(config: Config, db: Db): Providers {
  const embedder = createLocalEmbedder(config.EMBEDDING_DIMENSION);
  const files = createFilesPublisher({ dir: config.OUTPUT_DIR, baseUrl: config.PUBLIC_SITE_URL ?? null });
  return {
    writer: createLocalWriter(),
    embedder,
    embeddingModel: `${embedder.model}/${embedder.dimension}`,
    vectorIndex: createPgvectorIndex(db, { efSearch: config.HNSW_EF_SEARCH }),
    publisher: { destination: 'files', publish: (post) => files.publish(post) },
  };
}
