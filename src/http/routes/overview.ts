import { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import { readOverview } from '../../posts/overview.ts';
import { sendProblem, zodFieldErrors } from '../problem.ts';

export const overviewQuery = z
  .object({
    days: z.coerce
      .number()
      .int()
      .min(1)
      .max(90)
      .default(14)
      .meta({ description: 'UTC days of posts per day and of failures, ending today' }),
  })
  .strict();

/** The tenant at a glance: spend against the budget, posts per day, failures, schedules and feeds. */
export function overviewRoutes(_deps: AppDeps): Router {
  const router = Router();
  router.get('/overview', async (req, res) => {
    const parsed = overviewQuery.safeParse(req.query);
    if (!parsed.success) return sendProblem(res, 422, 'Invalid query', { errors: zodFieldErrors(parsed.error) });
    res.json({
      tenant: { slug: req.auth!.tenantSlug },
      ...(await readOverview(req.readDb, req.tenantId, { days: parsed.data.days })),
    });
  });
  return router;
}
