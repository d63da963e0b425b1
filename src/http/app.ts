import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { readPost, readSubmission } from '../db/read-models.ts';
import type { Logger } from '../logger.ts';
import { httpRequestDurationSeconds, registry } from '../metrics.ts';
import type { PipelineQueues } from '../pipeline-queues.ts';
import { acceptSubmission, IdempotencyConflictError, submissionSchema } from '../submissions.ts';
import { sendProblem, zodFieldErrors } from './problem.ts';

export type AppDeps = { config: Config; db: Db; redis: Redis; queues: PipelineQueues; logger: Logger };

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
    tenantId: string;
  }
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
const idempotencyKeyPattern = /^[\x21-\x7e]{1,255}$/;
const uuid = z.uuid();

/**
 * The thin HTTP layer: it validates, authenticates, records, enqueues and answers. It never
 * fetches a source, calls a model or publishes anything itself.
 */
export function createApp(deps: AppDeps): express.Express {
  const { config, db, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  app.use((req, res, next) => {
    const incoming = req.get('x-request-id');
    req.id = incoming && requestIdPattern.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    req.log = logger.child({ requestId: req.id });
    const end = httpRequestDurationSeconds.startTimer({ method: req.method });
    res.on('finish', () => {
      // Route templates only; unmatched paths share one label so the series stay bounded.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ route, status_code: String(res.statusCode) });
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const [redis, postgres] = await Promise.all([
      probe(() => deps.redis.ping()),
      probe(() => db.query('SELECT 1')),
    ]);
    const ok = redis.status === 'up' && postgres.status === 'up';
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks: { redis, postgres } });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  const api = express.Router();
  api.use(authenticate(config, db));
  api.use(express.json({ limit: config.BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] }));

  api.post('/submissions', async (req, res) => {
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
      const accepted = await acceptSubmission(db, deps.queues, {
        tenantId: req.tenantId,
        body: parsed.data,
        idempotencyKey,
        correlationId: req.id,
      });
      req.log.info({ submissionId: accepted.submissionId, postId: accepted.postId, replayed: accepted.replayed }, 'submission accepted');
      const self = `/api/v1/submissions/${accepted.submissionId}`;
      if (accepted.replayed) res.setHeader('Idempotent-Replayed', 'true');
      res
        .status(202)
        .location(self)
        .json({ id: accepted.submissionId, status: 'accepted', postId: accepted.postId, links: { self, post: `/api/v1/posts/${accepted.postId}` } });
    } catch (err) {
      if (err instanceof IdempotencyConflictError) {
        return sendProblem(res, 422, 'Idempotency-Key reused', { detail: err.message, errors: [{ field: 'Idempotency-Key', message: err.message }] });
      }
      throw err;
    }
  });

  api.get('/submissions/:id', async (req, res) => {
    const id = String(req.params.id);
    const submission = uuid.safeParse(id).success ? await readSubmission(db, req.tenantId, id) : null;
    if (!submission) return sendProblem(res, 404, 'Not Found', { detail: `no submission ${id}` });
    res.json({ ...submission, links: { self: `/api/v1/submissions/${submission.id}` } });
  });

  api.get('/posts/:id', async (req, res) => {
    const id = String(req.params.id);
    const post = uuid.safeParse(id).success ? await readPost(db, req.tenantId, id) : null;
    if (!post) return sendProblem(res, 404, 'Not Found', { detail: `no post ${id}` });
    res.json(post);
  });

  app.use('/api/v1', api);

  app.use((req, res) => sendProblem(res, 404, 'Not Found', { detail: `no route ${req.method} ${req.path}` }));
  app.use(errorHandler);
  return app;
}

function authenticate(config: Config, db: Db) {
  const expected = createHash('sha256').update(config.DEV_API_KEY).digest();
  let defaultTenantId: string | undefined;
  return async (req: Request, res: Response, next: NextFunction) => {
    const match = /^Bearer (\S+)$/i.exec(req.get('authorization') ?? '');
    // Hashing both sides gives equal lengths, so the comparison time says nothing about the key.
    const given = createHash('sha256').update(match?.[1] ?? '').digest();
    if (!match || !timingSafeEqual(given, expected)) {
      return sendProblem(res, 401, 'Unauthorized', {
        detail: 'send Authorization: Bearer <api key>',
        errors: [{ field: 'Authorization', message: match ? 'unknown API key' : 'missing bearer token' }],
        headers: { 'WWW-Authenticate': 'Bearer realm="blog-poster"' },
      });
    }
    defaultTenantId ??= (await db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]?.id;
    if (!defaultTenantId) throw new Error('the default tenant is missing; run `blog-poster migrate`');
    req.tenantId = defaultTenantId;
    next();
  };
}

async function probe(check: () => Promise<unknown>): Promise<{ status: 'up' | 'down'; latencyMs: number; error?: string }> {
  const started = performance.now();
  try {
    await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2000).unref())]);
    return { status: 'up', latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return { status: 'down', latencyMs: Math.round(performance.now() - started), error: (err as Error).message };
  }
}

type BodyParserError = Error & { type?: string; status?: number; limit?: number };

function errorHandler(err: BodyParserError, req: Request, res: Response, _next: NextFunction): void {
  switch (err.type) {
    case 'entity.too.large':
      return sendProblem(res, 413, 'Payload Too Large', { detail: `the body is over the ${err.limit} byte limit`, errors: [{ field: '(body)', message: 'too large' }] });
    case 'entity.parse.failed':
      return sendProblem(res, 400, 'Malformed JSON', { detail: err.message, errors: [{ field: '(body)', message: 'is not valid JSON' }] });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return sendProblem(res, 415, 'Unsupported Media Type', { detail: err.message, errors: [{ field: 'Content-Type', message: err.message }] });
    case 'request.aborted':
    case 'request.size.invalid':
      return sendProblem(res, 400, 'Bad Request', { detail: err.message });
  }
  if (isUnavailable(err)) {
    req.log.warn({ err: err.message }, 'a dependency is unavailable');
    return sendProblem(res, 503, 'Service Unavailable', { detail: 'the queue or database is unavailable; retry later', headers: { 'Retry-After': '5' } });
  }
  req.log.error({ err }, 'unhandled error');
  sendProblem(res, 500, 'Internal Server Error', { detail: 'an unexpected error; the request id identifies it in the logs' });
}

/** Redis or PostgreSQL out of reach: the client should retry, not treat it as a bug. */
function isUnavailable(err: Error & { code?: string }): boolean {
  return (
    /Connection is closed|Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|ETIMEDOUT|Connection terminated|timeout exceeded when trying to connect/i.test(err.message) ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001'].includes(err.code ?? '')
  );
}
