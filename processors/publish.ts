import { errorMessage, PermanentError } from '../src/errors.ts';
import { requestIndexNowPing } from '../src/publish/indexnow.ts';
import { hold, stop, waitUntil } from '../src/posts/lifecycle.ts';
import { resolveTargets, UnknownDestinationError } from '../src/publish/destinations.ts';
import { DestinationUnavailableError } from '../src/publish/http.ts';
import { postToPublish } from '../src/publish/post-data.ts';
import { publishedUrl, publishToTarget, rebuildSite, type Outcome } from '../src/publish/publish-post.ts';
import { requestSiteRebuild } from '../src/publish/site-rebuilds.ts';
import { addScheduledJob } from '../src/publish/schedule.ts';
import { holdOwnSlots, planPost } from '../src/publish/cadence.ts';
import { now } from '../src/clock.ts';
import type { StageProcessor } from '../src/stage-runner.ts';

/** A schedule this close is published now rather than held. */
const SCHEDULE_SLACK_MS = 1000;

/**
 * Publish: checks the post may go out (not stopped, approved when approval is required, its publishAt
 * reached), then sends it to each of its destinations, exactly once per destination and run.
 *
 * - Approval required and not given: held as `awaiting_approval` after index, so approving it
 *   (resumePost) runs this stage again.
 * - publishAt ahead: held as `scheduled`, with a delayed publish job at that time (kept in Redis across restarts).
 *   A post without one that goes to a destination with a cadence is given the next slot it allows first.
 * - A destination whose circuit breaker is open is not called: the post waits for it (a delayed job of
 *   this stage, which spends no attempt). Destinations already published are skipped on every retry.
 */
export const publish: StageProcessor = async (job, ctx) => {
  const post = await ctx.load(postToPublish);
  if (!post?.title || !post.slug || !post.markdown) throw new PermanentError('the post is not written yet');
  const generation = job.generation ?? 0;

  if (post.stopped) {
    // Cancelled or rejected after this run started: the editor's word stands.
    ctx.log.info({ stopped: post.stopped }, 'post was stopped by an operator; not publishing');
    return stop(post.stopped);
  }

  const { settings } = post;
  const requireApproval = post.options.requireApproval ?? settings.publishing.requireApproval;
  if (requireApproval && !post.approvedAt) {
    ctx.log.info('held for approval');
    return hold('awaiting_approval', 'index', 'approval is required before publishing');
  }

  let targets: Awaited<ReturnType<typeof resolveTargets>>;
  try {
    targets = await resolveTargets(ctx.db, post.tenantId, post.options.destinations, post.defaultDestinations);
  } catch (err) {
    if (err instanceof UnknownDestinationError) throw new PermanentError(err.message);
    throw err;
  }

  // No time of its own and a destination with a cadence: the earliest slot they allow becomes its publishAt. A time
  // of its own is kept, and counted in those destinations' days.
  if (!post.publishAt) {
    const plan = await planPost(ctx.db, post, targets);
    if (plan) Object.assign(post, { publishAt: plan.publishAt, revision: plan.revision, planned: true });
  } else if (!post.planned) {
    await holdOwnSlots(ctx.db, { id: post.id, tenantId: post.tenantId, publishAt: post.publishAt }, targets);
  }

  if (post.publishAt && post.publishAt.getTime() > now() + SCHEDULE_SLACK_MS) {
    if (!ctx.queues) throw new Error('the publish stage needs the queues to schedule a post');
    const jobId = await addScheduledJob(
      ctx.db,
      ctx.queues,
      { id: post.id, correlationId: post.correlationId, generation: post.generation },
      post.publishAt,
      post.revision,
    );
    ctx.log.info({ publishAt: post.publishAt.toISOString(), cadence: post.planned }, 'scheduled');
    return hold('scheduled', 'index', `scheduled for ${post.publishAt.toISOString()}`, {
      publishAt: post.publishAt.toISOString(),
      jobId,
      ...(post.planned ? { by: 'cadence' } : {}),
    });
  }

  const outcomes: Outcome[] = [];
  for (const target of targets) outcomes.push(await publishToTarget(ctx, post, target, generation));

  // The static site's index, feed and sitemap include every post published there, this one too:
  // rebuilt within about a second, once for all the posts published in that second.
  for (const [i, target] of targets.entries()) {
    if (target.kind !== 'files' || (outcomes[i]!.kind !== 'published' && outcomes[i]!.kind !== 'skipped')) continue;
    if (ctx.queues) await requestSiteRebuild(ctx.queues.site, post.tenantId, target.key);
    else await rebuildSite(ctx, post.tenantId, target);
  }

  // Search engines hear of a new page within about a second (./indexnow.ts); a failure there is recorded, never the
  // post's.
  // A retry that skips a destination published before a crash asks again: the ping is recorded once per run.
  for (const [i, target] of targets.entries()) {
    const outcome = outcomes[i]!;
    const indexNow = target.kind !== 'webhook' && 'indexNow' in target.config ? target.config.indexNow : undefined;
    if (!indexNow?.enabled || !target.destinationId) continue;
    if (outcome.kind !== 'published' && outcome.kind !== 'skipped') continue;
    const url = outcome.kind === 'published' ? outcome.result.url : await publishedUrl(ctx.db, post.id, target.key);
    if (!url) {
      ctx.log.warn({ destination: target.key }, 'IndexNow is on but the page has no public URL (set baseUrl)');
      continue;
    }
    try {
      if (!ctx.queues) throw new Error('no queues to send the ping with');
      await requestIndexNowPing(ctx.db, ctx.queues.site, {
        tenantId: post.tenantId,
        destinationId: target.destinationId,
        postId: post.id,
        generation,
        url,
      });
    } catch (err) {
      ctx.log.warn({ destination: target.key, err: errorMessage(err) }, 'could not ask for an IndexNow ping');
    }
  }

  const permanent = outcomes.flatMap((o) => (o.kind === 'permanent' ? [o.reason] : []));
  if (permanent.length > 0) throw new PermanentError(permanent.join('; '));
  const transient = outcomes.flatMap((o) => (o.kind === 'transient' ? [o.reason] : []));
  if (transient.length > 0) throw new DestinationUnavailableError(transient.join('; '));

  const deferred = outcomes.flatMap((o) => (o.kind === 'deferred' ? [o] : []));
  if (deferred.length > 0) {
    const waitMs = Math.max(...deferred.map((d) => d.waitMs));
    const reasons = deferred.map((d) => d.reason);
    ctx.log.warn({ waitMs, reasons }, 'destination unavailable; publishing waits for it');
    return waitUntil(new Date(Date.now() + waitMs + Math.round(Math.random() * 100)), reasons.join('; '));
  }

  ctx.log.info({ destinations: targets.map((t) => t.key) }, 'post published');
  return stop('published');
};
