import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { operations } from '../../src/http/openapi.ts';
import { createTestEnv, startPipeline, type TestEnv } from '../support/harness.ts';
import { mountedRoutes, type MountedRoute } from '../support/routes.ts';

// Hostile strings in every string field of every route, one field at a time, in otherwise valid
// requests (so they reach validation, the database and the queues): NUL, every other C0 control, lone
// surrogates and a 10 MB string; in path parameters and query strings too, and through the signed
// webhook endpoint. No answer may be a 5xx. Routes are read from the app's router stack; a route
// without a body template here is fuzzed through its OpenAPI example, so new routes are covered.

const future = '2031-01-02T03:04:05Z';
/** Room for a hostile string in a URL: well inside Node's 16 KiB header limit, so it reaches the router. */
const URL_ROOM = 8 * 1024;
const hostile: [string, string][] = [
  ['NUL', 'a\u0000b'],
  ...Array.from({ length: 31 }, (_, i): [string, string] => [
    `C0 0x${(i + 1).toString(16)}`,
    `a${String.fromCharCode(i + 1)}b`,
  ]),
  ['DEL and C1', 'a\u007f\u0085\u009bb'],
  ['lone high surrogate', 'a\ud800b'],
  ['lone low surrogate', '\udfffb'],
  ['cut emoji', 'x\ud83d'],
  ['10 MB', 'x'.repeat(10 * 1024 * 1024)],
];

/** Valid bodies per route, with as many string fields as the route takes. */
function templates(): Record<string, unknown[]> {
  const submission = [
    {
      source: { type: 'markdown', title: 'A title', text: '# A title\n\nSome text.' },
      brief: {
        brandVoice: 'calm',
        audience: 'owners',
        language: 'en',
        primaryKeyword: 'heat',
        secondaryKeywords: ['pumps'],
      },
      publish: { publishAt: future, featuredImage: { url: 'https://example.com/i.png', alt: 'An image' } },
    },
    { source: { type: 'url', url: 'https://example.com/a', title: 'A page' } },
    { source: { type: 'feed', url: 'https://example.com/feed.xml' } },
  ];
  return {
    'POST /api/v1/submissions': submission,
    'POST /api/v1/hooks/:tenant/submissions': submission,
    'POST /api/v1/feeds': [{ url: 'https://example.com/f.xml', type: 'feed', cron: '0 * * * *', timezone: 'UTC' }],
    'POST /api/v1/destinations': [
      { name: 'site', kind: 'files', config: { subdir: 'blog', baseUrl: 'https://example.com/b' } },
      {
        name: 'wp',
        kind: 'wordpress',
        config: { url: 'https://wp.example', username: 'u', passwordSecret: 'wp', categories: ['News'] },
      },
      { name: 'hook', kind: 'webhook', config: { url: 'https://hooks.example/in', secretEnv: 'BP_SECRET_HOOK' } },
    ],
    'PATCH /api/v1/destinations/:id': [{ name: 'renamed', config: { subdir: 'other', baseUrl: 'https://e.example' } }],
    'PATCH /api/v1/admin/tenant': [
      {
        name: 'Tenant',
        settings: {
          brief: { audience: 'owners', brandVoice: 'calm' },
          grounding: { bannedClaims: ['cures'], allowedTerms: ['SCOP'] },
          internalLinks: { enabled: true, heading: 'Related' },
          notifications: { url: 'https://cb.example/in', secretName: 'cb' },
        },
      },
    ],
    'POST /api/v1/admin/tenants': [
      { slug: 'fuzzed', name: 'Fuzzed', settings: { brief: { audience: 'a' } }, key: { name: 'k', scopes: ['read'] } },
    ],
    'POST /api/v1/admin/keys': [{ name: 'ci', scopes: ['read'] }],
    'PUT /api/v1/admin/secrets/:name': [{ value: 'a secret' }],
    'POST /api/v1/posts/:id/reject': [{ reason: 'off-topic' }],
    'POST /api/v1/posts/:id/cancel': [{ reason: 'not needed' }],
    'POST /api/v1/posts/:id/reschedule': [{ publishAt: future }],
    'POST /api/v1/posts/:id/replay': [{ fromStage: 'generate' }],
  };
}

/** Every way to put `bad` into one string leaf of `value`: one copy per leaf. */
function variants(value: unknown, bad: string): { field: string; body: unknown }[] {
  const out: { field: string; body: unknown }[] = [];
  const walk = (node: unknown, path: (string | number)[], set: (v: unknown) => unknown) => {
    if (typeof node === 'string') out.push({ field: path.join('.'), body: set(bad) });
    else if (Array.isArray(node))
      node.forEach((item, i) => {
        walk(item, [...path, i], (v) => set(node.map((x, j) => (j === i ? v : x))));
      });
    else if (node && typeof node === 'object')
      for (const [key, item] of Object.entries(node))
        walk(item, [...path, key], (v) => set({ ...(node as object), [key]: v }));
  };
  walk(value, [], (v) => v);
  return out;
}

describe('hostile strings in every string field of every route', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let pool: Pool;
  let routes: MountedRoute[];
  let secret: string;
  let ids: { post: string; destination: string };

  beforeAll(async () => {
    // A body limit above 10 MB, so the long strings reach validation instead of stopping at 413.
    t = await createTestEnv({ BODY_LIMIT: '16mb' });
    app = await startPipeline(t, { workers: false });
    pool = new Pool(app.api.url, { connections: 4, pipelining: 1, keepAliveTimeout: 30_000 });
    routes = mountedRoutes(
      createApp({
        config: app.rt.config,
        db: app.rt.db,
        redis: app.rt.redis,
        queues: app.rt.queues,
        logger: app.rt.logger,
      }),
    ).filter((r) => r.path.startsWith('/api/v1/'));
    secret = (await app.post('/api/v1/admin/webhook-secrets', {})).body.secret;
    const post = await app.post('/api/v1/submissions', { source: { type: 'text', text: 'A post to act on.' } });
    const destination = await app.post('/api/v1/destinations', { name: 'target', kind: 'files' });
    ids = { post: post.body.postId, destination: destination.body.id };
  }, 120_000);
  afterAll(async () => {
    await pool?.close();
    await app?.stop();
    await t?.cleanup();
  });

  async function send(route: MountedRoute, path: string, body: unknown, query = '') {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (route.path.startsWith('/api/v1/hooks/')) {
      const id = `msg_${randomUUID()}`;
      const at = new Date();
      Object.assign(headers, {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign(id, at, payload ?? ''),
      });
    } else headers.authorization = `Bearer ${t.config.DEV_API_KEY}`;
    const res = await pool.request({
      method: route.method as 'POST',
      path: `${path}${query}`,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, text };
  }

  it('never answers 5xx, whatever the field, the route or the string', { timeout: 30 * 60_000 }, async () => {
    const bodies = templates();
    const fill = (path: string, bad?: string) =>
      path
        .replace(':tenant', 'default')
        .replace(':id', path.includes('/destinations/') ? ids.destination : ids.post)
        .replace(':name', 'wp')
        .replace(/:(\w+)/g, () => (bad === undefined ? 'x' : encodeURIComponent(bad.toWellFormed())));
    const failures: string[] = [];
    const counts = new Map<number, number>();
    let sent = 0;
    const record = (what: string, res: { status: number; text: string }) => {
      sent++;
      counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
      if (res.status >= 500) failures.push(`${res.status} ${what}: ${res.text.slice(0, 200)}`);
    };
    // Every request to send, then four at a time (the pool's connections).
    const jobs: (() => Promise<void>)[] = [];
    for (const route of routes) {
      const key = `${route.method} ${route.path}`;
      const example = operations.find((op) => op.method.toUpperCase() === route.method && op.path === route.path)?.body
        ?.example;
      const templatesOf = bodies[key] ?? (example !== undefined ? [example] : []);
      for (const [label, hostileString] of hostile) {
        for (const template of templatesOf)
          for (const { field, body } of variants(template, hostileString))
            jobs.push(async () => record(`${key} ${field} ${label}`, await send(route, fill(route.path), body)));
        // Path parameters and a query string carry it too (lone surrogates as a browser sends them); the long string
        // as long as a URL can be and still reach the app (a longer one is refused with the headers, below).
        const bad = hostileString.length > URL_ROOM ? hostileString.slice(0, URL_ROOM) : hostileString;
        if (route.path.includes(':') && !route.path.startsWith('/api/v1/hooks/'))
          jobs.push(async () =>
            record(`${key} path ${label}`, await send(route, fill(route.path, bad), templatesOf[0])),
          );
        if (route.method === 'GET')
          jobs.push(async () =>
            record(
              `${key} query ${label}`,
              await send(route, fill(route.path), undefined, `?q=${encodeURIComponent(bad.toWellFormed())}&limit=1`),
            ),
          );
      }
    }
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let job = jobs.shift(); job; job = jobs.shift()) await job();
      }),
    );
    console.log(`hostile strings: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries(counts))}`);
    expect(sent).toBeGreaterThan(1000);
    expect(failures).toEqual([]);
  });

  it('refuses a URL longer than the headers may be before it reaches the app: a 431, or the connection closed', async () => {
    // Node's parser stops reading at its header limit, answers 431 and closes the socket with the rest of the
    // request unread, which resets the connection: whether the client reads the 431 before the reset is a race.
    const outcomes = new Set<string>();
    for (const path of [`/api/v1/posts/${'x'.repeat(64 * 1024)}`, `/api/v1/posts?q=${'x'.repeat(10 * 1024 * 1024)}`]) {
      const answer = await request(app.api.url + path, { headers: { authorization: `Bearer ${t.config.DEV_API_KEY}` } })
        .then(async (res) => {
          await res.body.dump();
          return String(res.statusCode);
        })
        .catch((err: Error & { code?: string }) => err.code ?? err.message);
      outcomes.add(answer);
    }
    expect([...outcomes].filter((o) => !['431', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'].includes(o))).toEqual([]);
    // The service is still there.
    expect((await app.get('/api/v1/posts?limit=1')).status).toBe(200);
  });
});
