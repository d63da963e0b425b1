import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stages } from '../../queues/stages.ts';
import { createTestEnv, startPipeline, type TestEnv } from '../support/harness.ts';

// No workers here: whatever an accepted request enqueues stays visible in the queues.
describe('the submissions endpoint refuses bad input before any queue', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;

  beforeAll(async () => {
    t = await createTestEnv({ BODY_LIMIT: '64kb' });
    app = await startPipeline(t, { workers: false });
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  async function enqueuedJobs(): Promise<number> {
    let total = 0;
    for (const stage of stages) total += await app.rt.queues.queues[stage].count();
    return total;
  }
  async function submissions(): Promise<number> {
    return (await app.rt.db.query('SELECT count(*)::int AS n FROM submissions')).rows[0]!.n;
  }

  async function send(body: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${app.api.url}/api/v1/submissions`, {
      method: 'POST',
      headers: { ...app.headers, ...headers },
      body,
    });
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
  }

  const cases: { name: string; body: string; headers?: Record<string, string>; status: number; field: string }[] = [
    { name: 'malformed JSON', body: '{"source": {"type": "text",', status: 400, field: '(body)' },
    { name: 'a JSON array', body: '[]', status: 422, field: '(body)' },
    { name: 'no source', body: '{}', status: 422, field: 'source' },
    {
      name: 'an unknown top-level field',
      body: JSON.stringify({ source: { type: 'text', text: 'Hello there.' }, extra: 1 }),
      status: 422,
      field: 'extra',
    },
    {
      name: 'an unknown source field',
      body: JSON.stringify({ source: { type: 'text', text: 'Hello there.', colour: 'red' } }),
      status: 422,
      field: 'source.colour',
    },
    {
      name: 'an unknown source type',
      body: JSON.stringify({ source: { type: 'pdf', url: 'https://example.com/x.pdf' } }),
      status: 422,
      field: 'source.type',
    },
    { name: 'a missing text', body: JSON.stringify({ source: { type: 'text' } }), status: 422, field: 'source.text' },
    {
      name: 'an empty text',
      body: JSON.stringify({ source: { type: 'markdown', text: '   ' } }),
      status: 422,
      field: 'source.text',
    },
    {
      name: 'a wrong type for text',
      body: JSON.stringify({ source: { type: 'text', text: 42 } }),
      status: 422,
      field: 'source.text',
    },
    {
      name: 'a URL that is not a URL',
      body: JSON.stringify({ source: { type: 'url', url: 'not a url' } }),
      status: 422,
      field: 'source.url',
    },
    {
      name: 'a non-http URL',
      body: JSON.stringify({ source: { type: 'url', url: 'file:///etc/passwd' } }),
      status: 422,
      field: 'source.url',
    },
    {
      name: 'a body over the limit',
      body: JSON.stringify({ source: { type: 'text', text: 'x'.repeat(70_000) } }),
      status: 413,
      field: '(body)',
    },
    {
      name: 'a non-JSON content type',
      body: 'source=text',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      status: 415,
      field: 'Content-Type',
    },
    {
      name: 'a bad Idempotency-Key',
      body: JSON.stringify({ source: { type: 'text', text: 'Fine text.' } }),
      headers: { 'idempotency-key': 'ü'.repeat(3) },
      status: 400,
      field: 'Idempotency-Key',
    },
    {
      name: 'no API key',
      body: JSON.stringify({ source: { type: 'text', text: 'Fine text.' } }),
      headers: { authorization: '' },
      status: 401,
      field: 'Authorization',
    },
    {
      name: 'a wrong API key',
      body: JSON.stringify({ source: { type: 'text', text: 'Fine text.' } }),
      headers: { authorization: 'Bearer nope-nope-nope-nope' },
      status: 401,
      field: 'Authorization',
    },
  ];

  for (const c of cases) {
    it(`answers ${c.status} naming ${c.field} for ${c.name}, and enqueues nothing`, async () => {
      const res = await send(c.body, c.headers);
      expect(res.status).toBe(c.status);
      expect(res.type).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: c.status, title: expect.any(String) });
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(c.field);
      expect(await enqueuedJobs()).toBe(0);
      expect(await submissions()).toBe(0);
    });
  }

  it('accepts a good body (the control case): one submission, one ingest job', async () => {
    const res = await send(
      JSON.stringify({ source: { type: 'text', title: 'Control', text: 'A fine text to write about.' } }),
    );
    expect(res.status).toBe(202);
    expect(await submissions()).toBe(1);
    expect(await app.rt.queues.queues.ingest.count()).toBe(1);
  });

  it('answers 404 problems for unknown ids and routes, and reports health', async () => {
    expect((await app.get('/api/v1/posts/not-a-uuid')).status).toBe(404);
    expect((await app.get('/api/v1/posts/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await app.get('/api/v1/nothing-here')).status).toBe(404);
    expect((await app.get('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await app.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({ redis: { status: 'up' }, postgres: { status: 'up' } });
  });

  it('carries X-Request-Id through to the response', async () => {
    const res = await fetch(`${app.api.url}/healthz`, { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc-123');
    const generated = await fetch(`${app.api.url}/healthz`);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
