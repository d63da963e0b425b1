import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../../src/auth/api-keys.ts';
import { createApp } from '../../src/http/app.ts';
import { createTestEnv, startPipeline, type TestEnv } from '../support/harness.ts';
import { fillPath, mountedRoutes, type MountedRoute } from '../support/routes.ts';
import { createTenantWithKeys } from '../support/tenants.ts';

// Every endpoint the app mounts (read from its router stack, so routes added later are covered) ×
// (no key, malformed key, revoked key, another tenant's key, a key without the scope). An endpoint
// without an expectation below fails the suite: whoever adds a route decides its scope here.

type A = Awaited<ReturnType<typeof setUp>>;
type Ids = (a: A) => Record<string, string>;
/**
 * scope: what the route needs. `operator-tenant`: the admin scope of an operator tenant.
 * cross: what another tenant's full key gets: `not-found` (the resource is the first tenant's),
 * `own` (the route acts on the caller's own tenant; any non-5xx answer without the first tenant's data).
 */
type ApiExpectation = {
  scope: Scope | 'operator-tenant';
  ids?: Ids;
  body?: unknown;
  query?: string;
  cross: 'not-found' | 'own' | 'forbidden';
  ownStatus?: number;
};

const post: Ids = (a) => ({ id: a.postId });
const future = new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString();

const apiRoutes: Record<string, ApiExpectation> = {
  'POST /api/v1/submissions': { scope: 'submit', body: {}, cross: 'own' },
  'GET /api/v1/submissions/:id': {
    scope: 'read',
    ids: (a) => ({ id: a.submissionId }),
    cross: 'not-found',
    ownStatus: 200,
  },
  'GET /api/v1/posts/:id': { scope: 'read', ids: post, cross: 'not-found', ownStatus: 200 },
  'GET /api/v1/search': { scope: 'read', query: '?q=zebrafish%20matrix%20marker', cross: 'own', ownStatus: 200 },
  'GET /api/v1/posts/:id/related': { scope: 'read', ids: post, cross: 'not-found', ownStatus: 200 },
  // The editorial API: the list and the overview act on the caller's own tenant.
  'GET /api/v1/posts': { scope: 'read', query: '?limit=100', cross: 'own', ownStatus: 200 },
  'GET /api/v1/posts/:id/content': { scope: 'read', ids: post, cross: 'not-found', ownStatus: 200 },
  'GET /api/v1/posts/:id/revisions': { scope: 'read', ids: post, cross: 'not-found', ownStatus: 200 },
  'GET /api/v1/posts/:id/revisions/:revision': {
    scope: 'read',
    ids: (a) => ({ id: a.postId, revision: '1' }),
    cross: 'not-found',
  },
  'PATCH /api/v1/posts/:id': { scope: 'admin', ids: post, body: { title: 'Taken over' }, cross: 'not-found' },
  'GET /api/v1/overview': { scope: 'read', cross: 'own', ownStatus: 200 },
  'POST /api/v1/posts/:id/approve': { scope: 'admin', ids: post, body: {}, cross: 'not-found' },
  'POST /api/v1/posts/:id/reject': { scope: 'admin', ids: post, body: { reason: 'taken over' }, cross: 'not-found' },
  'POST /api/v1/posts/:id/cancel': { scope: 'admin', ids: post, body: {}, cross: 'not-found' },
  'POST /api/v1/posts/:id/reschedule': { scope: 'admin', ids: post, body: { publishAt: future }, cross: 'not-found' },
  'POST /api/v1/posts/:id/replay': { scope: 'admin', ids: post, body: { fromStage: 'publish' }, cross: 'not-found' },
  'GET /api/v1/destinations': { scope: 'read', cross: 'own', ownStatus: 200 },
  'POST /api/v1/destinations': { scope: 'admin', body: {}, cross: 'own' },
  'GET /api/v1/destinations/:id': {
    scope: 'read',
    ids: (a) => ({ id: a.destinationId }),
    cross: 'not-found',
    ownStatus: 200,
  },
  'PATCH /api/v1/destinations/:id': {
    scope: 'admin',
    ids: (a) => ({ id: a.destinationId }),
    body: { name: 'taken over' },
    cross: 'not-found',
  },
  'DELETE /api/v1/destinations/:id': { scope: 'admin', ids: (a) => ({ id: a.destinationId }), cross: 'not-found' },
  'POST /api/v1/feeds': { scope: 'submit', body: {}, cross: 'own' },
  'GET /api/v1/feeds': { scope: 'read', cross: 'own', ownStatus: 200 },
  'GET /api/v1/feeds/:id': { scope: 'read', ids: (a) => ({ id: a.feedId }), cross: 'not-found', ownStatus: 200 },
  'DELETE /api/v1/feeds/:id': { scope: 'admin', ids: (a) => ({ id: a.feedId }), cross: 'not-found' },
  'GET /api/v1/admin/tenant': { scope: 'admin', cross: 'own', ownStatus: 200 },
  'PATCH /api/v1/admin/tenant': { scope: 'admin', body: { name: 'Renamed' }, cross: 'own', ownStatus: 200 },
  'GET /api/v1/admin/tenants': { scope: 'operator-tenant', cross: 'forbidden' },
  'POST /api/v1/admin/tenants': {
    scope: 'operator-tenant',
    body: { slug: 'taken-over', name: 'x' },
    cross: 'forbidden',
  },
  'GET /api/v1/admin/keys': { scope: 'admin', cross: 'own', ownStatus: 200 },
  'POST /api/v1/admin/keys': { scope: 'admin', body: {}, cross: 'own' },
  'DELETE /api/v1/admin/keys/:id': {
    scope: 'admin',
    ids: (a) => ({ id: a.tenant.keys.spare!.id }),
    cross: 'not-found',
  },
  'GET /api/v1/admin/secrets': { scope: 'admin', cross: 'own', ownStatus: 200 },
  'PUT /api/v1/admin/secrets/:name': {
    scope: 'admin',
    ids: () => ({ name: 'wordpress-main' }),
    body: {},
    cross: 'own',
  },
  'DELETE /api/v1/admin/secrets/:name': { scope: 'admin', ids: () => ({ name: 'wordpress-main' }), cross: 'not-found' },
  'GET /api/v1/admin/webhook-secrets': { scope: 'admin', cross: 'own', ownStatus: 200 },
  'POST /api/v1/admin/webhook-secrets': { scope: 'admin', body: { overlapSeconds: -1 }, cross: 'own' },
};

/** Routes outside the key-authenticated API, by exact route or by prefix. */
const otherRoutes: { match: (r: MountedRoute) => boolean; kind: 'public' | 'metrics' | 'operator' | 'signature' }[] = [
  { match: (r) => r.method === 'GET' && (r.path === '/healthz' || r.path === '/readyz'), kind: 'public' },
  // The OpenAPI document, the docs page (src/http/docs.ts) and the console's static files (src/http/console.ts)
  // are public: the console signs in with a key in the browser.
  {
    match: (r) =>
      r.method === 'GET' &&
      [
        '/openapi.json',
        '/api/v1/openapi.json',
        '/docs',
        '/docs/assets/:file',
        '/console',
        '/console/assets/:file',
      ].includes(r.path),
    kind: 'public',
  },
  { match: (r) => r.method === 'GET' && r.path === '/metrics', kind: 'metrics' },
  // Bull Board's own routes (its page and its API), all behind the operator credentials.
  { match: (r) => r.path.startsWith('/admin/queues'), kind: 'operator' },
  { match: (r) => r.method === 'POST' && r.path === '/api/v1/hooks/:tenant/submissions', kind: 'signature' },
];

const missingScope: Record<Scope, string> = { submit: 'noSubmit', read: 'noRead', admin: 'noAdmin' };

async function setUp(app: Awaited<ReturnType<typeof startPipeline>>) {
  const api = { url: app.api.url, devKey: app.rt.config.DEV_API_KEY };
  const tenant = await createTenantWithKeys(api, 'matrix-a', {
    noSubmit: ['read', 'admin'],
    noRead: ['submit', 'admin'],
    noAdmin: ['submit', 'read'],
    revoked: ['submit', 'read', 'admin'],
    spare: ['read'],
  });
  const other = await createTenantWithKeys(api, 'matrix-b');
  const key = tenant.keys.all!.key;
  expect((await tenant.call(key, 'DELETE', `/api/v1/admin/keys/${tenant.keys.revoked!.id}`)).status).toBe(200);

  // The first tenant's data; each carries a marker that must never show up in anyone else's answer.
  const marker = 'zebrafish-matrix-marker-7d1c';
  const submitted = await tenant.call(key, 'POST', '/api/v1/submissions', {
    source: {
      type: 'text',
      title: `Private ${marker}`,
      text: `Confidential notes about ${marker} that only tenant A may read.`,
    },
  });
  expect(submitted.status).toBe(202);
  const destination = await tenant.call(key, 'POST', '/api/v1/destinations', { name: `site ${marker}`, kind: 'files' });
  expect(destination.status).toBe(201);
  const feed = await tenant.call(key, 'POST', '/api/v1/feeds', {
    url: `https://example.com/${marker}.xml`,
    cron: '0 * * * *',
  });
  expect(feed.status).toBe(201);
  const secret = await tenant.call(key, 'PUT', '/api/v1/admin/secrets/wordpress-main', {
    value: `app-password-${marker}-0000`,
  });
  expect(secret.status).toBe(200);
  expect((await tenant.call(key, 'POST', '/api/v1/admin/webhook-secrets', {})).status).toBe(201);
  return {
    tenant,
    other,
    marker,
    markers: [marker, tenant.id, 'Tenant matrix-a'],
    submissionId: submitted.body.id as string,
    postId: submitted.body.postId as string,
    destinationId: destination.body.id as string,
    feedId: feed.body.id as string,
  };
}

describe('authentication matrix over every mounted endpoint', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let a: A;
  let routes: MountedRoute[];

  beforeAll(async () => {
    t = await createTestEnv({ OPERATOR_TOKEN: 'operator-token-0123456789', METRICS_TOKEN: 'metrics-token-0123456789' });
    app = await startPipeline(t, { workers: false });
    a = await setUp(app);
    const { rt } = app;
    routes = mountedRoutes(
      createApp({
        config: rt.config,
        db: rt.db,
        redis: rt.redis,
        queues: rt.queues,
        logger: rt.logger,
        providers: rt.providers,
      }),
    );
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  async function send(route: MountedRoute, authorization: string | null, exp?: ApiExpectation) {
    const params = exp?.ids?.(a) ?? {
      tenant: a.tenant.slug,
      queueName: 'ingest',
      jobId: 'job-1',
      queueStatus: 'failed',
      schedulerId: 's-1',
      file: route.path.startsWith('/console') ? 'app.js' : 'init.js',
    };
    const url = `${app.api.url}${fillPath(route.path, params)}${exp?.query ?? ''}`;
    const body = exp?.body ?? (['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined);
    const res = await fetch(url, {
      method: route.method,
      headers: {
        ...(authorization === null ? {} : { authorization }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    for (const marker of a.markers)
      expect(text, `${route.method} ${route.path} leaked "${marker}"`).not.toContain(marker);
    return res.status;
  }

  it('has an expectation for every mounted endpoint', () => {
    expect(routes.length).toBeGreaterThan(20);
    const unknown = routes.filter((r) => !apiRoutes[`${r.method} ${r.path}`] && !otherRoutes.some((o) => o.match(r)));
    expect(
      unknown.map((r) => `${r.method} ${r.path}`),
      'endpoints without a matrix expectation',
    ).toEqual([]);
    const gone = Object.keys(apiRoutes).filter((k) => !routes.some((r) => `${r.method} ${r.path}` === k));
    expect(gone, 'expectations for endpoints that are not mounted').toEqual([]);
  });

  it('refuses every key-authenticated endpoint without a valid key of the right scope and tenant', async () => {
    const table: string[] = [];
    for (const route of routes) {
      const exp = apiRoutes[`${route.method} ${route.path}`];
      if (!exp) continue;
      const full = `Bearer ${a.tenant.keys.all!.key}`;
      const got = {
        none: await send(route, null, exp),
        malformed: await send(route, 'Bearer not-a-real-key', exp),
        revoked: await send(route, `Bearer ${a.tenant.keys.revoked!.key}`, exp),
        missingScope: await send(
          route,
          `Bearer ${a.tenant.keys[missingScope[exp.scope === 'operator-tenant' ? 'admin' : exp.scope]]!.key}`,
          exp,
        ),
        otherTenant: await send(route, `Bearer ${a.other.keys.all!.key}`, exp),
      };
      table.push(`${route.method} ${route.path}: ${JSON.stringify(got)}`);
      expect(got.none, `${route.method} ${route.path} without a key`).toBe(401);
      expect(got.malformed, `${route.method} ${route.path} with a malformed key`).toBe(401);
      expect(got.revoked, `${route.method} ${route.path} with a revoked key`).toBe(401);
      expect(got.missingScope, `${route.method} ${route.path} without the ${exp.scope} scope`).toBe(403);
      if (exp.cross === 'not-found')
        expect(got.otherTenant, `${route.method} ${route.path} with another tenant's key`).toBe(404);
      else if (exp.cross === 'forbidden')
        expect(got.otherTenant, `${route.method} ${route.path} with a non-operator tenant's key`).toBe(403);
      else expect(got.otherTenant, `${route.method} ${route.path} with another tenant's key`).toBeLessThan(500);
      // The control: the owner's key reaches the resource, so the 404s above are about the tenant.
      if (exp.ownStatus)
        expect(await sendOwn(route, exp, full), `${route.method} ${route.path} with the owner's key`).toBe(
          exp.ownStatus,
        );
    }
    expect(table.length).toBe(Object.keys(apiRoutes).length);
  });

  async function sendOwn(route: MountedRoute, exp: ApiExpectation, authorization: string): Promise<number> {
    const params = exp.ids?.(a) ?? {};
    const body = exp.body;
    const res = await fetch(`${app.api.url}${fillPath(route.path, params)}${exp.query ?? ''}`, {
      method: route.method,
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('keeps tenant keys out of the operator console, metrics and the signed-webhook endpoint', async () => {
    for (const route of routes) {
      const rule = otherRoutes.find((o) => o.match(route));
      if (!rule) continue;
      const keys = [
        null,
        'Bearer not-a-real-key',
        `Bearer ${a.tenant.keys.revoked!.key}`,
        `Bearer ${a.tenant.keys.all!.key}`,
        `Bearer ${a.other.keys.all!.key}`,
      ];
      for (const authorization of keys) {
        const status = await send(route, authorization);
        if (rule.kind === 'public') expect(status, `${route.path}`).toBe(200);
        else expect(status, `${route.method} ${route.path} with ${authorization ?? 'no key'}`).toBe(401);
      }
    }
  });

  it('left the first tenant’s data untouched', async () => {
    const key = a.tenant.keys.all!.key;
    expect((await a.tenant.call(key, 'GET', `/api/v1/destinations/${a.destinationId}`)).body.name).toContain(a.marker);
    expect((await a.tenant.call(key, 'GET', `/api/v1/feeds/${a.feedId}`)).status).toBe(200);
    expect(
      (await a.tenant.call(key, 'GET', '/api/v1/admin/secrets')).body.secrets.map((s: { name: string }) => s.name),
    ).toEqual(['wordpress-main']);
    const keys = (await a.tenant.call(key, 'GET', '/api/v1/admin/keys')).body.keys as {
      id: string;
      revokedAt: string | null;
    }[];
    expect(keys.find((k) => k.id === a.tenant.keys.spare!.id)?.revokedAt).toBeNull();
    const post = await a.tenant.call(key, 'GET', `/api/v1/posts/${a.postId}`);
    expect(post.status).toBe(200);
    expect(post.body.status).not.toMatch(/cancelled|rejected/);
  });
});
