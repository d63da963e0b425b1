import { Worker, type Queue } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { closeWithin, createRedis } from '../redis.ts';
import { BUILTIN_FILES_KEY, getDestination, type Target } from './destinations.ts';
import { rebuildSite } from './publish-post.ts';
import { INDEXNOW_JOB, sendIndexNowPings } from './indexnow.ts';
import { createDestinationFetcher } from '../fetch/index.ts';
import { siteQueueName } from '../../queues/registry.ts';

// The same queue and workers send the IndexNow pings of published posts (./indexnow.ts), coalesced the same way.
//
// A static site's index, feed and sitemap list every post, so rebuilding them costs more as the
// site grows. Publishing asks for a rebuild instead of doing one: every request within the same
// second shares one job (its id names the second), which runs once that second is over, so all the
// publications that asked for it are committed and a burst of N posts costs about one rebuild a second.

const bucketMs = 1000;
const jobSchema = z.object({ tenantId: z.uuid(), targetKey: z.string().min(1) }).strict();

export async function requestSiteRebuild(queue: Queue, tenantId: string, targetKey: string): Promise<void> {
  const now = Date.now();
  const bucket = Math.floor(now / bucketMs);
  await queue.add(
    'rebuild',
    { tenantId, targetKey },
    {
      jobId: `site-${tenantId}-${targetKey}-${bucket}`,
      delay: (bucket + 1) * bucketMs - now,
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}

/** A lost request older than this is not asked for again: a destination since deleted or moved would be forever. */
const MISSED_WITHIN_MS = 24 * 3600 * 1000;

/**
 * Asks again for the rebuilds whose request was lost (Redis restarted empty, or the process died between the
 * publication's commit and its request): every site with a files publication not in its index, feed and sitemap
 * for longer than `afterMs` (and less than a day). Returns how many sites it asked for.
 */
export async function requestMissedSiteRebuilds(db: Db, queue: Queue, afterMs: number): Promise<number> {
  const { rows } = await db.query<{ tenant_id: string; destination: string }>(
    `SELECT DISTINCT p.tenant_id, pub.destination FROM publications pub JOIN posts p ON p.id = pub.post_id
      WHERE pub.kind = 'files' AND NOT pub.site_built AND pub.status = 'published'
        AND pub.updated_at < now() - make_interval(secs => $1 / 1000.0)
        AND pub.updated_at > now() - make_interval(secs => $2 / 1000.0)`,
    [afterMs, MISSED_WITHIN_MS],
  );
  for (const r of rows) await requestSiteRebuild(queue, r.tenant_id, r.destination);
  return rows.length;
}

/** Runs the rebuild jobs in a worker process (started beside the publish stage's workers). */
export function startSiteRebuilds(deps: { db: Db; config: Config; logger: Logger }): { stop(): Promise<void> } {
  const log = deps.logger.child({ component: 'site-rebuilds' });
  const worker = new Worker(
    siteQueueName,
    async (job) => {
      if (job.name === INDEXNOW_JOB) {
        const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        return sendIndexNowPings(
          { db: deps.db, fetcher: createDestinationFetcher(deps.config), log },
          job.data,
          async (tenantId, destinationId) => {
            const d = await getDestination(deps.db, tenantId, destinationId);
            if (!d || d.kind === 'webhook' || !d.config.indexNow) return null;
            return { config: d.config.indexNow, staticSite: d.kind === 'files' };
          },
          lastAttempt,
        );
      }
      const { tenantId, targetKey } = jobSchema.parse(job.data);
      const target = await targetFor(deps.db, tenantId, targetKey);
      if (!target) return log.info({ targetKey }, 'destination gone; nothing to rebuild');
      await rebuildSite({ db: deps.db, config: deps.config, log }, tenantId, target);
    },
    { connection: createRedis(deps.config, 'worker'), prefix: deps.config.QUEUE_PREFIX, concurrency: 2 },
  );
  worker.on('error', (err) => log.warn({ err: errorMessage(err) }, 'site rebuild worker error'));
  return {
    async stop() {
      if (await closeWithin(worker, deps.config.SHUTDOWN_GRACE_MS)) await worker.disconnect();
    },
  };
}

async function targetFor(db: Db, tenantId: string, key: string): Promise<Target | null> {
  if (key === BUILTIN_FILES_KEY) return { key, destinationId: null, name: 'static site', kind: 'files', config: {} };
  const destination = await getDestination(db, tenantId, key);
  if (destination?.kind !== 'files') return null;
  return {
    key: destination.id,
    destinationId: destination.id,
    name: destination.name,
    kind: destination.kind,
    config: destination.config,
  };
}
