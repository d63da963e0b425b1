import { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import { readPost } from '../../posts/read.ts';
import { sendProblem } from '../problem.ts';

const uuid = z.uuid();

export function postRoutes(_deps: AppDeps): Router {
  const router = Router();

  router.get('/posts/:id', async (req, res) => {
    const id = String(req.params.id);
    const post = uuid.safeParse(id).success ? await readPost(req.readDb, req.tenantId, id) : null;
    if (!post) return sendProblem(res, 404, 'Not Found', { detail: `no post ${id}` });
    res.json(post);
  });

  return router;
}
