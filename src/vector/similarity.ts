import type { Db } from '../db/pool.ts';
import {
  ensureEmbeddings,
  loadChunkVectors,
  norm,
  sha256,
  vectorFromText,
  type StoredChunkVector,
} from './embeddings.ts';
import type { Embedder, VectorIndex, VectorSpace } from './types.ts';

/** What similarity needs: the database (state and cache), the embedder, its space and the index. */
export type VectorDeps = { db: Db; embedder: Embedder; space: VectorSpace; index: VectorIndex; batchSize?: number };

export type PostScore = { postId: string; score: number; status: string };

/**
 * How much of `a` is said in `b`: the mean over a's chunks, weighted by their tokens, of each chunk's best
 * cosine similarity to any chunk of b. Weighting by tokens keeps short boilerplate (a "Sources" list that
 * every post has) from counting as much as the body.
 */
export function coverage(a: StoredChunkVector[], b: StoredChunkVector[]): number {
  // Each vector's squared norm once, not once per pair: the same sums as cosine() takes, so the same scores.
  const bSquares = b.map((y) => squaredNorm(y.vector));
  let total = 0;
  let weight = 0;
  for (const x of a) {
    const xSquare = squaredNorm(x.vector);
    let best = 0;
    for (let j = 0; j < b.length; j++) best = Math.max(best, cosineOf(x.vector, xSquare, b[j]!.vector, bSquares[j]!));
    const w = Math.max(1, x.tokenCount);
    total += w * best;
    weight += w;
  }
  return weight === 0 ? 0 : total / weight;
}

function squaredNorm(v: number[]): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return s;
}

/** cosine() with both squared norms known. */
function cosineOf(a: number[], aSquare: number, b: number[], bSquare: number): number {
  if (aSquare === 0 || bSquare === 0) return 0;
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot / Math.sqrt(aSquare * bSquare);
}

/** Post similarity, symmetric: a near-duplicate must cover the other post and be covered by it. */
export function postSimilarity(a: StoredChunkVector[], b: StoredChunkVector[]): number {
  return (coverage(a, b) + coverage(b, a)) / 2;
}

/**
 * The tenant's posts (in the given statuses) most similar to this post, best first. The index finds candidates
 * (the nearest chunks to each of the post's chunks, within the tenant); each candidate is then scored exactly
 * from the cached vectors in PostgreSQL, so both backends give the same scores.
 */
export async function similarPosts(
  deps: VectorDeps,
  post: { id: string; tenantId: string },
  opts: { statuses: readonly string[]; perChunk?: number; maxCandidates?: number },
  /** The post's own chunk vectors, when the caller has them already. */
  known?: StoredChunkVector[],
): Promise<PostScore[]> {
  const own = (known ?? (await loadChunkVectors(deps.db, deps.space.model, [post.id]))).filter(
    (c) => norm(c.vector) > 0,
  );
  if (own.length === 0) return [];
  const best = new Map<string, number>();
  const search = { limit: opts.perChunk ?? 10, excludePostId: post.id };
  const hitsPerChunk = deps.index.searchMany
    ? await deps.index.searchMany(
        post.tenantId,
        deps.space,
        own.map((c) => c.vector),
        search,
      )
    : await Promise.all(own.map((chunk) => deps.index.search(post.tenantId, deps.space, chunk.vector, search)));
  for (const hits of hitsPerChunk)
    for (const hit of hits) best.set(hit.postId, Math.max(best.get(hit.postId) ?? -1, hit.score));
  const candidateIds = [...best.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, opts.maxCandidates ?? 50)
    .map(([id]) => id);
  if (candidateIds.length === 0) return [];
  // The row is the state: status and tenant are checked in PostgreSQL, whatever the index holds; the candidates'
  // vectors come with them.
  const { rows } = await deps.db.query<{
    id: string;
    status: string;
    position: number;
    token_count: number;
    embedding: string;
  }>(
    `SELECT p.id, p.status, c.position, c.token_count, e.embedding::text AS embedding
       FROM posts p
       JOIN post_chunks c ON c.post_id = p.id
       JOIN embedding_cache e ON e.model = $4 AND e.content_hash = c.content_hash
      WHERE p.id = ANY($1::uuid[]) AND p.tenant_id = $2 AND p.status = ANY($3::text[])
      ORDER BY p.id, c.position`,
    [candidateIds, post.tenantId, [...opts.statuses], deps.space.model],
  );
  const vectors: StoredChunkVector[] = rows.map((r) => ({
    postId: r.id,
    position: r.position,
    tokenCount: r.token_count,
    vector: vectorFromText(r.embedding),
  }));
  const byPost = Map.groupBy(
    vectors.filter((c) => norm(c.vector) > 0),
    (c) => c.postId,
  );
  const statusOf = new Map(rows.map((r) => [r.id, r.status]));
  return [...byPost.entries()]
    .map(([postId, chunks]) => ({ postId, score: round(postSimilarity(own, chunks)), status: statusOf.get(postId)! }))
    .sort((a, b) => b.score - a.score || a.postId.localeCompare(b.postId));
}

export type PostSummary = {
  postId: string;
  title: string | null;
  slug: string | null;
  status: string;
  url: string | null;
};

/** Title, slug, status and public URL of the tenant's posts (other tenants' ids yield nothing). */
export async function postSummaries(db: Db, tenantId: string, postIds: string[]): Promise<Map<string, PostSummary>> {
  if (postIds.length === 0) return new Map();
  const { rows } = await db.query<{
    id: string;
    title: string | null;
    slug: string | null;
    status: string;
    url: string | null;
  }>(
    `SELECT p.id, p.title, p.slug, p.status,
            (SELECT url FROM publications WHERE post_id = p.id AND url IS NOT NULL ORDER BY published_at DESC LIMIT 1)
              AS url
       FROM posts p WHERE p.id = ANY($1::uuid[]) AND p.tenant_id = $2`,
    [postIds, tenantId],
  );
  return new Map(rows.map((r) => [r.id, { postId: r.id, title: r.title, slug: r.slug, status: r.status, url: r.url }]));
}

export type SearchResult = PostSummary & { score: number; heading: string | null; snippet: string; position: number };

/**
 * Semantic search over one tenant's indexed posts: the query is embedded (through the cache), the nearest
 * chunks are grouped by post, and each post is scored by its best chunk, which also gives the snippet.
 */
export async function searchPosts(
  deps: VectorDeps,
  tenantId: string,
  query: string,
  limit: number,
): Promise<SearchResult[]> {
  const text = query.trim();
  const hash = sha256(text);
  const { vectors } = await ensureEmbeddings(deps.db, deps.embedder, deps.space.model, [{ hash, text }], {
    batchSize: deps.batchSize,
  });
  const vector = vectors.get(hash)!;
  if (norm(vector) === 0) return [];
  const hits = await deps.index.search(tenantId, deps.space, vector, { limit: Math.min(500, limit * 5) });
  const bestByPost = new Map<string, { position: number; score: number }>();
  for (const hit of hits) {
    if (!Number.isFinite(hit.score)) continue;
    const seen = bestByPost.get(hit.postId);
    if (!seen || hit.score > seen.score) bestByPost.set(hit.postId, { position: hit.position, score: hit.score });
  }
  const top = [...bestByPost.entries()].sort((a, b) => b[1].score - a[1].score).slice(0, limit);
  if (top.length === 0) return [];
  const summaries = await postSummaries(
    deps.db,
    tenantId,
    top.map(([id]) => id),
  );
  const chunks = await deps.db.query<{ post_id: string; position: number; heading: string | null; content: string }>(
    `SELECT c.post_id, c.position, c.heading, c.content
       FROM post_chunks c JOIN unnest($1::uuid[], $2::int[]) AS u(post_id, position) USING (post_id, position)
      WHERE c.tenant_id = $3`,
    [top.map(([id]) => id), top.map(([, hit]) => hit.position), tenantId],
  );
  const chunkOf = new Map(chunks.rows.map((c) => [`${c.post_id}:${c.position}`, c]));
  return top.flatMap(([postId, hit]) => {
    const summary = summaries.get(postId);
    if (!summary) return [];
    const chunk = chunkOf.get(`${postId}:${hit.position}`);
    return [
      {
        ...summary,
        score: round(hit.score),
        position: hit.position,
        heading: chunk?.heading ?? null,
        snippet: snippet(chunk?.content ?? ''),
      },
    ];
  });
}

/** The chunk's opening, cut at a word boundary. */
export function snippet(text: string, max = 240): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
