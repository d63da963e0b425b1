import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stages } from '../../queues/stages.ts';
import { correlationHeaders, currentCorrelationId, withCorrelationId } from '../../src/correlation.ts';
import { createLogger } from '../../src/logger.ts';
import { maintenanceQueueName } from '../../queues/registry.ts';
import { startMetricsServer } from '../../src/roles.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

type LogLine = Record<string, unknown> & {
  msg?: string;
  stage?: string;
  postId?: string;
  correlationId?: string;
  requestId?: string;
};

const metricsToken = 'metrics-token-0123456789';

describe('observability of the API and the stages', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  const lines: LogLine[] = [];

  beforeAll(async () => {
    t = await createTestEnv({ LOG_LEVEL: 'debug', METRICS_TOKEN: metricsToken, DATABASE_SLOW_QUERY_MS: '1' });
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
        done();
      },
    });
    app = await startPipeline(t, { logger: createLogger('debug', 'blog-poster', sink) });
  });

  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  it("follows one submission's request id through the log lines of all five stages", async () => {
    const requestId = `trace-${t.id}-follow-me`;
    const res = await app.post(
      '/api/v1/submissions',
      {
        source: {
          type: 'markdown',
          text:
            '# Tracing a post\n\nEvery stage of this post logs with the request id ' +
            'it came in with. Operators search one id and see the whole story.',
        },
      },
      { 'x-request-id': requestId },
    );
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    const postId = res.body.postId as string;
    await waitFor(
      'the post published',
      async () => (await app.get(`/api/v1/posts/${postId}`)).body.status === 'published',
    );

    const ofPost = lines.filter((l) => l.postId === postId);
    for (const stage of stages) {
      const stageLines = ofPost.filter((l) => l.stage === stage);
      expect(stageLines.length, `log lines of ${stage}`).toBeGreaterThanOrEqual(2); // started (debug) and completed
      expect(stageLines.map((l) => l.msg)).toContain('stage completed');
    }
    // Every line about the post carries the id, and so does every line written while it was handled
    // (whichever logger wrote it), and the HTTP request's own lines.
    expect(ofPost.length).toBeGreaterThanOrEqual(10);
    for (const line of ofPost) expect(line.correlationId, JSON.stringify(line)).toBe(requestId);
    const accepted = lines.find((l) => l.msg === 'submission accepted' && l.postId === postId);
    expect(accepted).toMatchObject({ correlationId: requestId });
    // The id is also the post's stored correlation id, so a replay later keeps it.
    const { rows } = await app.rt.db.query<{ correlation_id: string }>(
      'SELECT correlation_id FROM posts WHERE id = $1',
      [postId],
    );
    expect(rows[0]!.correlation_id).toBe(requestId);
  });

  it('gives outbound calls the current correlation id as an X-Request-Id header', async () => {
    expect(correlationHeaders()).toEqual({});
    await withCorrelationId('corr-42', async () => {
      await new Promise((r) => setTimeout(r, 5));
      expect(currentCorrelationId()).toBe('corr-42');
      expect(correlationHeaders()).toEqual({ 'X-Request-Id': 'corr-42' });
    });
    expect(correlationHeaders('explicit-id')).toEqual({ 'X-Request-Id': 'explicit-id' });
  });

  it("reports readiness of Redis, PostgreSQL, the vector index and each queue's workers, with latencies", async () => {
    const res = await fetch(`${app.api.url}/readyz`);
    const body = (await res.json()) as {
      status: string;
      checks: Record<
        string,
        { status: string; latencyMs: number; queues?: Record<string, { status: string; workers: number }> }
      >;
    };
    // The maintenance queue has no worker in this process (no scheduler): reported, but not fatal.
    expect(res.status).toBe(200);
    expect(body.status).toBe('degraded');
    for (const name of ['redis', 'postgres', 'vectorIndex']) {
      expect(body.checks[name], name).toMatchObject({ status: 'up', critical: true });
      expect(body.checks[name]!.latencyMs).toBeGreaterThanOrEqual(0);
    }
    expect(body.checks.workers).toMatchObject({
      status: 'down',
      critical: false,
      error: `no live worker for ${maintenanceQueueName}`,
    });
    for (const stage of stages) expect(body.checks.workers!.queues![stage]).toEqual({ status: 'up', workers: 1 });
    expect(body.checks.workers!.queues![maintenanceQueueName]).toEqual({ status: 'down', workers: 0 });
  });

  it('serves /metrics only with the metrics token, with bounded labels and the scrape-time gauges', async () => {
    expect((await fetch(`${app.api.url}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${app.api.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0000000000' } })).status,
    ).toBe(401);
    const res = await fetch(`${app.api.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(res.status).toBe(200);
    const text = await res.text();

    for (const stage of stages) {
      expect(text).toContain(`blog_poster_queue_jobs{queue="${stage}",state="completed"}`);
      expect(text).toMatch(new RegExp(`blog_poster_queue_workers\\{queue="${stage}"\\} 1\\b`));
      expect(text).toMatch(new RegExp(`blog_poster_stage_jobs_completed_total\\{stage="${stage}"\\} [1-9]`));
      expect(text).toContain(`blog_poster_stage_jobs_failed_total{stage="${stage}"} 0`);
      expect(text).toContain(
        `blog_poster_stage_processing_seconds_bucket{le="0.005",stage="${stage}",outcome="completed"}`,
      );
    }
    expect(text).toContain(`blog_poster_queue_workers{queue="${maintenanceQueueName}"} 0`);
    expect(text).toMatch(/blog_poster_posts\{status="published"\} [1-9]/);
    expect(text).toContain('blog_poster_posts{status="needs_review"} 0');
    expect(text).toMatch(/blog_poster_db_pool_connections\{state="total"\} [1-9]/);
    expect(text).toMatch(/blog_poster_db_slow_queries_total [1-9]/); // DATABASE_SLOW_QUERY_MS=1 here
    expect(text).toContain('blog_poster_tenant_budget_used_ratio_max ');
    expect(text).toMatch(/blog_poster_submission_to_published_seconds_count [1-9]/);
    expect(text).toContain(
      'http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/submissions",status_code="202"}',
    );
    expect(text).toContain('process_cpu_seconds_total');

    // Labels stay bounded: no post, job or tenant ids, no raw paths.
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    expect(text).not.toMatch(/[{,](tenant\w*|post_?id|job_?id|submission\w*)=/i);
    await fetch(`${app.api.url}/no/such/path/${t.id}`);
    const again = await (
      await fetch(`${app.api.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })
    ).text();
    expect(again).not.toContain(t.id);
    expect(again).toContain('route="unmatched"');
  });

  it('serves the same endpoints on a metrics port of its own (workers, the scheduler)', async () => {
    const role = await startMetricsServer(app.rt, 0);
    try {
      const { port } = role.server.address() as { port: number };
      expect(port).toBeGreaterThan(0);
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(await metrics.text()).toContain('blog_poster_queue_jobs{');
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    } finally {
      await role.stop();
    }
  });
});
