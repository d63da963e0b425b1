import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { AppDeps } from '../app.ts';
import { tenantLookup } from '../../auth/authenticate.ts';
import { verifyDelivery } from '../../auth/webhook-signatures.ts';
import { keyringOf } from '../../security/secrets.ts';
import { IdempotencyConflictError, submissionSchema, UnknownDestinationsError } from '../../submissions.ts';
import { submissionGroups } from '../../submissions/group-commit.ts';
import { safeUrlsOr422, storableOr422 } from '../hardening.ts';
import { keyRateLimit } from '../rate-limit.ts';
import { readRouting } from '../read-routing.ts';
import { sendAccepted } from './submissions.ts';
import { sendProblem, zodFieldErrors } from '../problem.ts';

const slugPattern = /^[a-z0-9-]{1,100}$/;

const refusals = {
  'missing-headers': 'send webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks)',
  'no-secret': 'no valid signature for this tenant',
  'bad-signature': 'no valid signature for this tenant',
  stale: 'webhook-timestamp is more than 5 minutes from now',
  replay: 'this webhook-id was delivered already',
} as const;

/**
 * Signed deliveries: `POST /api/v1/hooks/<tenant slug>/submissions` with a submission body, signed
 * per Standard Webhooks with one of the tenant's inbound secrets instead of an API key. The signature
 * is checked over the raw bytes before anything else reads the body.
 */
export function inboundHookRoutes(deps: AppDeps): Router {
  const { config, db, redis, queues } = deps;
  const router = Router();
  const tenants = tenantLookup(db);
  // Concurrent deliveries share one commit (../../submissions/group-commit.ts).
  const groups = submissionGroups(db, queues);

  async function verify(req: Request, res: Response, next: NextFunction) {
    const slug = String(req.params.tenant);
    const tenant = slugPattern.test(slug) ? await tenants({ slug }) : null;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    // An unknown tenant looks like one without a matching secret: the answer does not confirm slugs.
    const check = tenant
      ? await verifyDelivery(
          { db, redis, keyring: keyringOf(config), prefix: config.QUEUE_PREFIX },
          { tenantId: tenant.id, body, headers: req.headers },
        )
      : ({ ok: false, reason: 'no-secret', field: 'webhook-signature' } as const);
    if (!check.ok) {
      const status = check.reason === 'replay' ? 409 : 401;
      return sendProblem(res, status, status === 409 ? 'Replayed delivery' : 'Unauthorized', {
        detail: refusals[check.reason],
        errors: [{ field: check.field, message: refusals[check.reason] }],
      });
    }
    req.auth = {
      tenantId: tenant!.id,
      tenantSlug: tenant!.slug,
      operator: false,
      via: 'webhook',
      principal: `webhook:${tenant!.slug}`,
      scopes: ['submit'],
      rateLimit: tenant!.rateLimit,
    };
    req.tenantId = tenant!.id;
    req.log = req.log.child({ tenantId: tenant!.id, webhookId: check.messageId });
    // A delivery that fails on our side (503) may be retried by the sender with the same id.
    res.on('finish', () => {
      if (res.statusCode >= 500) void check.forget();
    });
    next();
  }

  router.post(
    '/:tenant/submissions',
    express.raw({ type: () => true, limit: config.BODY_LIMIT }),
    verify,
    // A delivery writes like an API call: its tenant reads from the primary until a replica has the write.
    readRouting(deps),
    keyRateLimit(deps),
    async (req, res) => {
      if (!req.is(['application/json', 'application/*+json'])) {
        return sendProblem(res, 415, 'Unsupported Media Type', {
          errors: [{ field: 'Content-Type', message: 'must be application/json' }],
        });
      }
      let body: unknown;
      try {
        body = JSON.parse((req.body as Buffer).toString('utf8'));
      } catch (err) {
        return sendProblem(res, 400, 'Malformed JSON', {
          detail: (err as Error).message,
          errors: [{ field: '(body)', message: 'is not valid JSON' }],
        });
      }
      // A 422 (never a 5xx) for what cannot be stored: the sender must not retry a poison delivery.
      if (!storableOr422(res, body) || !safeUrlsOr422(res, config, body)) return;
      const parsed = submissionSchema.safeParse(body);
      if (!parsed.success) return sendProblem(res, 422, 'Invalid submission', { errors: zodFieldErrors(parsed.error) });
      try {
        const accepted = await groups.accept({
          tenantId: req.tenantId,
          body: parsed.data,
          // The delivery id doubles as the idempotency key: a redelivery after our 5xx runs the pipeline once.
          idempotencyKey: `webhook:${req.get('webhook-id')}`,
          correlationId: req.id,
        });
        req.log.info({ submissionId: accepted.submissionId, postId: accepted.postId }, 'signed submission accepted');
        sendAccepted(res, accepted);
      } catch (err) {
        if (err instanceof UnknownDestinationsError)
          return sendProblem(res, 422, 'Invalid submission', { detail: err.message, errors: err.fields });
        if (err instanceof IdempotencyConflictError) {
          return sendProblem(res, 409, 'Replayed delivery', {
            detail: err.message,
            errors: [{ field: 'webhook-id', message: err.message }],
          });
        }
        throw err;
      }
    },
  );

  return router;
}
