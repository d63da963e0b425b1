import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { Db } from '../db/pool.ts';
import { errorMessage } from '../errors.ts';
import { FetchError, type SafeFetcher } from '../fetch/safe-fetch.ts';
import type { Logger } from '../logger.ts';
import { indexNowPingsTotal } from '../metrics.ts';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048);

/**
 * A destination's IndexNow settings: off unless `enabled`; the key is also served as `<key>.txt` by the static site.
 */
export const indexNowSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Where pings go: api.indexnow.org shares them with every participating engine. */
    endpoint: httpUrl.default('https://api.indexnow.org/indexnow'),
    key: z.string().regex(/^[A-Za-z0-9-]{8,128}$/, 'must be 8 to 128 letters, digits or dashes'),
    /** Where the key file is served; the static site's `<baseUrl>/<key>.txt` by default. */
    keyLocation: httpUrl.optional(),
  })
  .strict();
export type IndexNowConfig = z.infer<typeof indexNowSchema>;

// Search-engine notification. After a publication the post's URL is recorded as a pending ping of its
// destination, and a ping job is asked for: requests within the same second share one job, which sends
// every pending URL of the destination in one POST per host (IndexNow takes up to 10,000). Through the
// guarded fetcher; 429, 5xx and network errors are retried with backoff, other refusals are final;
// either way the row says what happened and the post is not touched.

const MAX_URLS = 10_000;
export const INDEXNOW_JOB = 'indexnow';
export const INDEXNOW_ATTEMPTS = 6;
const jobSchema = z.object({ tenantId: z.uuid(), destinationId: z.uuid() }).strict();

type Pending = { id: string; url: string; post_id: string };

/** Records the URL and asks for a ping of its destination within about a second. */
export async function requestIndexNowPing(
  db: Db,
  queue: Queue,
  ping: { tenantId: string; destinationId: string; postId: string; generation: number; url: string },
): Promise<void> {
  await db.query(
    `INSERT INTO indexnow_pings (tenant_id, destination_id, post_id, generation, url) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (destination_id, post_id, generation) DO NOTHING`,
    [ping.tenantId, ping.destinationId, ping.postId, ping.generation, ping.url],
  );
  const now = Date.now();
  const bucket = Math.floor(now / 1000);
  await queue.add(
    INDEXNOW_JOB,
    { tenantId: ping.tenantId, destinationId: ping.destinationId },
    {
      jobId: `indexnow-${ping.destinationId}-${bucket}`,
      delay: (bucket + 1) * 1000 - now,
      attempts: INDEXNOW_ATTEMPTS,
      backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  );
}

export class IndexNowRetry extends Error {}

/**
 * Sends the destination's pending pings. The rows are locked while they are sent (a second job for the
 * destination skips them), and marked sent, or failed with the reason, in the same transaction.
 * Throws IndexNowRetry when a retry may succeed and this was not the last attempt.
 */
export async function sendIndexNowPings(
  deps: { db: Db; fetcher: SafeFetcher; log: Logger },
  data: unknown,
  /**
   * The destination's settings, and whether it is a static site (its key file beside its pages) or a site whose key is
   * at its root.
   */
  loadConfig: (
    tenantId: string,
    destinationId: string,
  ) => Promise<{ config: IndexNowConfig; staticSite: boolean } | null>,
  lastAttempt: boolean,
): Promise<{ sent: number; failed: number }> {
  const { tenantId, destinationId } = jobSchema.parse(data);
  const loaded = await loadConfig(tenantId, destinationId);
  const config = loaded?.config ?? null;
  const result = { sent: 0, failed: 0 };
  let retry: string | null = null;
  await deps.db.tx(async (client) => {
    const { rows } = await client.query<Pending>(
      `SELECT id, url, post_id FROM indexnow_pings WHERE destination_id = $1 AND status = 'pending'
        ORDER BY id LIMIT ${MAX_URLS} FOR UPDATE SKIP LOCKED`,
      [destinationId],
    );
    if (rows.length === 0) return;
    const mark = async (ids: string[], status: 'sent' | 'failed' | 'pending', error: string | null) => {
      await client.query(
        `UPDATE indexnow_pings SET status = $2, attempts = attempts + 1, last_error = $3,
                sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END WHERE id = ANY($1::bigint[])`,
        [ids, status, error?.slice(0, 2000) ?? null],
      );
    };
    if (!config?.enabled) {
      await mark(
        rows.map((r) => r.id),
        'failed',
        'IndexNow was turned off for the destination before the ping was sent',
      );
      result.failed += rows.length;
      return;
    }
    const byHost = new Map<string, Pending[]>();
    for (const row of rows) {
      const host = new URL(row.url).host;
      byHost.set(host, [...(byHost.get(host) ?? []), row]);
    }
    for (const [host, group] of byHost) {
      const ids = group.map((r) => r.id);
      // Without keyLocation, IndexNow looks for the key at the host's root (where a WordPress site must serve it).
      const keyLocation =
        config.keyLocation ?? (loaded?.staticSite ? keyLocationFor(group[0]!.url, config.key) : undefined);
      const body = {
        host: host.replace(/:\d+$/, ''),
        key: config.key,
        ...(keyLocation ? { keyLocation } : {}),
        urlList: group.map((r) => r.url),
      };
      let outcome: { ok: true } | { ok: false; final: boolean; reason: string };
      try {
        const res = await deps.fetcher.send(config.endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify(body),
          timeoutMs: 15_000,
          maxResponseBytes: 64 * 1024,
        });
        await res.text().catch(() => '');
        if (res.status === 200 || res.status === 202) outcome = { ok: true };
        else
          outcome = {
            ok: false,
            final: !(res.status === 429 || res.status >= 500),
            reason: `IndexNow ${config.endpoint} answered ${res.status}${statusHint(res.status)}`,
          };
      } catch (err) {
        const permanent =
          err instanceof FetchError && (err.kind === 'refused' || (err.permanent && err.kind !== 'dns'));
        outcome = { ok: false, final: permanent, reason: `IndexNow ${config.endpoint}: ${errorMessage(err)}` };
      }
      if (outcome.ok) {
        await mark(ids, 'sent', null);
        result.sent += ids.length;
        indexNowPingsTotal.inc({ outcome: 'sent' }, ids.length);
        deps.log.info({ destinationId, host, urls: ids.length }, 'IndexNow ping sent');
      } else if (outcome.final || lastAttempt) {
        await mark(ids, 'failed', outcome.reason);
        result.failed += ids.length;
        indexNowPingsTotal.inc({ outcome: 'failed' }, ids.length);
        deps.log.warn({ destinationId, host, urls: ids.length, reason: outcome.reason }, 'IndexNow ping failed');
      } else {
        await mark(ids, 'pending', outcome.reason);
        indexNowPingsTotal.inc({ outcome: 'retrying' }, ids.length);
        deps.log.warn(
          { destinationId, host, urls: ids.length, reason: outcome.reason },
          'IndexNow ping will be retried',
        );
        retry = outcome.reason;
      }
    }
  });
  if (retry) throw new IndexNowRetry(retry);
  return result;
}

/** `<folder of the page>/<key>.txt`: where the static site serves the key (URLs must lie under its folder). */
function keyLocationFor(pageUrl: string, key: string): string {
  const url = new URL(pageUrl);
  url.pathname = `${url.pathname.replace(/[^/]*$/, '')}${key}.txt`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

function statusHint(status: number): string {
  if (status === 403) return ' (the key is not valid: is the key file served at keyLocation?)';
  if (status === 422) return ' (the URLs do not belong to the host, or the key does not match)';
  if (status === 429) return ' (too many requests)';
  return '';
}
