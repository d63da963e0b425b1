import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantWithKeys } from '../support/tenants.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';

describe('destinations API', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t);
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  async function call(method: string, path: string, body?: unknown) {
    const res = await fetch(`${app.api.url}${path}`, {
      method,
      headers: app.headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      body: res.status === 204 ? null : ((await res.json()) as any),
    };
  }

  it('creates, lists, reads, updates and deletes destinations; configs name secret variables only', async () => {
    const created = await call('POST', '/api/v1/destinations', {
      name: 'Main blog',
      kind: 'wordpress',
      config: { url: 'https://wp.example', username: 'editor', passwordEnv: 'BP_SECRET_MAIN_BLOG' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Main blog',
      kind: 'wordpress',
      isDefault: false,
      config: { status: 'publish', categories: [], timeoutMs: 15000 },
    });
    const id = created.body.id as string;
    expect((await call('GET', '/api/v1/destinations')).body.items.map((d: { id: string }) => d.id)).toEqual([id]);
    expect((await call('GET', `/api/v1/destinations/${id}`)).body.name).toBe('Main blog');

    const patched = await call('PATCH', `/api/v1/destinations/${id}`, {
      isDefault: true,
      config: { url: 'https://wp.example', username: 'editor', passwordEnv: 'BP_SECRET_MAIN_BLOG', status: 'draft' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ isDefault: true, config: { status: 'draft' } });

    expect((await call('DELETE', `/api/v1/destinations/${id}`)).status).toBe(204);
    expect((await call('GET', `/api/v1/destinations/${id}`)).status).toBe(404);
    expect((await call('DELETE', `/api/v1/destinations/${id}`)).status).toBe(404);
  });

  it('refuses bad destinations with a problem document naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ name: 'x', kind: 'ftp', config: {} }, 'kind'],
      [
        {
          name: 'x',
          kind: 'wordpress',
          config: { url: 'https://wp.example', username: 'u', passwordEnv: 'DATABASE_URL' },
        },
        'config.passwordEnv',
      ],
      [{ name: 'x', kind: 'webhook', config: { url: 'ftp://x', secretEnv: 'BP_SECRET_X' } }, 'config.url'],
      [
        {
          name: 'x',
          kind: 'webhook',
          config: { url: 'https://x.example', secretEnv: 'BP_SECRET_X', password: 'hunter2' },
        },
        'config.password',
      ],
      [{ name: '', kind: 'files' }, 'name'],
    ];
    for (const [body, field] of cases) {
      const res = await call('POST', '/api/v1/destinations', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.type).toMatch(/application\/problem\+json/);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    const files = await call('POST', '/api/v1/destinations', { name: 'Site', kind: 'files' });
    expect(files.status).toBe(201);
    expect((await call('POST', '/api/v1/destinations', { name: 'site', kind: 'files' })).status).toBe(409);
    const badPatch = await call('PATCH', `/api/v1/destinations/${files.body.id}`, { config: { subdir: '../etc' } });
    expect(badPatch.status).toBe(422);
    expect(badPatch.body.errors[0].field).toBe('config.subdir');
    expect((await call('GET', '/api/v1/destinations/not-a-uuid')).status).toBe(404);
  });

  it(
    "publishes to the tenant's default destinations when a submission names " + 'none, and fails on a deleted one',
    async () => {
      const site = await call('POST', '/api/v1/destinations', {
        name: 'Default site',
        kind: 'files',
        isDefault: true,
        config: { subdir: 'main' },
      });
      expect(site.status).toBe(201);
      const res = await app.post('/api/v1/submissions', {
        source: {
          type: 'text',
          text: 'Defaults apply when a submission names no destination. The tenant chose a site of its own.',
        },
      });
      const post = await waitFor('published', async () => {
        const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
        return body.status === 'published' ? body : null;
      });
      expect(post.publications).toEqual([
        expect.objectContaining({
          destination: site.body.id,
          kind: 'files',
          location: expect.stringMatching(/\/main\/[^/]+\.html$/),
        }),
      ]);

      // Named destinations are checked when the submission arrives: a deleted one, another tenant's or an
      // unknown id is a 422 naming the entry, and nothing is accepted.
      const gone = await call('POST', '/api/v1/destinations', { name: 'Gone', kind: 'files' });
      await call('DELETE', `/api/v1/destinations/${gone.body.id}`);
      const other = await createTenantWithKeys({ url: app.api.url, devKey: t.config.DEV_API_KEY }, 'dest-other');
      const theirs = await other.call(other.keys.all!.key, 'POST', '/api/v1/destinations', {
        name: 'Theirs',
        kind: 'files',
      });
      expect(theirs.status).toBe(201);
      const before = (await app.rt.db.query('SELECT count(*)::int AS n FROM submissions')).rows[0]!.n;
      const named = await app.post('/api/v1/submissions', {
        source: { type: 'text', text: 'A submission naming a deleted destination and another tenant’s.' },
        publish: { destinations: [site.body.id, gone.body.id, theirs.body.id] },
      });
      expect(named.status).toBe(422);
      expect(named.body.errors.map((e: { field: string }) => e.field)).toEqual([
        'publish.destinations.1',
        'publish.destinations.2',
      ]);
      expect((await app.rt.db.query('SELECT count(*)::int AS n FROM submissions')).rows[0]!.n).toBe(before);

      // The check at publish stays: a destination deleted while the post waits fails it with the reason.
      const later = await call('POST', '/api/v1/destinations', { name: 'Deleted later', kind: 'files' });
      const waiting = await app.post('/api/v1/submissions', {
        source: {
          type: 'text',
          text: 'A post waits for approval while its destination is deleted. It fails at publish.',
        },
        publish: { destinations: [later.body.id], requireApproval: true },
      });
      expect(waiting.status).toBe(202);
      await waitFor(
        'awaiting approval',
        async () => (await app.get(`/api/v1/posts/${waiting.body.postId}`)).body.status === 'awaiting_approval',
      );
      await call('DELETE', `/api/v1/destinations/${later.body.id}`);
      expect((await app.post(`/api/v1/posts/${waiting.body.postId}/approve`, {})).status).toBe(202);
      const failed = await waitFor('failed', async () => {
        const { body } = await app.get(`/api/v1/posts/${waiting.body.postId}`);
        return body.status === 'failed' ? body : null;
      });
      expect(failed.failure).toMatchObject({ stage: 'publish', reason: expect.stringMatching(/does not exist/) });
    },
  );

  it('refuses destination URLs the SSRF guard would refuse, at creation, naming the field', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.7/wp',
      'http://[::127.0.0.1]/hook',
      'http://[::ffff:a9fe:a9fe]/',
      'http://2130706434/', // 127.0.0.2 (the test env allowlists 127.0.0.1 itself)
      'https://user:secret@hooks.example/in',
      'http://metadata.localhost/',
    ]) {
      const res = await call('POST', '/api/v1/destinations', {
        name: 'internal',
        kind: 'webhook',
        config: { url, secretName: 'hook' },
      });
      expect(res.status, url).toBe(422);
      expect(res.body.errors, url).toEqual([{ field: 'config.url', message: expect.any(String) }]);
    }
    const wordpress = await call('POST', '/api/v1/destinations', {
      name: 'internal wp',
      kind: 'wordpress',
      config: { url: 'http://192.168.1.1', username: 'u', passwordSecret: 'wp' },
    });
    expect(wordpress.status).toBe(422);
    expect(wordpress.body.errors[0].field).toBe('config.url');
    const settings = await call('PATCH', '/api/v1/admin/tenant', {
      settings: { notifications: { url: 'http://127.0.0.2/cb', secretName: 'cb' } },
    });
    expect(settings.status).toBe(422);
    expect(settings.body.errors[0].field).toBe('settings.notifications.url');
    // Feeds and submissions likewise, so nothing is registered or accepted that would only fail later.
    const feed = await call('POST', '/api/v1/feeds', { url: 'http://[fd00:ec2::254]/feed.xml', cron: '0 * * * *' });
    expect(feed.status).toBe(422);
    expect(feed.body.errors[0].field).toBe('url');
    const source = await app.post('/api/v1/submissions', { source: { type: 'url', url: 'http://0x7f000002/' } });
    expect(source.status).toBe(422);
    expect(source.body.errors[0].field).toBe('source.url');
    const image = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: 'Text with a featured image on a private address.' },
      publish: { featuredImage: { url: 'http://100.100.100.200/i.png', alt: 'x' } },
    });
    expect(image.status).toBe(422);
    expect(image.body.errors[0].field).toBe('publish.featuredImage.url');
    expect((await app.rt.db.query('SELECT count(*)::int AS n FROM feeds')).rows[0]!.n).toBe(0);
  });
});
