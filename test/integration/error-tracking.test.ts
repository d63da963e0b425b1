import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { errorTracker } from '../../src/error-tracking.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { spawnRole } from '../support/worker-process.ts';

// Error tracking against a local server that speaks Sentry's envelope endpoint
// (POST /api/<project>/envelope/), as a self-hosted Sentry, GlitchTip or Bugsink would.

type SentryEvent = {
  event_id: string;
  level?: string;
  tags?: Record<string, string>;
  exception?: { values?: { type?: string; value?: string }[] };
  request?: unknown;
  environment?: string;
};
type Received = { path: string; auth: string; event: SentryEvent; raw: string };

function fakeSentry(answerAfterMs = 0) {
  const received: Received[] = [];
  const acknowledged: number[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const raw = body.toString('utf8');
    if (req.method !== 'POST' || !/^\/api\/1\/envelope\/(\?|$)/.test(req.url ?? '')) {
      res.writeHead(404).end();
      return;
    }
    // An envelope: a header line, then (item header line, payload line) pairs.
    const lines = raw.split('\n');
    for (let i = 1; i + 1 < lines.length; i += 2) {
      const item = JSON.parse(lines[i]!) as { type: string };
      if (item.type === 'event') {
        const auth = String(req.headers['x-sentry-auth'] ?? '') + (req.url ?? '');
        received.push({ path: req.url ?? '', auth, event: JSON.parse(lines[i + 1]!) as SentryEvent, raw });
      }
    }
    if (answerAfterMs) await new Promise((r) => setTimeout(r, answerAfterMs));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    acknowledged.push(Date.now());
  });
  return { server, received, acknowledged };
}

describe('error tracking (Sentry SDK) when SENTRY_DSN is set', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let sentry: ReturnType<typeof fakeSentry>;
  let source: Server;
  let sourceUrl: string;
  let sourceHits = 0;
  const sourceHeaders: string[] = [];

  beforeAll(async () => {
    sentry = fakeSentry();
    await new Promise<void>((resolve) => sentry.server.listen(0, '127.0.0.1', resolve));
    const dsn = `http://publickey@127.0.0.1:${(sentry.server.address() as AddressInfo).port}/1`;
    // A source site whose page always fails with a 503 (transient: retried, then the post fails).
    source = createServer((req, res) => {
      if (req.url === '/robots.txt') return void res.writeHead(404).end();
      if (req.url === '/gone') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('no such page');
      sourceHits++;
      sourceHeaders.push(...Object.keys(req.headers));
      res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
    });
    await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
    sourceUrl = `http://127.0.0.1:${(source.address() as AddressInfo).port}`;
    t = await createTestEnv({
      SENTRY_DSN: dsn,
      SENTRY_ENVIRONMENT: 'test-env',
      STAGE_ATTEMPTS: '2',
      FETCH_TIMEOUT_MS: '2000',
    });
    app = await startPipeline(t);
  });
  afterAll(async () => {
    await app?.stop();
    await errorTracker(t.config).close();
    await t?.cleanup();
    await new Promise((resolve) => sentry?.server.close(resolve));
    await new Promise((resolve) => source?.close(resolve));
  });

  const flush = () => errorTracker(t.config).flush(5000);
  const eventsWith = (tag: string, value: string) => sentry.received.filter((r) => r.event.tags?.[tag] === value);

  it('is off by default: no DSN, no client', () => {
    expect(errorTracker(loadConfig({})).enabled).toBe(false);
    expect(errorTracker(t.config).enabled).toBe(true);
  });

  it('reports an unhandled route error (the 500) with the request id and route template as tags, and no secrets', async () => {
    // A real fault inside a route: the table the route reads is gone.
    await app.rt.db.query('ALTER TABLE feeds RENAME TO feeds_away');
    const requestId = 'req-error-tracking-500';
    try {
      const res = await fetch(`${app.api.url}/api/v1/feeds`, {
        headers: { ...app.headers, 'x-request-id': requestId, cookie: 'session=cookie-secret-value' },
      });
      expect(res.status).toBe(500);
      expect(((await res.json()) as { requestId: string }).requestId).toBe(requestId);
    } finally {
      await app.rt.db.query('ALTER TABLE feeds_away RENAME TO feeds');
    }
    await flush();
    const [report] = await waitFor(
      'the route error event',
      async () => eventsWith('correlation_id', requestId).length > 0 && eventsWith('correlation_id', requestId),
      10_000,
    );
    expect(report!.path).toMatch(/^\/api\/1\/envelope\//);
    expect(report!.auth).toContain('sentry_key=publickey');
    expect(report!.event.tags).toMatchObject({
      correlation_id: requestId,
      route: '/api/v1/feeds',
      method: 'GET',
      status_code: '500',
      source: 'http',
    });
    expect(report!.event.environment).toBe('test-env');
    expect(report!.event.exception?.values?.[0]?.value).toMatch(/relation "feeds" does not exist/);
    expect(report!.event.request).toBeUndefined();
    for (const secret of [t.config.DEV_API_KEY, 'cookie-secret-value', 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY='])
      expect(report!.raw).not.toContain(secret);
    // A 4xx is the client's doing, not an error to track.
    const before = sentry.received.length;
    expect((await app.get('/api/v1/posts/not-a-uuid')).status).toBe(404);
    expect((await app.post('/api/v1/submissions', { source: {} })).status).toBe(422);
    await flush();
    expect(sentry.received.length).toBe(before);
  });

  it(
    'reports a stage failure once it ends the post (retries exhausted), tagged ' +
      'with correlation id and stage, and not the retries',
    async () => {
      const requestId = 'req-error-tracking-stage';
      const res = await app.post(
        '/api/v1/submissions',
        { source: { type: 'url', url: `${sourceUrl}/article` } },
        { 'x-request-id': requestId },
      );
      expect(res.status).toBe(202);
      const postId = res.body.postId as string;
      const post = await waitFor(
        'the post to fail',
        async () => {
          const p = await app.get(`/api/v1/posts/${postId}`);
          return p.body.status === 'failed' && p.body;
        },
        60_000,
      );
      expect(post.failure.stage).toBe('ingest');
      expect(post.stages.filter((s: { outcome: string }) => s.outcome === 'retrying').length).toBeGreaterThanOrEqual(1);
      expect(sourceHits).toBeGreaterThanOrEqual(2);
      // The SDK client is private: it adds no tracing headers to outbound calls.
      expect(sourceHeaders.filter((h) => h === 'sentry-trace' || h === 'baggage')).toEqual([]);
      expect(sourceHeaders).toContain('x-request-id');
      await flush();
      const reports = await waitFor(
        'the stage failure event',
        async () => eventsWith('post_id', postId).length > 0 && eventsWith('post_id', postId),
        10_000,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(eventsWith('post_id', postId), 'one event for the post, not one per attempt').toHaveLength(1);
      expect(reports[0]!.event.tags).toMatchObject({
        correlation_id: requestId,
        stage: 'ingest',
        post_id: postId,
        attempt: '2',
        permanent: 'false',
        source: 'worker',
      });
      expect(reports[0]!.raw).not.toContain(t.config.DEV_API_KEY);
    },
  );

  it('reports a permanent stage failure at once', async () => {
    const requestId = 'req-error-tracking-permanent';
    // A page that is gone (404): a permanent error, no retries.
    const res = await app.post(
      '/api/v1/submissions',
      { source: { type: 'url', url: `${sourceUrl}/gone` } },
      { 'x-request-id': requestId },
    );
    expect(res.status).toBe(202);
    const postId = res.body.postId as string;
    await waitFor(
      'the post to fail',
      async () => (await app.get(`/api/v1/posts/${postId}`)).body.status === 'failed',
      30_000,
    );
    await flush();
    const [report] = await waitFor(
      'the permanent failure event',
      async () => eventsWith('post_id', postId).length > 0 && eventsWith('post_id', postId),
      10_000,
    );
    expect(report!.event.tags).toMatchObject({ correlation_id: requestId, stage: 'ingest', permanent: 'true' });
  });

  it('scrubs credentials and configured secrets from what it sends', async () => {
    const tracker = errorTracker(t.config);
    const err = new Error(
      `connect failed: postgres://app:hunter2-db-password@db.internal/blog with ` +
        `Authorization: Bearer ${t.config.DEV_API_KEY} and bpk_0123456789abcdef_${'x'.repeat(43)}`,
    );
    tracker.capture(err, { correlation_id: 'scrub-check', stage: 'publish' });
    await flush();
    const [report] = await waitFor(
      'the scrubbed event',
      async () => eventsWith('correlation_id', 'scrub-check').length > 0 && eventsWith('correlation_id', 'scrub-check'),
      10_000,
    );
    for (const secret of ['hunter2-db-password', t.config.DEV_API_KEY, 'bpk_0123456789abcdef_'])
      expect(report!.raw).not.toContain(secret);
    expect(report!.event.exception?.values?.[0]?.value).toContain('[redacted]');
    expect(report!.event.exception?.values?.[0]?.value).toContain('db.internal');
  });
});

describe('error tracking at shutdown', () => {
  it('sends a failure captured while SIGTERM lets the last job finish, before the process exits', async () => {
    // A Sentry that takes two seconds to acknowledge an event, as a remote one under load may.
    const sentry = fakeSentry(2000);
    await new Promise<void>((resolve) => sentry.server.listen(0, '127.0.0.1', resolve));
    const dsn = `http://publickey@127.0.0.1:${(sentry.server.address() as AddressInfo).port}/1`;
    // A page that answers 404 (a permanent failure) a second after it is asked: the job is in flight
    // when the worker gets SIGTERM, and fails while the worker waits for it to finish.
    let asked: () => void = () => undefined;
    const requested = new Promise<void>((r) => (asked = r));
    const page = createServer((req, res) => {
      if (req.url === '/robots.txt') return void res.writeHead(404).end();
      asked();
      setTimeout(() => res.writeHead(404, { 'content-type': 'text/plain' }).end('gone'), 1000);
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    const t = await createTestEnv({ SENTRY_DSN: dsn, SHUTDOWN_GRACE_MS: '20000' });
    const app = await startPipeline(t, { workers: false });
    const worker = spawnRole(t.env, ['worker', '--queues', 'ingest']);
    try {
      const res = await app.post('/api/v1/submissions', {
        source: { type: 'url', url: `http://127.0.0.1:${(page.address() as AddressInfo).port}/slow-gone` },
      });
      expect(res.status).toBe(202);
      await requested;
      const exit = await worker.stop('SIGTERM');
      const exitedAt = Date.now();
      expect(exit.code).toBe(0);
      const { rows } = await app.rt.db.query('SELECT status FROM posts WHERE id = $1', [res.body.postId]);
      expect(rows[0]!.status).toBe('failed');
      // Sent, and acknowledged by Sentry, before the process exited: nothing was left in flight.
      const sent = sentry.received.filter((r) => r.event.tags?.post_id === res.body.postId);
      expect(sent).toHaveLength(1);
      expect(sentry.acknowledged).toHaveLength(1);
      expect(sentry.acknowledged[0]!).toBeLessThanOrEqual(exitedAt);
      expect(sent[0]!.event.tags).toMatchObject({ stage: 'ingest', permanent: 'true' });
    } finally {
      await worker.stop('SIGKILL');
      await app.stop();
      await t.cleanup();
      page.close();
      sentry.server.close();
    }
  }, 90_000);
});
