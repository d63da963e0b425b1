import { Router, type Response } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import { readPost } from '../../posts/read.ts';
import { approvePost, cancelPost, PostActionError, rejectPost, reschedulePost } from '../../publish/post-actions.ts';
import { sendProblem, zodFieldErrors } from '../problem.ts';
import { requireJson } from './destinations.ts';

const uuid = z.uuid();
export const approveSchema = z.object({}).strict();
export const rejectSchema = z.object({ reason: z.string().trim().min(1, 'give a reason').max(1000) }).strict();
export const cancelSchema = z.object({ reason: z.string().trim().min(1).max(1000).optional() }).strict();
export const rescheduleSchema = z
  .object({
    publishAt: z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2030-01-02T03:04:05Z' })
      .refine((v) => Date.parse(v) > Date.now(), 'must be in the future'),
  })
  .strict();

/** Operator actions on a post before it is published. */
export function postActionRoutes({ db, queues }: AppDeps): Router {
  const router = Router();

  function action<S extends z.ZodType>(
    name: string,
    schema: S,
    run: (tenantId: string, postId: string, body: z.infer<S>) => Promise<unknown>,
    status = 200,
  ) {
    router.post(`/posts/:id/${name}`, async (req, res) => {
      if (!requireJson(req, res)) return;
      const id = String(req.params.id);
      if (!uuid.safeParse(id).success) return sendProblem(res, 404, 'Not Found', { detail: `no post ${id}` });
      const parsed = schema.safeParse(req.body ?? {});
      if (!parsed.success)
        return sendProblem(res, 422, `Invalid ${name} request`, { errors: zodFieldErrors(parsed.error) });
      try {
        await run(req.tenantId, id, parsed.data);
      } catch (err) {
        return actionProblem(res, err);
      }
      req.log.info({ postId: id, action: name }, 'post action');
      res.status(status).json(await readPost(db, req.tenantId, id));
    });
  }

  action('approve', approveSchema, (tenantId, id) => approvePost(db, queues, tenantId, id), 202);
  action('reject', rejectSchema, (tenantId, id, body) => rejectPost(db, queues, tenantId, id, body.reason));
  action('cancel', cancelSchema, (tenantId, id, body) => cancelPost(db, queues, tenantId, id, body.reason));
  action('reschedule', rescheduleSchema, (tenantId, id, body) =>
    reschedulePost(db, queues, tenantId, id, new Date(body.publishAt)),
  );

  return router;
}

function actionProblem(res: Response, err: unknown): void {
  if (err instanceof PostActionError) {
    sendProblem(res, err.status, err.status === 404 ? 'Not Found' : 'Conflict', {
      detail: err.message,
      errors: [{ field: 'status', message: err.message }],
    });
    return;
  }
  throw err;
}
