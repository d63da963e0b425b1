import { ConfigError, type Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { isPermanent } from '../errors.ts';
import type { HealthCheck } from '../health-checks.ts';
import { createLocalEmbedder } from './local-embedder.ts';
import { instrumentEmbedder } from './embeddings.ts';
import { createOpenAIEmbedder } from './openai-embedder.ts';
import { createPgvectorIndex } from './pgvector-index.ts';
import { createQdrantIndex } from './qdrant-index.ts';
import type { Embedder, VectorIndex } from './types.ts';

function invalid(variable: string, message: string): ConfigError {
  return new ConfigError(`Invalid configuration; fix these environment variables:\n  ${variable}: ${message}`);
}

/**
 * The configured embedder (counted by provider), its cache/index key (model and dimension together) and, for a
 * networked one, its readiness check.
 */
export function createEmbedding(config: Config): {
  embedder: Embedder;
  embeddingModel: string;
  healthChecks: HealthCheck[];
} {
  let embedder: Embedder;
  if (config.EMBEDDING_PROVIDER === 'openai') {
    if (!config.EMBEDDING_API_KEY && !config.EMBEDDING_BASE_URL) {
      throw invalid(
        'EMBEDDING_API_KEY',
        'required with EMBEDDING_PROVIDER=openai unless EMBEDDING_BASE_URL names a server that needs no key',
      );
    }
    embedder = createOpenAIEmbedder({
      model: config.EMBEDDING_MODEL ?? 'text-embedding-3-small',
      dimension: config.EMBEDDING_DIMENSION,
      ...(config.EMBEDDING_API_KEY ? { apiKey: config.EMBEDDING_API_KEY } : {}),
      ...(config.EMBEDDING_BASE_URL ? { baseURL: config.EMBEDDING_BASE_URL } : {}),
      batchSize: config.EMBEDDING_BATCH_SIZE,
      sendDimensions: config.EMBEDDING_SEND_DIMENSIONS,
      timeoutMs: config.EMBEDDING_TIMEOUT_MS,
    });
  } else {
    if (config.EMBEDDING_MODEL && config.EMBEDDING_MODEL !== 'local-hash-v1') {
      throw invalid(
        'EMBEDDING_MODEL',
        'the local embedder is local-hash-v1; set EMBEDDING_PROVIDER=openai for another model',
      );
    }
    embedder = createLocalEmbedder(config.EMBEDDING_DIMENSION);
  }
  return {
    embedder: instrumentEmbedder(embedder, config.EMBEDDING_PROVIDER),
    embeddingModel: `${embedder.model}/${embedder.dimension}`,
    healthChecks: config.EMBEDDING_PROVIDER === 'openai' ? [embeddingEndpointCheck(embedder)] : [],
  };
}

/**
 * Readiness of the embedding endpoint. The first success embeds one text, so a wrong EMBEDDING_DIMENSION shows
 * here rather than at the first post; after that a GET /models says the endpoint still answers. Unreachable is
 * an outage (not critical: posts wait); a refusal or a wrong dimension is a configuration error (critical).
 */
function embeddingEndpointCheck(embedder: Embedder): HealthCheck {
  let verified = false;
  return {
    name: 'embeddings',
    critical: false,
    async check() {
      try {
        const report = verified ? await embedder.check!() : await embedder.probe!();
        verified = true;
        return { ...report, dimension: embedder.dimension };
      } catch (err) {
        throw isPermanent(err) ? Object.assign(err, { critical: true }) : err;
      }
    },
  };
}

/** The configured vector index, and for Qdrant a (non-critical) readiness check: only search depends on it. */
export function createVectorIndex(config: Config, db: Db): { vectorIndex: VectorIndex; healthChecks: HealthCheck[] } {
  if (config.VECTOR_INDEX === 'qdrant') {
    if (!config.QDRANT_URL) throw invalid('QDRANT_URL', 'required with VECTOR_INDEX=qdrant');
    const vectorIndex = createQdrantIndex({
      url: config.QDRANT_URL,
      ...(config.QDRANT_API_KEY ? { apiKey: config.QDRANT_API_KEY } : {}),
      collectionPrefix: config.QDRANT_COLLECTION_PREFIX,
      efSearch: config.HNSW_EF_SEARCH,
    });
    return { vectorIndex, healthChecks: [{ name: 'vectorIndex', critical: false, check: () => vectorIndex.ping!() }] };
  }
  return { vectorIndex: createPgvectorIndex(db, { efSearch: config.HNSW_EF_SEARCH }), healthChecks: [] };
}
