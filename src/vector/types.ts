// The vector index contract. Both backends (pgvector, Qdrant) implement it and pass one contract test
// suite (test/integration/vector-index-contract.test.ts). Chunk text and post state stay in PostgreSQL;
// an index only answers "which chunks of this tenant are nearest to this vector".

/** Which embedding space a vector lives in: an index keeps each model apart (own HNSW index or collection). */
export type VectorSpace = { model: string; dimension: number };

export type ChunkVector = { position: number; vector: number[] };

/** One nearest chunk; `score` is cosine similarity (1 identical, 0 unrelated, -1 opposite). */
export type IndexHit = { postId: string; position: number; score: number };

export type SearchOptions = {
  limit: number;
  /** Leaves one post out (the post being checked against the others). */
  excludePostId?: string;
};

export interface VectorIndex {
  readonly name: 'pgvector' | 'qdrant';
  /** Makes exactly these chunks the post's searchable chunks in the space; chunks beyond them are removed. */
  upsertPost(post: { postId: string; tenantId: string }, space: VectorSpace, chunks: ChunkVector[]): Promise<number>;
  /** Removes the post's chunks from the space. */
  deletePost(postId: string, space: VectorSpace): Promise<void>;
  /** Nearest chunks of one tenant's posts, best first. The tenant filter is part of every query. */
  search(tenantId: string, space: VectorSpace, vector: number[], opts: SearchOptions): Promise<IndexHit[]>;
  /** search() for several vectors at once (one answer per vector, in order), where the backend can do it in one go. */
  searchMany?(tenantId: string, space: VectorSpace, vectors: number[][], opts: SearchOptions): Promise<IndexHit[][]>;
  /** Answers when a networked index is reachable (readiness). */
  ping?(): Promise<unknown>;
}

export interface Embedder {
  readonly model: string;
  readonly dimension: number;
  embed(texts: string[]): Promise<number[][]>;
  /** A networked embedder's endpoint answers (GET /models); cheap enough for every readiness probe. */
  check?(): Promise<EmbedderReport>;
  /** One text embedded: the endpoint answers with vectors of the configured dimension. */
  probe?(): Promise<EmbedderReport>;
}

export type EmbedderReport = { endpoint: string; model: string; dimension: number | null };

export interface Chunk {
  position: number;
  heading: string | null;
  text: string;
  tokenCount: number;
}
