import type { Config } from '../config.ts';
import { withCorrelationId } from '../correlation.ts';
import type { Db } from '../db/pool.ts';
import { errorMessage, isPermanent, PermanentError } from '../errors.ts';
import { createDestinationFetcher } from '../fetch/index.ts';
import type { SafeFetcher } from '../fetch/safe-fetch.ts';
import type { Logger } from '../logger.ts';
import { notificationDeliveriesTotal } from '../metrics.ts';
import { loadTenantSettings } from '../tenant-settings.ts';
import { loadPostForPublishing } from './post-data.ts';
import { postPayload } from './publish-post.ts';
import { readCredential } from './credentials.ts';
import { sendWebhook } from './webhook.ts';
import { backoffMs } from '../resilience/backoff.ts';

// Delivers the tenant's signed callbacks from the notifications outbox (filled by a trigger on
// posts.status, see migrations/0006). Any number of workers poll it: a claim takes due rows with
// SKIP LOCKED and leases them, so each delivery attempt is made by one worker; a worker that dies
// mid-delivery leaves the lease to expire and another retries with the same webhook-id.
// Deliveries go through the SSRF guard and carry the post's correlation id as X-Request-Id.

const LEASE_SECONDS = 60;
const BATCH = 20;

type Claimed = {
  id: number;
  tenant_id: string;
  post_id: string;
  event: string;
  attempts: number;
  payload: unknown;
  created_at: Date;
  correlation_id: string | null;
};

export function notificationWebhookId(id: number): string {
  return `msg_notification_${id}`;
}

/** One pass: delivers what is due; returns how many deliveries were attempted. */
export async function deliverDueNotifications(deps: {
  db: Db;
  config: Config;
  log: Logger;
  fetcher?: SafeFetcher;
}): Promise<number> {
  const { db, config, log } = deps;
  const fetcher = deps.fetcher ?? createDestinationFetcher(config);
  const { rows } = await db.query<Claimed>(
    `UPDATE notifications n SET attempts = n.attempts + 1, next_attempt_at = now() + make_interval(secs => $1)
       FROM (SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= now()
              ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) due
      WHERE n.id = due.id
      RETURNING n.id, n.tenant_id, n.post_id, n.event, n.attempts, n.payload, n.created_at,
                (SELECT p.correlation_id FROM posts p WHERE p.id = n.post_id) AS correlation_id`,
    [LEASE_SECONDS, BATCH],
  );
  await Promise.all(
    rows.map(async (row) => {
      try {
        const settings = await loadTenantSettings(db, row.tenant_id);
        if (!settings.notifications) throw new PermanentError('the tenant has no notification callback any more');
        const payload = row.payload ?? (await freezePayload(db, row));
        const { url, secretEnv, secretName } = settings.notifications;
        const secret = await readCredential(
          deps,
          row.tenant_id,
          { env: secretEnv, secret: secretName },
          'the notification signing secret',
        );
        const target = { url, secret, timeoutMs: config.NOTIFICATION_TIMEOUT_MS };
        const deliver = () =>
          sendWebhook(fetcher, target, { id: notificationWebhookId(row.id), type: row.event, data: payload });
        await (row.correlation_id ? withCorrelationId(row.correlation_id, deliver) : deliver());
        await db.query(
          `UPDATE notifications SET status = 'delivered', delivered_at = now(), last_error = NULL WHERE id = $1`,
          [row.id],
        );
        notificationDeliveriesTotal.inc({ event: row.event, outcome: 'delivered' });
      } catch (err) {
        const final = isPermanent(err) || row.attempts >= config.NOTIFICATION_ATTEMPTS;
        const delayMs = backoffMs(row.attempts, {
          baseMs: config.NOTIFICATION_BACKOFF_MS,
          maxMs: 3_600_000,
          jitter: 0.5,
        });
        await db
          .query(
            `UPDATE notifications SET status = CASE WHEN $2 THEN 'failed' ELSE 'pending' END, last_error = $3,
                    next_attempt_at = now() + make_interval(secs => $4) WHERE id = $1`,
            [row.id, final, errorMessage(err).slice(0, 2000), delayMs / 1000],
          )
          .catch(() => undefined);
        notificationDeliveriesTotal.inc({ event: row.event, outcome: final ? 'failed' : 'retrying' });
        log.warn(
          { notificationId: row.id, event: row.event, attempts: row.attempts, err: errorMessage(err), final },
          'notification delivery failed',
        );
      }
    }),
  );
  return rows.length;
}

/** The body is built once, at the first attempt, and reused by every retry. */
async function freezePayload(db: Db, row: Claimed): Promise<unknown> {
  const post = await loadPostForPublishing(db, row.post_id);
  const extra = await db.query<{
    status: string;
    held_reason: string | null;
    failed_stage: string | null;
    failure_reason: string | null;
  }>('SELECT status, held_reason, failed_stage, failure_reason FROM posts WHERE id = $1', [row.post_id]);
  const pubs = await db.query<{ destination: string; kind: string; url: string | null; location: string | null }>(
    `SELECT destination, kind, url, location FROM publications WHERE post_id ` +
      `= $1 AND status = 'published' ORDER BY published_at`,
    [row.post_id],
  );
  const state = extra.rows[0];
  const payload = {
    post: post ? { ...postPayload(post), status: row.event.slice('post.'.length) } : { id: row.post_id },
    ...(row.event === 'post.failed'
      ? { failure: { stage: state?.failed_stage ?? null, reason: state?.failure_reason ?? null } }
      : {}),
    ...(row.event === 'post.needs_review' || row.event === 'post.awaiting_approval'
      ? { hold: { reason: state?.held_reason ?? null } }
      : {}),
    ...(row.event === 'post.published'
      ? {
          publications: pubs.rows.map((p) => ({
            destination: p.destination,
            kind: p.kind,
            url: p.url ?? (p.kind === 'files' ? null : p.location),
          })),
        }
      : {}),
    occurredAt: row.created_at.toISOString(),
    links: { post: `/api/v1/posts/${row.post_id}` },
  };
  await db.query(`UPDATE notifications SET payload = $2 WHERE id = $1 AND payload IS NULL`, [
    row.id,
    JSON.stringify(payload),
  ]);
  const stored = await db.query<{ payload: unknown }>('SELECT payload FROM notifications WHERE id = $1', [row.id]);
  return stored.rows[0]?.payload ?? payload;
}

/** Polls the outbox every NOTIFICATION_POLL_MS until stopped; a pass that found a full batch goes again at once. */
export function startNotificationDelivery(deps: { db: Db; config: Config; logger: Logger }): { stop(): Promise<void> } {
  const log = deps.logger.child({ component: 'notifications' });
  const fetcher = createDestinationFetcher(deps.config);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      let delivered = 0;
      try {
        delivered = await deliverDueNotifications({ db: deps.db, config: deps.config, log, fetcher });
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'notification pass failed');
      }
      if (!stopped) timer = setTimeout(tick, delivered >= BATCH ? 0 : deps.config.NOTIFICATION_POLL_MS);
    })();
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
