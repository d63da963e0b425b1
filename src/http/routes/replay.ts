import { Router } from 'express';
import { z } from 'zod';
import { stageSchema } from '../../../queues/stages.ts';
import { resumePost } from '../../pipeline-control.ts';
import { workingStatuses } from '../../posts/lifecycle.ts';
import { statusOf } from '../../posts/store.ts';
import type { AppDeps } from '../app.ts';
import { sendProblem, zodFieldErrors } from '../problem.ts';

const uuid = z.uuid();
export const replaySchema = z.object({ fromStage: stageSchema }).strict();
// A post some stage is working on now would run twice at once; it must settle first.
const inFlight: ReadonlySet<string> = new Set(['queued', ...workingStatuses]);

/** Dead letters: an operator re-runs a failed (or any settled) post from a chosen stage. */
export function replayRoutes({ db, queues }: AppDeps): Router {
  const router = Router();

  router.post('/posts/:id/replay', async (req, res) => {
    const id = String(req.params.id);
    const parsed = replaySchema.safeParse(req.body ?? {});
    if (!parsed.success)
      return sendProblem(res, 422, 'Invalid replay request', { errors: zodFieldErrors(parsed.error) });
    const status = uuid.safeParse(id).success ? await statusOf(db, req.tenantId, id) : null;
    if (status === null) return sendProblem(res, 404, 'Not Found', { detail: `no post ${id}` });
    if (inFlight.has(status)) {
      return sendProblem(res, 409, 'Post is in flight', {
        detail: `the post is ${status}; replay it once it has settled`,
      });
    }
    const { stage, generation } = await resumePost(db, queues, id, { fromStage: parsed.data.fromStage });
    res
      .status(202)
      .json({ id, status: 'queued', fromStage: stage, generation, links: { post: `/api/v1/posts/${id}` } });
  });

  return router;
}
