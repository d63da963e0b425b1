import fc from 'fast-check';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stages } from '../../queues/stages.ts';
import { createApp } from '../../src/http/app.ts';
import { createTestEnv, startPipeline, type TestEnv } from '../support/harness.ts';
import { mountedRoutes, type MountedRoute } from '../support/routes.ts';

// Property-based fuzzing of every public endpoint (the /api/v1 API, the signed-webhook endpoint and
// /healthz, /readyz, /metrics), read from the app's router stack so new endpoints are fuzzed too.
// Requests are invalid by construction (a poisoned key at the top level of every body, a wrong
// content type, malformed or non-object JSON, ids of nothing): no answer may be a 5xx, the process
// must keep answering, and nothing may be enqueued or recorded.
// Bull Board's own routes (/admin/queues/*) belong to a third-party UI behind operator credentials and are not fuzzed
// here.

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
/** Lone surrogates cannot be percent-encoded; they become U+FFFD, as a browser would send them. */
const enc = (s: string) => encodeURIComponent(s.toWellFormed());

const oddText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    '..',
    '../..',
    '%',
    '%E0%A4%A',
    '%00',
    '\u0000',
    '\u202e\u2066',
    '\ud83d',
    'ﬀ',
    'İ',
    '𝕏'.repeat(10),
    ' ',
    'null',
    'NaN',
    '-1',
    '1e309',
    '0x10',
  ),
  fc.integer({ min: 1_000, max: 6_000 }).map((n) => 'x'.repeat(n)),
  fc.uuid(),
);

const pathValue = fc.oneof(
  fc.uuid(),
  oddText.map((s) => enc(s)),
  // Raw, possibly broken percent-escapes straight into the path.
  fc.constantFrom('%', '%E0%A4%A', '%C0%AF', '%2e%2e', '..%2f..%2f', '%ZZ', '%00'),
);

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    oddText,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(oddText, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const poisonKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', '__defineGetter__', 'hasOwnProperty'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map((s) => `zz_${s}`),
);

/**
 * A JSON text that no endpoint accepts: an object with an unknown (often prototype-named) key, or not an object at all.
 */
const invalidJson = fc.oneof(
  fc
    .tuple(
      poisonKey,
      jsonValue,
      fc.dictionary(
        fc.constantFrom(
          'source',
          'name',
          'value',
          'slug',
          'kind',
          'config',
          'url',
          'scopes',
          'settings',
          'reason',
          'publishAt',
          'brief',
          'publish',
        ),
        jsonValue,
        { maxKeys: 4 },
      ),
    )
    // Built as text: JSON.stringify would drop a `__proto__` key set through an object literal.
    .map(
      ([key, value, rest]) =>
        `{${[...Object.entries(rest).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`), `${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`].join(',')}}`,
    ),
  fc
    .tuple(poisonKey, fc.integer({ min: 50, max: 3000 }))
    .map(([key, depth]) => `{${JSON.stringify(key)}:${'['.repeat(depth)}${']'.repeat(depth)}}`),
  fc.integer({ min: 50, max: 5000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
  fc.integer({ min: 50, max: 2000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  jsonValue
    .filter((v) => v === null || typeof v !== 'object' || Array.isArray(v))
    .map((v) => JSON.stringify(v) ?? 'null'),
  fc.constantFrom(
    '{"constructor": {"prototype": {"admin": true}}}',
    '{"__proto__": {"polluted": true}}',
    '{"source": {"__proto__": {"type": "text"}}, "x": 1}',
  ),
);

const malformedBody = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"a":',
    '[1,]',
    '{"a" 1}',
    'undefined',
    "{'a': 1}",
    '\ufeff{"__proto__": 1}',
    '{"a": NaN}',
    '\u0000',
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.integer({ min: 66_000, max: 90_000 }).map((n) => `{"source": {"type": "text", "text": "${'y'.repeat(n)}"}}`),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/merge-patch+json',
  'application/json; charset=utf-16',
  'application/json; charset=koi8-r',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/xml',
  'application/octet-stream',
  '*/*',
  'nonsense',
);

type FuzzRequest = { path: string; query: string; headers: Record<string, string>; body: string | undefined };

function requestArbitrary(route: MountedRoute, devKey: string): fc.Arbitrary<FuzzRequest> {
  const names = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!);
  const params = fc
    .tuple(...names.map(() => pathValue))
    .map((values) => Object.fromEntries(names.map((n, i) => [n, values[i]!])));
  const query = fc
    .array(fc.tuple(oddText, oddText), { maxLength: 3 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&')}` : ''));
  const auth = fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${devKey}`) },
    {
      weight: 1,
      arbitrary: fc.string({
        unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        maxLength: 80,
      }),
    },
    { weight: 1, arbitrary: fc.constant('') },
  );
  // Writes always carry a non-blank (bad) body: an empty or blank POST can be a valid request (a rotation with
  // defaults).
  const body = ['GET', 'DELETE'].includes(route.method)
    ? fc.oneof(
        { weight: 5, arbitrary: invalidJson },
        { weight: 2, arbitrary: malformedBody },
        { weight: 1, arbitrary: fc.constant(undefined) },
      )
    : fc.oneof(
        { weight: 5, arbitrary: invalidJson },
        {
          weight: 2,
          // biome-ignore lint/suspicious/noControlCharactersInRegex: a body of only NUL and spaces is not malformed
          arbitrary: malformedBody.filter((b) => b.replace(/[\s\ufeff\u0000]/g, '') !== ''),
        },
      );
  const printable = fc.string({
    unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 300,
  });
  const webhookHeaders = fc.record({
    'webhook-id': printable,
    'webhook-timestamp': fc.oneof(printable, fc.integer().map(String)),
    'webhook-signature': printable,
  });
  return fc
    .record({
      params,
      query,
      auth,
      type: contentType,
      body,
      idem: fc.option(printable),
      hook: fc.option(webhookHeaders),
    })
    .map(({ params, query, auth, type, body, idem, hook }) => {
      const path = route.path.replace(/:([A-Za-z_]+)/g, (_m, n: string) => params[n]!);
      const headers: Record<string, string> = { 'content-type': type, ...(hook ?? {}) };
      if (auth) headers.authorization = auth;
      if (idem) headers['idempotency-key'] = idem;
      // A body on a GET is allowed by HTTP and must be harmless; most GETs are sent without.
      return { path, query, headers, body: route.method === 'GET' && body && body.length % 3 !== 0 ? undefined : body };
    });
}

const publicRoute = (r: MountedRoute) =>
  r.path.startsWith('/api/v1/') || ['/healthz', '/readyz', '/metrics'].includes(r.path);

describe('fuzzing every public endpoint', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let pool: Pool;
  let routes: MountedRoute[];

  beforeAll(async () => {
    t = await createTestEnv({ BODY_LIMIT: '64kb' });
    app = await startPipeline(t, { workers: false });
    pool = new Pool(app.api.url, { connections: 4, pipelining: 1, keepAliveTimeout: 30_000 });
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
    ).filter(publicRoute);
  });
  afterAll(async () => {
    await pool?.close();
    await app?.stop();
    await t?.cleanup();
  });

  /** What a request could have changed: every queue's jobs in any state, and the rows of every tenant-owned table. */
  async function footprint() {
    const jobs: Record<string, number> = {};
    for (const stage of stages) {
      const counts = await app.rt.queues.queues[stage].getJobCounts();
      jobs[stage] = Object.values(counts).reduce((a, b) => a + b, 0);
    }
    const tables = [
      'tenants',
      'submissions',
      'posts',
      'sources',
      'api_keys',
      'tenant_secrets',
      'inbound_webhook_secrets',
      'destinations',
      'feeds',
      'post_revisions',
    ];
    const rows: Record<string, number> = {};
    for (const table of tables) {
      const exists = (await app.rt.db.query('SELECT to_regclass($1) AS t', [table])).rows[0]!.t;
      if (exists) rows[table] = (await app.rt.db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
    }
    const maintenance = (await app.rt.redis.keys(`${t.config.QUEUE_PREFIX}:maintenance:*`)).length;
    return { jobs, rows, maintenance };
  }

  it('finds the endpoints to fuzz', () => {
    expect(routes.length).toBeGreaterThan(15);
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(['POST /api/v1/submissions', 'POST /api/v1/hooks/:tenant/submissions', 'GET /healthz']),
    );
  });

  it(`answers ${RUNS} generated requests per endpoint without a 5xx, stays up, and enqueues or records nothing`, {
    timeout: 30 * 60_000,
  }, async () => {
    const before = await footprint();
    const report: string[] = [];
    for (const route of routes) {
      const statuses = new Map<number, number>();
      const started = performance.now();
      await fc.assert(
        fc.asyncProperty(requestArbitrary(route, t.config.DEV_API_KEY), async (req) => {
          const res = await pool.request({
            method: route.method as 'GET',
            path: `${req.path}${req.query}`,
            headers: req.headers,
            ...(req.body === undefined ? {} : { body: req.body }),
          });
          const text = await res.body.text();
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          if (res.statusCode >= 500)
            throw new Error(
              `${res.statusCode} for ${route.method} ${req.path}${req.query.slice(0, 200)}: ${text.slice(0, 500)}`,
            );
          // Invalid input never changes anything, so no write may succeed.
          if (route.method !== 'GET' && res.statusCode < 300)
            throw new Error(
              `${route.method} ${req.path} accepted a generated request (${res.statusCode}) ` +
                `with ${JSON.stringify(req.headers['content-type'])} ${JSON.stringify(req.body?.slice(0, 200))}: ` +
                `${text.slice(0, 300)}`,
            );
          // Answers from the app (not Node's own 431 for over-long headers) are problem documents.
          if (res.statusCode >= 400 && res.headers['x-request-id'])
            expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
        }),
        { numRuns: RUNS, endOnFailure: true },
      );
      const alive = await pool.request({ method: 'GET', path: '/healthz' });
      expect(alive.statusCode).toBe(200);
      await alive.body.text();
      report.push(
        `${route.method} ${route.path}: ${RUNS} requests in ${Math.round(performance.now() - started)} ` +
          `ms, ${JSON.stringify(Object.fromEntries(statuses))}`,
      );
      if (process.env.FUZZ_PROGRESS) console.log(report.at(-1));
    }
    console.log(report.join('\n'));
    expect(await footprint()).toEqual(before);
  });
});
