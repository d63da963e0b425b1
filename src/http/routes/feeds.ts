import { CronExpressionParser } from 'cron-parser';
import { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import { scheduleFeed, unscheduleFeed } from '../../../queues/maintenance.ts';
import { sendProblem, zodFieldErrors } from '../problem.ts';
import { deleteFeed, type FeedRow, findFeed, insertFeed, listFeeds, recentPolls } from '../../ingest/feed-store.ts';

// Feeds, sitemaps and sites registered for polling, each on its own cron schedule. The API only
// records the feed and its job scheduler; the scheduler role's worker does the polling.

const cronExpression = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200)
  .superRefine((value, ctx) => {
    const fields = value.split(/\s+/).length;
    if (fields < 5 || fields > 6) {
      ctx.addIssue({
        code: 'custom',
        message: 'a cron expression has 5 fields (minute hour day month weekday), or 6 with seconds first',
      });
      return;
    }
    try {
      CronExpressionParser.parse(value, { strict: false });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a valid cron expression: ${(err as Error).message}` });
    }
  });

const timezone = z
  .string()
  .max(100)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'not an IANA time zone (e.g. Europe/Paris)');

export const feedInput = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048),
    type: z.enum(['feed', 'sitemap', 'site']).default('feed'),
    cron: cronExpression,
    timezone: timezone.default('UTC'),
  })
  .strict();

/**
 * The shortest gap between two consecutive ticks of a cron pattern, from its next 1,000 ticks: the gaps
 * of a pattern repeat with its finest field, which shows up within that many.
 */
export function shortestCronIntervalMs(cron: string, timezone: string): number {
  const ticks = CronExpressionParser.parse(cron, { tz: timezone, strict: false })
    .take(1000)
    .map((d) => d.getTime());
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < ticks.length; i++) shortest = Math.min(shortest, ticks[i]! - ticks[i - 1]!);
  return shortest;
}

const uuid = z.uuid();

function view(feed: FeedRow) {
  return {
    id: feed.id,
    type: feed.kind,
    url: feed.url,
    cron: feed.cron,
    timezone: feed.timezone,
    createdAt: feed.created_at.toISOString(),
    lastPolledAt: feed.last_polled_at?.toISOString() ?? null,
    lastOutcome: feed.last_outcome,
    lastError: feed.last_error,
    links: { self: `/api/v1/feeds/${feed.id}` },
  };
}

export function feedRoutes({ config, db, queues }: AppDeps): Router {
  const router = Router();
  router.post('/feeds', async (req, res) => {
    if (!req.is(['application/json', 'application/*+json'])) {
      return sendProblem(res, 415, 'Unsupported Media Type', {
        errors: [{ field: 'Content-Type', message: 'must be application/json' }],
      });
    }
    const parsed = feedInput.safeParse(req.body);
    if (!parsed.success) return sendProblem(res, 422, 'Invalid feed', { errors: zodFieldErrors(parsed.error) });
    const input = parsed.data;
    // A feed polls someone else's site: no tenant but an operator tenant may poll it more often than the floor.
    const floorMs = config.FEED_MIN_INTERVAL_MS;
    if (!req.auth?.operator && shortestCronIntervalMs(input.cron, input.timezone) < floorMs) {
      return sendProblem(res, 422, 'Invalid feed', {
        errors: [
          {
            field: 'cron',
            message:
              `polls more often than every ${floorMs / 1000} s (FEED_MIN_INTERVAL_MS); ` +
              `poll less often, e.g. "*/${Math.max(1, Math.ceil(floorMs / 60_000))} * ` +
              `* * *"`,
          },
        ],
      });
    }
    const feed = await insertFeed(db, req.tenantId, { ...input, kind: input.type });
    if (!feed) {
      return sendProblem(res, 409, 'Feed already registered', {
        errors: [{ field: 'url', message: 'this URL is already registered; delete it first to change its schedule' }],
      });
    }
    try {
      await scheduleFeed(queues.maintenance, feed);
    } catch (err) {
      // Without its scheduler the feed would never be polled: take the row back, the client retries.
      await deleteFeed(db, feed.id).catch(() => undefined);
      throw err;
    }
    req.log.info({ feedId: feed.id, cron: feed.cron }, 'feed registered');
    res.status(201).location(`/api/v1/feeds/${feed.id}`).json(view(feed));
  });

  router.get('/feeds', async (req, res) => {
    res.json({ feeds: (await listFeeds(db, req.tenantId)).map(view) });
  });

  router.get('/feeds/:id', async (req, res) => {
    const id = String(req.params.id);
    const feed = uuid.safeParse(id).success ? await findFeed(db, req.tenantId, id) : null;
    if (!feed) return sendProblem(res, 404, 'Not Found', { detail: `no feed ${id}` });
    const polls = await recentPolls(db, id);
    res.json({
      ...view(feed),
      recentPolls: polls.map((p) => ({
        startedAt: p.started_at.toISOString(),
        outcome: p.outcome,
        newEntries: p.new_items,
        error: p.error,
      })),
    });
  });

  router.delete('/feeds/:id', async (req, res) => {
    const id = String(req.params.id);
    const deleted = uuid.safeParse(id).success && (await deleteFeed(db, id, req.tenantId));
    if (!deleted) return sendProblem(res, 404, 'Not Found', { detail: `no feed ${id}` });
    // If this fails the scheduler's start-up sync removes the orphan, and a poll of a deleted feed does nothing.
    await unscheduleFeed(queues.maintenance, id).catch((err: Error) =>
      req.log.warn({ err: err.message }, 'could not remove the feed scheduler'),
    );
    res.status(204).end();
  });

  return router;
}
