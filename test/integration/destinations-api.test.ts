import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it("publishes to the tenant's default destinations when a submission names none, and fails on a deleted one", async () => {
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

    const gone = await call('POST', '/api/v1/destinations', { name: 'Gone', kind: 'files' });
    await call('DELETE', `/api/v1/destinations/${gone.body.id}`);
    const named = await app.post('/api/v1/submissions', {
      source: { type: 'text', text: 'A submission naming a deleted destination fails at publish with the reason.' },
      publish: { destinations: [gone.body.id] },
    });
    const failed = await waitFor('failed', async () => {
      const { body } = await app.get(`/api/v1/posts/${named.body.postId}`);
      return body.status === 'failed' ? body : null;
    });
    expect(failed.failure).toMatchObject({ stage: 'publish', reason: expect.stringMatching(/does not exist/) });
  });
});
