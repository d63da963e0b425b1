import { createHash } from 'node:crypto';
import { qdrant } from '../heavy-deps.ts';
import { vectorSearchSeconds } from '../metrics.ts';
import type { ChunkVector, VectorIndex, VectorSpace } from './types.ts';

export type QdrantOptions = {
  url: string;
  apiKey?: string;
  /** Collections are named `<prefix>_<model>`; the model key already ends in the dimension. */
  collectionPrefix: string;
  /** Search-time HNSW candidates (`hnsw_ef`), the counterpart of pgvector's ef_search. */
  efSearch: number;
  /** Points per upsert request. */
  upsertBatchSize?: number;
  timeoutMs?: number;
};

export function qdrantCollectionName(prefix: string, space: VectorSpace): string {
  return `${prefix}_${space.model.replace(/[^A-Za-z0-9_-]+/g, '_')}`.slice(0, 255);
}

/** Qdrant ids are unsigned integers or UUIDs: a post's chunk gets a stable UUID, so re-indexing overwrites it. */
export function qdrantPointId(postId: string, position: number): string {
  const h = createHash('sha256').update(`${postId}:${position}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Qdrant through its official REST client: one collection per embedding space (cosine), a tenant payload index
 * (`is_tenant`, so Qdrant keeps each tenant's points together), batched upserts that wait for the write, and a
 * tenant filter on every query.
 */
export function createQdrantIndex(opts: QdrantOptions): VectorIndex {
  const client = new (qdrant().QdrantClient)({
    url: opts.url,
    ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
    timeout: opts.timeoutMs ?? 30_000,
    // The version probe runs unawaited at construction and only warns on the console.
    checkCompatibility: false,
  });
  const batchSize = opts.upsertBatchSize ?? 256;
  const ready = new Map<string, Promise<void>>();

  async function createCollection(name: string, space: VectorSpace): Promise<void> {
    if ((await client.collectionExists(name)).exists) {
      const info = await client.getCollection(name);
      const vectors = info.config.params.vectors as { size?: number } | undefined;
      if (vectors?.size !== undefined && vectors.size !== space.dimension) {
        throw new Error(`Qdrant collection ${name} holds ${vectors.size}-dimensional vectors, not ${space.dimension}`);
      }
    } else {
      try {
        await client.createCollection(name, { vectors: { size: space.dimension, distance: 'Cosine' } });
      } catch (err) {
        // Another worker created it first.
        if (!(await client.collectionExists(name)).exists) throw err;
      }
    }
    await client.createPayloadIndex(name, {
      field_name: 'tenant_id',
      field_schema: { type: 'keyword', is_tenant: true },
      wait: true,
    });
    await client.createPayloadIndex(name, { field_name: 'post_id', field_schema: 'keyword', wait: true });
  }

  function ensure(space: VectorSpace): Promise<void> {
    const name = qdrantCollectionName(opts.collectionPrefix, space);
    let pending = ready.get(name);
    if (!pending) {
      pending = createCollection(name, space);
      ready.set(name, pending);
      pending.catch(() => ready.delete(name));
    }
    return pending;
  }

  async function exists(space: VectorSpace): Promise<boolean> {
    const name = qdrantCollectionName(opts.collectionPrefix, space);
    if (ready.has(name)) return true;
    return (await client.collectionExists(name)).exists;
  }

  return {
    name: 'qdrant',

    async ping() {
      const info = await client.versionInfo();
      return { version: info.version };
    },

    async upsertPost({ postId, tenantId }, space, chunks: ChunkVector[]) {
      await ensure(space);
      const collection = qdrantCollectionName(opts.collectionPrefix, space);
      const points = chunks.map((c) => {
        if (c.vector.length !== space.dimension)
          throw new RangeError(`a vector of ${c.vector.length} dimensions does not fit the ${space.model} space`);
        return {
          id: qdrantPointId(postId, c.position),
          vector: c.vector,
          payload: { tenant_id: tenantId, post_id: postId, position: c.position },
        };
      });
      for (let i = 0; i < points.length; i += batchSize) {
        await client.upsert(collection, { wait: true, points: points.slice(i, i + batchSize) });
      }
      // Overwrite first, then drop what the post no longer has: its chunks never vanish in between.
      await client.delete(collection, {
        wait: true,
        filter: {
          must: [{ key: 'post_id', match: { value: postId } }],
          ...(points.length ? { must_not: [{ has_id: points.map((p) => p.id) }] } : {}),
        },
      });
      return points.length;
    },

    async deletePost(postId, space) {
      if (!(await exists(space))) return;
      await client.delete(qdrantCollectionName(opts.collectionPrefix, space), {
        wait: true,
        filter: { must: [{ key: 'post_id', match: { value: postId } }] },
      });
    },

    async search(tenantId, space, vector, { limit, excludePostId }) {
      if (vector.length !== space.dimension)
        throw new RangeError(`a vector of ${vector.length} dimensions does not fit the ${space.model} space`);
      if (!(await exists(space))) return [];
      const end = vectorSearchSeconds.startTimer({ backend: 'qdrant' });
      try {
        const result = await client.query(qdrantCollectionName(opts.collectionPrefix, space), {
          query: vector,
          filter: {
            must: [{ key: 'tenant_id', match: { value: tenantId } }],
            ...(excludePostId ? { must_not: [{ key: 'post_id', match: { value: excludePostId } }] } : {}),
          },
          limit,
          params: { hnsw_ef: Math.max(opts.efSearch, limit) },
          with_payload: ['post_id', 'position'],
        });
        return result.points.map((p) => {
          const payload = p.payload as { post_id: string; position: number };
          return { postId: payload.post_id, position: payload.position, score: p.score };
        });
      } finally {
        end();
      }
    },
  };
}
