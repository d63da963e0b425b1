import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { httpRequestDurationSeconds, registry } from '../metrics.ts';
import type { PipelineQueues } from '../pipeline-queues.ts';
import { sendProblem } from './problem.ts';
import { postRoutes } from './routes/posts.ts';
import { submissionRoutes } from './routes/submissions.ts';

export type AppDeps = { config: Config; db: Db; redis: Redis; queues: PipelineQueues; logger: Logger };

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
    tenantId: string;
  }
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

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

  // Each area of the API is one router in ./routes; add new ones to this list.
  for (const routes of [submissionRoutes, postRoutes]) api.use(routes(deps));

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
