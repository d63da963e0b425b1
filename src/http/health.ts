import express, { Router } from 'express';
import {
  pgvectorCheck,
  postgresCheck,
  readiness,
  redisCheck,
  replicasCheck,
  workersCheck,
  type HealthCheck,
} from '../health-checks.ts';
import { installScrapeCollectors } from '../metrics-collectors.ts';
import { registry } from '../metrics.ts';
import { matchesSecret, secretDigest } from '../security/secret-digest.ts';
import type { AppDeps } from './app.ts';
import { sendProblem } from './problem.ts';

/**
 * /healthz (the process is alive), /readyz (every dependency, each with status and latency) and
 * /metrics (Prometheus; behind METRICS_TOKEN when that is set). Mounted by the API and by the
 * metrics port of processes without the API.
 */
export function healthRoutes(deps: AppDeps): Router {
  const { config, db, redis } = deps;
  const queues = deps.queues.all();
  // This process's scrape-time gauges (queue depth, workers, posts by status, budget use) read these.
  installScrapeCollectors({ db, queues });

  const providerChecks: HealthCheck[] = deps.providers?.healthChecks ?? [];
  const checks: HealthCheck[] = [
    redisCheck(redis),
    postgresCheck(db),
    // Providers that bring their own vector index (Qdrant) contribute its check instead.
    ...(providerChecks.some((c) => c.name === 'vectorIndex') ? [] : [pgvectorCheck(db)]),
    ...providerChecks,
    workersCheck(queues),
    ...(deps.reads ? [replicasCheck(deps.reads)] : []),
  ];

  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const report = await readiness(checks);
    res.status(report.status === 'not ready' ? 503 : 200).json(report);
  });

  const expected = config.METRICS_TOKEN ? secretDigest(config.METRICS_TOKEN) : null;
  router.get('/metrics', async (req, res) => {
    if (expected) {
      const match = /^Bearer (\S+)$/i.exec(req.get('authorization') ?? '');
      if (!match || !matchesSecret(match[1]!, expected)) {
        return sendProblem(res, 401, 'Unauthorized', {
          detail: 'send Authorization: Bearer <METRICS_TOKEN>',
          errors: [{ field: 'Authorization', message: match ? 'wrong metrics token' : 'missing bearer token' }],
          headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
        });
      }
    }
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}

/** The same three endpoints on their own port (METRICS_PORT), for workers and the scheduler. */
export function createHealthApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(deps));
  app.use((req, res) => sendProblem(res, 404, 'Not Found', { detail: `no route ${req.method} ${req.path}` }));
  return app;
}

// Hashing both sides gives equal lengths, so comparing says nothing about the token's length.
