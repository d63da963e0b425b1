import { type Response, Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import { readSubmission } from '../../posts/read.ts';
import { IdempotencyConflictError, submissionSchema, UnknownDestinationsError } from '../../submissions.ts';
import { submissionGroups } from '../../submissions/group-commit.ts';
import { sendProblem, zodFieldErrors } from '../problem.ts';

const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;
const uuid = z.uuid();

export function submissionRoutes({ db, queues }: AppDeps): Router {
  const router = Router();
  // Concurrent submissions share one commit (../../submissions/group-commit.ts).
  const groups = submissionGroups(db, queues);

  router.post('/submissions', async (req, res) => {
    if (!req.is(['application/json', 'application/*+json'])) {
      return sendProblem(res, 415, 'Unsupported Media Type', {
        detail: 'send the body as application/json',
        errors: [{ field: 'Content-Type', message: 'must be application/json' }],
      });
    }
    const idempotencyKey = req.get('idempotency-key') ?? null;
    if (idempotencyKey !== null && !idempotencyKeyPattern.test(idempotencyKey)) {
      return sendProblem(res, 400, 'Invalid Idempotency-Key', {
        errors: [{ field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }],
      });
    }
    const parsed = submissionSchema.safeParse(req.body);
    if (!parsed.success) {
      return sendProblem(res, 422, 'Invalid submission', { errors: zodFieldErrors(parsed.error) });
    }
    try {
      const accepted = await groups.accept({
        tenantId: req.tenantId,
        body: parsed.data,
        idempotencyKey,
        correlationId: req.id,
      });
      req.log.info(
        { submissionId: accepted.submissionId, postId: accepted.postId, replayed: accepted.replayed },
        'submission accepted',
      );
      if (accepted.replayed) res.setHeader('Idempotent-Replayed', 'true');
      sendAccepted(res, accepted);
    } catch (err) {
      if (err instanceof UnknownDestinationsError)
        return sendProblem(res, 422, 'Invalid submission', { detail: err.message, errors: err.fields });
      if (err instanceof IdempotencyConflictError) {
        return sendProblem(res, 422, 'Idempotency-Key reused', {
          detail: err.message,
          errors: [{ field: 'Idempotency-Key', message: err.message }],
        });
      }
      throw err;
    }
  });

  router.get('/submissions/:id', async (req, res) => {
    const id = String(req.params.id);
    const submission = uuid.safeParse(id).success ? await readSubmission(req.readDb, req.tenantId, id) : null;
    if (!submission) return sendProblem(res, 404, 'Not Found', { detail: `no submission ${id}` });
    res.json({ ...submission, links: { self: `/api/v1/submissions/${submission.id}` } });
  });

  return router;
}

/** The 202 of an accepted submission (the API's and a signed delivery's). */
export function sendAccepted(res: Response, accepted: { submissionId: string; postId: string }): void {
  const self = `/api/v1/submissions/${accepted.submissionId}`;
  res
    .status(202)
    .location(self)
    .json({
      id: accepted.submissionId,
      status: 'accepted',
      postId: accepted.postId,
      links: { self, post: `/api/v1/posts/${accepted.postId}` },
    });
}
