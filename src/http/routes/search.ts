import { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import type { Db } from '../../db/pool.ts';
import { statusOf } from '../../posts/store.ts';
import { createProviders, type Providers } from '../../providers.ts';
import { vectorDeps } from '../../vector/post-index.ts';
import { postSummaries, searchPosts, similarPosts } from '../../vector/similarity.ts';
import { sendProblem, zodFieldErrors } from '../problem.ts';

export const searchQuery = z
  .object({
    q: z.string().trim().min(1, 'must not be empty').max(1000),
    limit: z.coerce.number().int().min(1).max(50).default(10),
  })
  .strict();

export const relatedQuery = z.object({ limit: z.coerce.number().int().min(1).max(50).optional() }).strict();
const uuid = z.uuid();

/**
 * Semantic search over the caller's posts and related posts of one post. Every query is scoped to the
 * authenticated tenant: the index filters by tenant and the post rows are read by tenant as well.
 */
export function searchRoutes(deps: AppDeps): Router {
  const router = Router();
  let providers: Providers | undefined = deps.providers;
  // Search reads the index and the post rows where the request's reads go (a replica when one has them).
  const vector = (db: Db) => {
    providers ??= createProviders(deps.config, deps.db);
    return vectorDeps(db, providers, deps.config);
  };

  router.get('/search', async (req, res) => {
    const parsed = searchQuery.safeParse(req.query);
    if (!parsed.success) return sendProblem(res, 422, 'Invalid search', { errors: zodFieldErrors(parsed.error) });
    const v = vector(req.readDb);
    const results = await searchPosts(v, req.tenantId, parsed.data.q, parsed.data.limit);
    res.json({
      query: parsed.data.q,
      model: v.space.model,
      index: v.index.name,
      results: results.map((r) => ({ ...r, links: { post: `/api/v1/posts/${r.postId}` } })),
    });
  });

  router.get('/posts/:id/related', async (req, res) => {
    const id = String(req.params.id);
    const parsed = relatedQuery.safeParse(req.query);
    if (!parsed.success) return sendProblem(res, 422, 'Invalid query', { errors: zodFieldErrors(parsed.error) });
    const exists = uuid.safeParse(id).success && (await statusOf(req.readDb, req.tenantId, id)) !== null;
    if (!exists) return sendProblem(res, 404, 'Not Found', { detail: `no post ${id}` });
    const v = vector(req.readDb);
    const limit = parsed.data.limit ?? Math.max(1, deps.config.RELATED_POSTS_LIMIT);
    const scores = (await similarPosts(v, { id, tenantId: req.tenantId }, { statuses: ['published'] }))
      .filter((s) => s.score >= deps.config.RELATED_MIN_SCORE)
      .slice(0, limit);
    const summaries = await postSummaries(
      req.readDb,
      req.tenantId,
      scores.map((s) => s.postId),
    );
    res.json({
      postId: id,
      model: v.space.model,
      results: scores.map((s) => ({
        ...summaries.get(s.postId)!,
        score: s.score,
        nearDuplicate: s.score >= deps.config.DUPLICATE_THRESHOLD,
        links: { post: `/api/v1/posts/${s.postId}` },
      })),
    });
  });

  return router;
}
