import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startPipeline, type TestEnv } from '../support/harness.ts';
import { startRedisServer } from '../support/redis-server.ts';

describe('Redis down at the HTTP edge', () => {
  let t: TestEnv;
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let app: Awaited<ReturnType<typeof startPipeline>>;

  beforeAll(async () => {
    redis = await startRedisServer({ appendOnly: true });
    t = await createTestEnv({ REDIS_URL: redis.url });
    app = await startPipeline(t, { workers: false });
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
    await redis?.cleanup();
  });

  it('answers 503 with Retry-After promptly, records nothing, and accepts again once Redis is back', async () => {
    const body = { source: { type: 'text', text: 'Submitted while the queue is down. It must not be half-recorded.' } };
    expect((await app.post('/api/v1/submissions', body)).status).toBe(202);
    await redis.stop();

    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const res = await app.post('/api/v1/submissions', body, { 'idempotency-key': `down-${i}` });
      const took = Date.now() - started;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      // "Promptly": well inside any client timeout; the bound is generous for a loaded CI machine.
      expect(took).toBeLessThan(5_000);
    }
    const { rows } = await app.rt.db.query('SELECT count(*)::int AS n FROM submissions');
    expect(rows[0]!.n).toBe(1);
    const ready = await app.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.redis.status).toBe('down');

    await redis.start();
    let accepted = 0;
    for (let i = 0; i < 50 && accepted === 0; i++) {
      const res = await app.post('/api/v1/submissions', body, { 'idempotency-key': 'after-restart' });
      if (res.status === 202) accepted++;
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect(accepted).toBe(1);
    expect(await app.rt.queues.queues.ingest.count()).toBe(2);
  });

  it('answers 503 with Retry-After, not 500, to a submission in flight when Redis goes away', async () => {
    // A frozen Redis (SIGSTOP) holds the submission's enqueue in flight; then Redis dies under it. The
    // edge connection gives up with MaxRetriesPerRequestError, which is Redis being unavailable too.
    redis.signal('SIGSTOP');
    const inFlight = app.post('/api/v1/submissions', {
      source: { type: 'text', text: 'Submitted just as Redis goes away. The client should retry it later.' },
    });
    await new Promise((r) => setTimeout(r, 300));
    await redis.stop('SIGKILL');
    const res = await inFlight;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body.detail).toMatch(/unavailable/);
    await redis.start();
  });
});
