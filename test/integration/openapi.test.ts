import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.ts';
import { openApiPath, type OpenApiDocument } from '../../src/http/openapi.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { fillPath, mountedRoutes, type MountedRoute } from '../support/routes.ts';

// The OpenAPI document against the running app: it passes a validator; every route mounted in the
// app (read from its router stack, so routes added later are covered) is in it; and each route,
// called as documented, answers with a documented status and a body matching the documented schema.

const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ??
  Ajv2020Module) as typeof import('ajv/dist/2020.js').default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: InstanceType<typeof Ajv2020>,
) => void;

const OPERATOR_TOKEN = 'operator-token-openapi-0123';
const METRICS_TOKEN = 'metrics-token-openapi-01234';

/** Bull Board's own page and JSON API live under its mount; the document describes the entry `/admin/queues`. */
const bullBoard = (r: MountedRoute) => r.path === '/admin/queues' || r.path.startsWith('/admin/queues/');

type Call = {
  /** Path parameters; the route's template is filled with them. */
  params?: Record<string, string>;
  query?: string;
  /** The body; undefined on a body route means the document's example. */
  body?: unknown;
  headers?: Record<string, string>;
  /** `key` (DEV_API_KEY, the default operator tenant), `none`, or a header value. */
  auth?: 'key' | 'none' | string;
  /** Signs the body as a Standard Webhooks delivery with this tenant's inbound secret. */
  sign?: boolean;
  status: number;
};
type Plan = { valid: Call; invalid?: Call };

describe('the OpenAPI document', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let doc: OpenApiDocument;
  let routes: MountedRoute[];
  let site: Server;
  let siteUrl: string;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);

  // State the calls act on, made through the API in beforeAll.
  const ids: Record<string, string> = {};
  let inboundSecret = '';

  beforeAll(async () => {
    // A local feed for the feed registration (polling never leaves loopback).
    site = createServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/rss+xml' })
        .end('<rss version="2.0"><channel><title>t</title></channel></rss>'),
    );
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

    t = await createTestEnv({ OPERATOR_TOKEN, METRICS_TOKEN });
    app = await startPipeline(t);
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

    const res = await fetch(`${app.api.url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApiDocument;
    ajv.addSchema({ ...doc, $id: 'openapi.json' });

    // Posts in the states the post actions need: held for approval (two), scheduled, and published.
    const text = (n: string) =>
      `# ${n}\n\nZebrafish regenerate their fins within weeks. Researchers study ` +
      `the ${n} process closely. The cells involved are remarkable.`;
    const submit = async (name: string, publish?: Record<string, unknown>) => {
      const r = await app.post('/api/v1/submissions', {
        source: { type: 'markdown', text: text(name) },
        ...(publish ? { publish } : {}),
      });
      expect(r.status).toBe(202);
      ids[`submission_${name}`] = r.body.submissionId ?? r.body.id;
      return r.body.postId as string;
    };
    ids.toApprove = await submit('approval', { requireApproval: true });
    ids.toReject = await submit('rejection', { requireApproval: true });
    ids.toEdit = await submit('edit', { requireApproval: true });
    ids.toReschedule = await submit('schedule', { publishAt: new Date(Date.now() + 7 * 24 * 3600_000).toISOString() });
    ids.published = await submit('published');
    const settled: Record<string, string> = {
      toApprove: 'awaiting_approval',
      toReject: 'awaiting_approval',
      toEdit: 'awaiting_approval',
      toReschedule: 'scheduled',
      published: 'published',
    };
    for (const [name, status] of Object.entries(settled)) {
      await waitFor(
        `${name} to be ${status}`,
        async () => (await app.get(`/api/v1/posts/${ids[name]}`)).body.status === status,
        60_000,
      );
    }
    const anySubmission = await app.get(`/api/v1/posts/${ids.published}`);
    ids.submission = anySubmission.body.submissionId;

    const destination = await app.post('/api/v1/destinations', { name: 'setup site', kind: 'files' });
    ids.destination = destination.body.id;
    const feed = await app.post('/api/v1/feeds', { url: `${siteUrl}/setup.xml`, cron: '0 0 1 1 *' });
    ids.feed = feed.body.id;
    const key = await app.post('/api/v1/admin/keys', { name: 'to revoke', scopes: ['read'] });
    ids.key = key.body.id;
    const secret = await app.post('/api/v1/admin/webhook-secrets', {});
    inboundSecret = secret.body.secret;
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
    await new Promise((resolve) => site?.close(resolve));
  });

  const unknownField = { unexpectedField: true };
  const missing = '00000000-0000-4000-8000-000000000000';

  /** How each route is called. A mounted route without a plan fails the suite. Calls run in this order. */
  const plans = (): Record<string, Plan> => ({
    'GET /healthz': { valid: { auth: 'none', status: 200 } },
    'GET /readyz': { valid: { auth: 'none', status: 200 } },
    'GET /metrics': { valid: { auth: `Bearer ${METRICS_TOKEN}`, status: 200 }, invalid: { auth: 'none', status: 401 } },
    'GET /openapi.json': { valid: { auth: 'none', status: 200 } },
    'GET /api/v1/openapi.json': { valid: { auth: 'none', status: 200 } },
    'GET /docs': { valid: { auth: 'none', status: 200 } },
    'GET /docs/assets/:file': {
      valid: { auth: 'none', params: { file: 'swagger-ui-bundle.js' }, status: 200 },
      invalid: { auth: 'none', params: { file: 'package.json' }, status: 404 },
    },
    'GET /console': { valid: { auth: 'none', status: 200 } },
    'GET /console/assets/:file': {
      valid: { auth: 'none', params: { file: 'app.js' }, status: 200 },
      invalid: { auth: 'none', params: { file: 'package.json' }, status: 404 },
    },
    'GET /admin/queues': {
      valid: { auth: `Bearer ${OPERATOR_TOKEN}`, status: 200 },
      invalid: { auth: 'none', status: 401 },
    },

    'POST /api/v1/submissions': {
      valid: { status: 202, headers: { 'idempotency-key': `openapi-${randomUUID()}` } },
      invalid: { body: { source: { type: 'text', text: 'x' }, ...unknownField }, status: 422 },
    },
    'GET /api/v1/submissions/:id': {
      valid: { params: { id: ids.submission! }, status: 200 },
      invalid: { params: { id: missing }, status: 404 },
    },
    'POST /api/v1/hooks/:tenant/submissions': {
      valid: { auth: 'none', sign: true, params: { tenant: 'default' }, status: 202 },
      invalid: {
        auth: 'none',
        sign: true,
        params: { tenant: 'default' },
        body: { source: { type: 'text', text: 'Signed.' }, ...unknownField },
        status: 422,
      },
    },
    'GET /api/v1/posts/:id': {
      valid: { params: { id: ids.published! }, status: 200 },
      invalid: { params: { id: missing }, status: 404 },
    },
    'GET /api/v1/posts': {
      valid: { query: '?status=published,awaiting_approval&order=held&limit=2', status: 200 },
      invalid: { query: '?status=nonsense', status: 422 },
    },
    'GET /api/v1/posts/:id/content': {
      valid: { params: { id: ids.published! }, status: 200 },
      invalid: { params: { id: missing }, status: 404 },
    },
    'PATCH /api/v1/posts/:id': {
      valid: { params: { id: ids.toEdit! }, status: 200 },
      invalid: { params: { id: ids.toEdit! }, body: { title: 'x', ...unknownField }, status: 422 },
    },
    'GET /api/v1/posts/:id/revisions': {
      valid: { params: { id: ids.toEdit! }, status: 200 },
      invalid: { params: { id: missing }, status: 404 },
    },
    'GET /api/v1/posts/:id/revisions/:revision': {
      valid: { params: { id: ids.toEdit!, revision: '2' }, status: 200 },
      invalid: { params: { id: ids.toEdit!, revision: '99' }, status: 404 },
    },
    'GET /api/v1/overview': {
      valid: { query: '?days=7', status: 200 },
      invalid: { query: '?days=0', status: 422 },
    },
    'GET /api/v1/search': {
      valid: { query: '?q=zebrafish%20fins&limit=5', status: 200 },
      invalid: { query: '?limit=5', status: 422 },
    },
    'GET /api/v1/posts/:id/related': {
      valid: { params: { id: ids.published! }, query: '?limit=3', status: 200 },
      invalid: { params: { id: ids.published! }, query: '?limit=0', status: 422 },
    },
    'POST /api/v1/posts/:id/approve': {
      valid: { params: { id: ids.toApprove! }, status: 202 },
      invalid: { params: { id: ids.toApprove! }, body: unknownField, status: 422 },
    },
    'POST /api/v1/posts/:id/reject': {
      valid: { params: { id: ids.toReject! }, status: 200 },
      invalid: { params: { id: ids.toReject! }, body: { reason: '' }, status: 422 },
    },
    'POST /api/v1/posts/:id/reschedule': {
      valid: { params: { id: ids.toReschedule! }, status: 200 },
      invalid: { params: { id: ids.toReschedule! }, body: { publishAt: '2001-01-01T00:00:00Z' }, status: 422 },
    },
    'POST /api/v1/posts/:id/cancel': {
      valid: { params: { id: ids.toReschedule! }, status: 200 },
      invalid: { params: { id: ids.toReschedule! }, body: unknownField, status: 422 },
    },
    'POST /api/v1/posts/:id/replay': {
      valid: { params: { id: ids.published! }, status: 202 },
      invalid: { params: { id: ids.published! }, body: { fromStage: 'render' }, status: 422 },
    },

    'GET /api/v1/destinations': { valid: { status: 200 } },
    'POST /api/v1/destinations': { valid: { status: 201 }, invalid: { body: { name: 'x', kind: 'ftp' }, status: 422 } },
    'GET /api/v1/destinations/:id': {
      valid: { params: { id: ids.destination! }, status: 200 },
      invalid: { params: { id: missing }, status: 404 },
    },
    'PATCH /api/v1/destinations/:id': {
      valid: { params: { id: ids.destination! }, status: 200 },
      invalid: { params: { id: ids.destination! }, body: unknownField, status: 422 },
    },
    'DELETE /api/v1/destinations/:id': {
      valid: { params: { id: ids.destination! }, status: 204 },
      invalid: { params: { id: missing }, status: 404 },
    },

    'POST /api/v1/feeds': {
      valid: { body: { url: `${siteUrl}/feed.xml`, cron: '0 0 1 1 *' }, status: 201 },
      invalid: { body: { url: `${siteUrl}/other.xml`, cron: 'every day' }, status: 422 },
    },
    'GET /api/v1/feeds': { valid: { status: 200 } },
    'GET /api/v1/feeds/:id': {
      valid: { params: { id: ids.feed! }, status: 200 },
      invalid: { params: { id: missing }, status: 404 },
    },
    'DELETE /api/v1/feeds/:id': {
      valid: { params: { id: ids.feed! }, status: 204 },
      invalid: { params: { id: missing }, status: 404 },
    },

    'GET /api/v1/admin/tenant': { valid: { status: 200 } },
    'PATCH /api/v1/admin/tenant': { valid: { status: 200 }, invalid: { body: {}, status: 422 } },
    'GET /api/v1/admin/tenants': { valid: { status: 200 } },
    'POST /api/v1/admin/tenants': {
      valid: { status: 201 },
      invalid: { body: { slug: 'Not A Slug', name: 'x' }, status: 422 },
    },
    'GET /api/v1/admin/keys': { valid: { status: 200 } },
    'POST /api/v1/admin/keys': {
      valid: { status: 201 },
      invalid: { body: { name: 'k', scopes: ['everything'] }, status: 422 },
    },
    'DELETE /api/v1/admin/keys/:id': {
      valid: { params: { id: ids.key! }, status: 200 },
      invalid: { params: { id: missing }, status: 404 },
    },
    'GET /api/v1/admin/secrets': { valid: { status: 200 } },
    'PUT /api/v1/admin/secrets/:name': {
      valid: { params: { name: 'wordpress-main' }, status: 200 },
      invalid: { params: { name: 'wordpress-main' }, body: { value: '' }, status: 422 },
    },
    'DELETE /api/v1/admin/secrets/:name': {
      valid: { params: { name: 'wordpress-main' }, status: 204 },
      invalid: { params: { name: 'never-stored' }, status: 404 },
    },
    'GET /api/v1/admin/webhook-secrets': { valid: { status: 200 } },
    'POST /api/v1/admin/webhook-secrets': {
      valid: { status: 201 },
      invalid: { body: { overlapSeconds: -1 }, status: 422 },
    },
  });

  /** The mounted routes the document must describe, Bull Board's internals folded into its entry. */
  const described = () => {
    const list = routes.filter((r) => !bullBoard(r)).map((r) => `${r.method} ${r.path}`);
    if (routes.some(bullBoard)) list.push('GET /admin/queues');
    return list;
  };

  function operation(key: string) {
    const [method, path] = key.split(' ') as [string, string];
    return doc.paths[openApiPath(path)]?.[method.toLowerCase()] as
      | {
          requestBody?: { content: Record<string, { schema: unknown; example?: unknown }> };
          responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
          security: unknown[];
        }
      | undefined;
  }

  it('passes an OpenAPI 3.1 validator (which does refuse a broken copy)', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as never);
    expect(result.errors ?? [], 'validator errors').toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.openapi).toMatch(/^3\.1\./);

    const broken = structuredClone(doc);
    delete broken.paths['/healthz']!.get.responses;
    broken.paths['/readyz']!.get.responses['200'] = { content: {} };
    expect((await new Validator().validate(broken as never)).valid).toBe(false);
  });

  it('is served the same at /api/v1/openapi.json, and every documented example is a valid request body', async () => {
    const res = await fetch(`${app.api.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(doc);
    let examples = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(
        item as Record<string, { requestBody?: { content: Record<string, { schema: object; example?: unknown }> } }>,
      )) {
        const media = op.requestBody?.content['application/json'];
        if (!media) continue;
        expect(media.example, `${method} ${path} has an example body`).toBeDefined();
        const validate = ajv.compile(media.schema);
        expect(validate(media.example), `${method} ${path} example: ${ajv.errorsText(validate.errors)}`).toBe(true);
        examples++;
      }
    }
    expect(examples).toBeGreaterThanOrEqual(15);
  });

  it('describes every mounted route, and nothing that is not mounted', () => {
    expect(routes.length).toBeGreaterThan(30);
    const mounted = described();
    const undocumented = mounted.filter((key) => !operation(key));
    expect(undocumented, 'mounted routes missing from the OpenAPI document').toEqual([]);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const stale = documented.filter(
      (key) =>
        !mounted.some((m) => {
          const [method, path] = m.split(' ') as [string, string];
          return key === `${method} ${openApiPath(path)}`;
        }),
    );
    expect(stale, 'documented operations that are not mounted').toEqual([]);
    // And the test below has a call for each of them.
    const planned = plans();
    expect(
      mounted.filter((key) => !planned[key]),
      'mounted routes without a call in this test',
    ).toEqual([]);
  });

  async function send(key: string, call: Call) {
    const [method, template] = key.split(' ') as [string, string];
    const op = operation(key)!;
    const media = op.requestBody?.content['application/json'];
    const body = media ? (call.body ?? media.example) : undefined;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      ...call.headers,
    };
    const auth = call.auth ?? 'key';
    if (auth === 'key') headers.authorization = `Bearer ${t.config.DEV_API_KEY}`;
    else if (auth !== 'none') headers.authorization = auth;
    if (call.sign) {
      const id = `msg_${randomUUID()}`;
      const at = new Date();
      Object.assign(headers, {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(inboundSecret).sign(id, at, payload ?? ''),
      });
    }
    const res = await fetch(`${app.api.url}${fillPath(template, call.params ?? {})}${call.query ?? ''}`, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
      redirect: 'manual',
    });
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const text = await res.text();
    return { status: res.status, type, text };
  }

  /** The answer matches the document: a documented status, its media type and its schema. */
  function expectDocumented(
    key: string,
    got: { status: number; type: string; text: string },
    expected: number,
    what: string,
  ) {
    const label = `${key} (${what})`;
    expect(got.status, `${label}: ${got.text.slice(0, 300)}`).toBe(expected);
    const response = operation(key)!.responses[String(got.status)];
    expect(response, `${label}: status ${got.status} is documented`).toBeDefined();
    const content = response!.content;
    if (!content) {
      expect(got.text, `${label}: no body is documented`).toBe('');
      return;
    }
    const [mediaType, media] = Object.entries(content)[0]!;
    if (mediaType !== '*/*') expect(got.type, `${label}: media type`).toBe(mediaType);
    if (!media.schema) return;
    const value = mediaType.endsWith('json') ? JSON.parse(got.text) : got.text;
    // JSON Pointer tokens: `~` and `/` escaped as `~0` and `~1`.
    const token = (s: string) => encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'));
    const [method, path] = key.split(' ') as [string, string];
    const pointer =
      `openapi.json#/paths/${token(openApiPath(path))}/${method.toLowerCase()}` +
      `/responses/${got.status}/content/${token(mediaType)}/schema`;
    const validate = ajv.getSchema(pointer) ?? ajv.compile({ $ref: pointer });
    expect(
      validate(value),
      `${label}: body matches the documented schema: ${ajv.errorsText(validate.errors)}\n${got.text.slice(0, 500)}`,
    ).toBe(true);
  }

  it('answers every route as documented: a valid call, an invalid one, and (API routes) one without a key', async () => {
    const planned = plans();
    const mounted = new Set(described());
    const done: string[] = [];
    for (const [key, plan] of Object.entries(planned)) {
      expect(mounted.has(key), `${key} is planned but not mounted`).toBe(true);
      if (plan.invalid) expectDocumented(key, await send(key, plan.invalid), plan.invalid.status, 'invalid call');
      expectDocumented(key, await send(key, plan.valid), plan.valid.status, 'valid call');
      const op = operation(key)!;
      if (JSON.stringify(op.security) === JSON.stringify([{ apiKey: [] }])) {
        expectDocumented(key, await send(key, { ...plan.valid, auth: 'none' }), 401, 'no key');
      }
      done.push(key);
    }
    expect(done.length).toBe(mounted.size);
  });

  it('serves a docs page that loads only same-origin assets, each as documented', async () => {
    const res = await fetch(`${app.api.url}/docs`);
    const html = await res.text();
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) {
      expect(ref, 'relative, same-origin URL').not.toMatch(/^(https?:)?\/\//);
      const asset = await fetch(new URL(ref, `${app.api.url}/docs`));
      expect(asset.status, ref).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, ref).toBeGreaterThan(100);
    }
    expect(html).toContain('data-spec="openapi.json"');
    // The start-up script points Swagger UI at our document and turns off the online validator badge.
    const init = await (await fetch(`${app.api.url}/docs/assets/init.js`)).text();
    expect(init).toContain('validatorUrl: null');
    expect((await fetch(`${app.api.url}/docs/`, { redirect: 'manual' })).headers.get('location')).toBe('../docs');
  });
});
