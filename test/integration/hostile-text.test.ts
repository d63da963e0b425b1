import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stages } from '../../queues/stages.ts';
import { createTestEnv, startPipeline, type TestEnv } from '../support/harness.ts';

// Strings PostgreSQL cannot store (NUL; lone surrogates, which are not Unicode) in any field of any
// route: a 422 naming the field, never a 5xx, and nothing recorded or enqueued. Through a signed hook
// too, so the sender does not retry a poison delivery forever.

const NUL = 'a\u0000b';
const LONE = 'a\ud800b';

describe('text the database cannot store', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let secret: string;
  let postId: string;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t, { workers: false });
    const rotated = await app.post('/api/v1/admin/webhook-secrets', {});
    expect(rotated.status).toBe(201);
    secret = rotated.body.secret;
    const accepted = await app.post('/api/v1/submissions', { source: { type: 'text', text: 'A post to act on.' } });
    postId = accepted.body.postId;
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  async function footprint() {
    let jobs = 0;
    for (const stage of stages) jobs += await app.rt.queues.queues[stage].count();
    const { rows } = await app.rt.db.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM submissions) + (SELECT count(*) FROM tenants) + (SELECT count(*) FROM api_keys)
            + (SELECT count(*) FROM destinations) + (SELECT count(*) FROM feeds) + (SELECT count(*) FROM tenant_secrets)
            + (SELECT count(*) FROM posts WHERE status <> 'queued') AS n`,
    );
    const settings = (await app.rt.db.query(`SELECT settings, name FROM tenants WHERE slug = 'default'`)).rows[0];
    return { jobs, rows: rows[0]!.n, settings };
  }

  async function send(method: string, path: string, body: unknown) {
    const res = await fetch(`${app.api.url}${path}`, {
      method,
      headers: app.headers,
      body: JSON.stringify(body),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as any };
  }

  // Every route that stores text, with the field that carries the bad string.
  const cases = (bad: string): [string, string, () => string, unknown, string][] => [
    ['POST', 'submission text', () => '/api/v1/submissions', { source: { type: 'text', text: bad } }, 'source.text'],
    [
      'POST',
      'submission title',
      () => '/api/v1/submissions',
      { source: { type: 'markdown', title: bad, text: 'Fine text.' } },
      'source.title',
    ],
    [
      'POST',
      'brief field',
      () => '/api/v1/submissions',
      { source: { type: 'text', text: 'Fine text.' }, brief: { brandVoice: bad } },
      'brief.brandVoice',
    ],
    ['POST', 'feed URL', () => '/api/v1/feeds', { url: `https://example.com/${bad}.xml`, cron: '0 * * * *' }, 'url'],
    ['PATCH', 'tenant name', () => '/api/v1/admin/tenant', { name: bad }, 'name'],
    [
      'PATCH',
      'tenant settings',
      () => '/api/v1/admin/tenant',
      { settings: { brief: { audience: bad } } },
      'settings.brief.audience',
    ],
    ['POST', 'new tenant name', () => '/api/v1/admin/tenants', { slug: 'nul-tenant', name: bad }, 'name'],
    ['POST', 'destination name', () => '/api/v1/destinations', { name: bad, kind: 'files' }, 'name'],
    ['POST', 'key name', () => '/api/v1/admin/keys', { name: bad, scopes: ['read'] }, 'name'],
    ['PUT', 'secret value', () => '/api/v1/admin/secrets/wp', { value: bad }, 'value'],
    ['POST', 'reject reason', () => `/api/v1/posts/${postId}/reject`, { reason: bad }, 'reason'],
    ['POST', 'cancel reason', () => `/api/v1/posts/${postId}/cancel`, { reason: bad }, 'reason'],
    [
      'POST',
      'a field name',
      () => '/api/v1/submissions',
      { source: { type: 'text', text: 'Fine text.' }, [`x${bad}`]: 1 },
      `x${bad}`,
    ],
  ];

  for (const [label, bad] of [
    ['NUL', NUL],
    ['a lone surrogate', LONE],
  ] as const) {
    it.each(cases(bad).map((c) => [c[1], ...c] as const))(
      `refuses ${label} in the %s with a 422 naming the field`,
      async (_name, method, _label, path, body, field) => {
        const before = await footprint();
        const res = await send(method, path(), body);
        expect(res.status).toBe(422);
        expect(res.type).toMatch(/^application\/problem\+json/);
        expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
        expect(await footprint()).toEqual(before);
      },
    );
  }

  it('refuses NUL in a query string with a 422 naming the parameter', async () => {
    const res = await fetch(`${app.api.url}/api/v1/search?q=${encodeURIComponent(NUL)}`, { headers: app.headers });
    expect(res.status).toBe(422);
    expect(((await res.json()) as any).errors[0].field).toBe('q');
  });

  it('answers a signed delivery carrying NUL with a 422, and its redelivery is not accepted either', async () => {
    const before = await footprint();
    const payload = JSON.stringify({ source: { type: 'text', title: NUL, text: 'A delivery with a poison title.' } });
    const id = `msg_${randomUUID()}`;
    const deliver = async () => {
      const at = new Date();
      const res = await fetch(`${app.api.url}/api/v1/hooks/default/submissions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': new Webhook(secret).sign(id, at, payload),
        },
        body: payload,
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const first = await deliver();
    expect(first.status).toBe(422);
    expect(first.body.errors[0].field).toBe('source.title');
    // A 4xx is final for a Standard Webhooks sender; one that retries anyway is told it was delivered.
    expect((await deliver()).status).toBe(409);
    expect(await footprint()).toEqual(before);
  });
});
