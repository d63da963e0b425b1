import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { authenticate } from '../auth/authenticate.ts';
import type { ReadRouting } from '../db/replicas.ts';
import type { RedisClient } from '../redis.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { withCorrelationId } from '../correlation.ts';
import { httpRequestDurationSeconds } from '../metrics.ts';
import type { PipelineQueues } from '../../queues/registry.ts';
import type { Providers } from '../providers.ts';
import { bullBoardRoutes } from './bull-board.ts';
import { consoleRoutes } from './console.ts';
import { healthRoutes } from './health.ts';
import { docsRoutes } from './docs.ts';
import { captureRouteError, errorTracker, trackerLocal } from '../error-tracking.ts';
import { cors, refuseUnstorableStrings, requireJsonBody, safeUrlsOr422 } from './hardening.ts';
import { sendProblem } from './problem.ts';
import { addressRateLimit, keyRateLimit } from './rate-limit.ts';
import { adminRoutes } from './routes/admin.ts';
import { inboundHookRoutes } from './routes/hooks.ts';
import { destinationRoutes } from './routes/destinations.ts';
import { editorialRoutes } from './routes/editorial.ts';
import { feedRoutes } from './routes/feeds.ts';
import { postActionRoutes } from './routes/post-actions.ts';
import { overviewRoutes } from './routes/overview.ts';
import { postRoutes } from './routes/posts.ts';
import { readRouting } from './read-routing.ts';
import { replayRoutes } from './routes/replay.ts';
import { searchRoutes } from './routes/search.ts';
import { submissionRoutes } from './routes/submissions.ts';

export type AppDeps = {
  config: Config;
  db: Db;
  redis: RedisClient;
  /** Read replicas (DATABASE_READ_URL), when there are some. */
  reads?: ReadRouting | null;
  queues: PipelineQueues;
  logger: Logger;
  providers?: Providers;
};

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
    // Every line logged for the request carries its id as correlationId (the logger's mixin, ../correlation.ts): a
    // child logger per request would add the same id again, and cost the API a tenth of its logging CPU.
    req.log = logger;
    const end = httpRequestDurationSeconds.startTimer({ method: req.method });
    res.on('finish', () => {
      // Route templates only; unmatched paths share one label so the series stay bounded.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ route, status_code: String(res.statusCode) });
    });
    // Log lines and outbound calls made for this request carry its id (see ../correlation.ts).
    withCorrelationId(req.id, next);
  });

  // Security headers on every answer; CORS closed unless CORS_ORIGINS lists origins (./hardening.ts).
  app.use(helmet());
  app.use(cors(config));

  // /healthz, /readyz, /metrics (./health.ts) and the operator console at /admin/queues (./bull-board.ts).
  app.use(healthRoutes(deps));
  // The OpenAPI document (/openapi.json, /api/v1/openapi.json) and the docs page at /docs (./docs.ts).
  app.use(docsRoutes(deps));
  // Unhandled errors (the 500 below) go to error tracking when SENTRY_DSN is set (../error-tracking.ts).
  app.locals[trackerLocal] = errorTracker(config);
  app.use('/admin/queues', bullBoardRoutes(deps));
  // The editorial console at /console: static files that call the API (./console.ts).
  app.use(consoleRoutes());

  // Per client address before any authentication; then signed webhook deliveries, which carry no key.
  app.use('/api/v1', addressRateLimit(deps));
  app.use('/api/v1/hooks', inboundHookRoutes(deps));

  const api = express.Router();
  // API keys, scopes and the per-key limit (../auth/authenticate.ts, ./rate-limit.ts).
  api.use(authenticate(config, db));
  api.use(keyRateLimit(deps));
  // Reads to a replica that has the tenant's writes, writes pin the tenant to the primary (./read-routing.ts).
  api.use(readRouting(deps));
  api.use(requireJsonBody);
  api.use(express.json({ limit: config.BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] }));
  // NUL and lone surrogates, which PostgreSQL cannot store, are a 422 naming the field for every route.
  api.use(refuseUnstorableStrings);
  // So are URLs the SSRF guard would refuse anyway (credentials, private or metadata addresses).
  api.use((req, res, next) => {
    if (safeUrlsOr422(res, config, req.body)) next();
  });

  // Each area of the API is one router in ./routes; add new ones to this list.
  for (const routes of [
    submissionRoutes,
    postRoutes,
    searchRoutes,
    destinationRoutes,
    postActionRoutes,
    feedRoutes,
    adminRoutes,
    replayRoutes,
    editorialRoutes,
    overviewRoutes,
  ])
    api.use(routes(deps));

  app.use('/api/v1', api);

  app.use((req, res) => sendProblem(res, 404, 'Not Found', { detail: `no route ${req.method} ${req.path}` }));
  app.use(errorHandler);
  return app;
}

type BodyParserError = Error & { type?: string; status?: number; limit?: number };

function errorHandler(err: BodyParserError, req: Request, res: Response, _next: NextFunction): void {
  switch (err.type) {
    case 'entity.too.large':
      sendProblem(res, 413, 'Payload Too Large', {
        detail: `the body is over the ${err.limit} byte limit`,
        errors: [{ field: '(body)', message: 'too large' }],
      });
      return;
    case 'entity.parse.failed':
      sendProblem(res, 400, 'Malformed JSON', {
        detail: err.message,
        errors: [{ field: '(body)', message: 'is not valid JSON' }],
      });
      return;
    case 'encoding.unsupported':
    case 'charset.unsupported':
      sendProblem(res, 415, 'Unsupported Media Type', {
        detail: err.message,
        errors: [{ field: 'Content-Type', message: err.message }],
      });
      return;
    case 'request.aborted':
    case 'request.size.invalid':
      sendProblem(res, 400, 'Bad Request', { detail: err.message });
      return;
  }
  // Other client errors Express raises itself, such as a broken %-escape in a path parameter (URIError, 400).
  if (err.status !== undefined && err.status >= 400 && err.status < 500) {
    sendProblem(res, err.status, STATUS_CODES[err.status] ?? 'Bad Request', {
      detail: err.message,
      errors: [{ field: '(path)', message: err.message }],
    });
    return;
  }
  if (isUnavailable(err)) {
    req.log.warn({ err: err.message }, 'a dependency is unavailable');
    sendProblem(res, 503, 'Service Unavailable', {
      detail: 'the queue or database is unavailable; retry later',
      headers: { 'Retry-After': '5' },
    });
    return;
  }
  req.log.error({ err }, 'unhandled error');
  captureRouteError(req, err);
  sendProblem(res, 500, 'Internal Server Error', {
    detail: 'an unexpected error; the request id identifies it in the logs',
  });
}

/** Redis or PostgreSQL out of reach: the client should retry, not treat it as a bug. */
function isUnavailable(err: unknown): boolean {
  // The error itself or what it wraps (BullMQ and pg-pool rethrow connection errors inside their own).
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { name, message } = e;
    const code = (e as { code?: unknown }).code;
    if (unavailableErrorNames.has(name)) return true;
    if (unavailableMessage.test(message)) return true;
    // A Redis that is loading its data, failing over or refusing writes answers these instead of data.
    if (name === 'ReplyError' && /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|BUSY)\b/.test(message))
      return true;
    if (typeof code === 'string' && unavailableCodes.has(code)) return true;
  }
  return false;
}

// ioredis gives up on a command with these when the connection is gone or keeps failing.
const unavailableErrorNames = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError', 'AbortError']);
const unavailableMessage =
  /Connection is closed|Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|ETIMEDOUT|Connection terminated|timeout exceeded when trying to connect|max retries per request/i;
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P03',
  '08006',
  '08001',
]);
