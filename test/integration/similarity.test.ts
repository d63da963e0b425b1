import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { embeddedTextsTotal } from '../../src/metrics.ts';
import { resumePost } from '../../src/pipeline-control.ts';
import { acceptSubmission } from '../../src/submissions.ts';
import { vectorDeps } from '../../src/vector/post-index.ts';
import { searchPosts } from '../../src/vector/similarity.ts';
import { startFakeOpenAI, type FakeOpenAI } from '../support/fake-openai.ts';
import { startFakeQdrant, type FakeQdrant } from '../support/fake-qdrant.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { nearDuplicate, neighbour, original, related } from '../support/similar-articles.ts';
import { createTenant } from '../support/vectors.ts';

type App = Awaited<ReturnType<typeof startPipeline>>;

const settled = ['published', 'failed', 'duplicate_of', 'needs_review', 'awaiting_approval'];

async function submitAndSettle(app: App, text: string) {
  const res = await app.post('/api/v1/submissions', { source: { type: 'markdown', text } });
  expect(res.status).toBe(202);
  return waitFor(`post ${res.body.postId} to settle`, async () => {
    const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
    return settled.includes(body.status) ? body : null;
  });
}

let fakeQdrant: FakeQdrant;
beforeAll(async () => {
  fakeQdrant = await startFakeQdrant();
});
afterAll(async () => {
  await fakeQdrant?.close();
});

const backends = [
  { name: 'pgvector', env: (): Record<string, string> => ({ DUPLICATE_GUARD: 'true', VECTOR_INDEX: 'pgvector' }) },
  {
    name: 'qdrant',
    env: (): Record<string, string> => ({
      DUPLICATE_GUARD: 'true',
      VECTOR_INDEX: 'qdrant',
      QDRANT_URL: fakeQdrant.url,
      QDRANT_COLLECTION_PREFIX: `t_${randomBytes(3).toString('hex')}`,
    }),
  },
];

describe.each(backends)('similarity in the pipeline on $name', ({ name, env }) => {
  let t: TestEnv;
  let app: App;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestEnv(env());
    app = await startPipeline(t);
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  it(
    'holds a near-duplicate of a published post as duplicate_of; a distinct ' +
      'post on a neighbouring topic is published',
    async () => {
      const first = await submitAndSettle(app, original);
      expect(first.status).toBe('published');
      ids.original = first.id;

      const other = await submitAndSettle(app, neighbour);
      expect(other.status).toBe('published');
      expect(other.hold).toBeNull();
      ids.neighbour = other.id;

      const copy = await submitAndSettle(app, nearDuplicate);
      expect(copy.status).toBe('duplicate_of');
      expect(copy.hold).toMatchObject({
        stage: 'index',
        details: { postId: first.id, threshold: t.config.DUPLICATE_THRESHOLD },
      });
      expect(copy.hold.details.score).toBeGreaterThanOrEqual(t.config.DUPLICATE_THRESHOLD);
      expect(copy.hold.reason).toContain(first.id);
      expect(copy.publications).toEqual([]);
      expect(copy.stages.map((s: { stage: string }) => s.stage)).toEqual(['ingest', 'generate', 'embed', 'index']);
      ids.copy = copy.id;
    },
  );

  it('publishes the duplicate once an operator approves it', async () => {
    await resumePost(app.rt.db, app.rt.queues, ids.copy!, { approve: true });
    const post = await waitFor('the approved copy', async () => {
      const { body } = await app.get(`/api/v1/posts/${ids.copy}`);
      return body.status === 'published' ? body : null;
    });
    expect(post.publications).toHaveLength(1);
  });

  it('makes no new embedding calls when unchanged text is submitted again (counted)', async () => {
    const embed = vi.spyOn(app.rt.providers.embedder, 'embed');
    const textsBefore = await counter('local');
    const again = await submitAndSettle(app, neighbour);
    // It is the same post, so the guard holds it; embedding it again would have been the waste.
    expect(again.status).toBe('duplicate_of');
    expect(again.hold.details.postId).toBe(ids.neighbour);
    expect(embed).not.toHaveBeenCalled();
    expect((await counter('local')) - textsBefore).toBe(0);
    embed.mockRestore();
  });

  it('suggests related published posts and, when the tenant enables it, links them before publishing', async () => {
    await app.rt.db.query(
      `UPDATE tenants SET settings = settings || '{"internalLinks": {"enabled": ` +
        `true, "max": 2}}' WHERE slug = 'default'`,
    );
    const post = await submitAndSettle(app, related);
    expect(post.status).toBe('published');
    // The heat pump articles are related; the wood stove one is not similar enough.
    const linkedIds = post.internalLinks.map((l: { postId: string }) => l.postId);
    expect(linkedIds.length).toBeGreaterThan(0);
    expect(linkedIds.length).toBeLessThanOrEqual(2);
    expect(linkedIds).toContain(ids.original);
    expect(linkedIds).not.toContain(ids.neighbour);
    for (const link of post.internalLinks) {
      expect(link).toMatchObject({ linked: true, rank: expect.any(Number) });
      expect(link.score).toBeGreaterThanOrEqual(t.config.RELATED_MIN_SCORE);
      expect(link.score).toBeLessThan(t.config.DUPLICATE_THRESHOLD);
    }
    const md = readFileSync(post.publications[0].location.replace(/\.html$/, '.md'), 'utf8');
    const original = (await app.get(`/api/v1/posts/${ids.original}`)).body;
    expect(md).toContain('## Related posts');
    expect(md).toContain(`](<./${original.slug}.html>)`);
    // The links sit before the sources list, which stays last.
    expect(md.indexOf('## Related posts')).toBeLessThan(md.lastIndexOf('## Sources'));
    const html = readFileSync(post.publications[0].location, 'utf8');
    expect(html).toContain(`href="./${original.slug}.html"`);

    const live = await app.get(`/api/v1/posts/${post.id}/related`);
    expect(live.status).toBe(200);
    expect(live.body.results.map((r: { postId: string }) => r.postId)).toContain(ids.original);
    expect(live.body.results[0]).toMatchObject({
      title: expect.any(String),
      score: expect.any(Number),
      status: 'published',
    });
  });

  it(
    "searches only the caller's posts: over HTTP for the default tenant, and " + 'through the index for another',
    async () => {
      const otherTenant = await createTenant(app.rt.db, `other-${randomBytes(3).toString('hex')}`);
      // The very same article in another tenant: not a duplicate there, and never a search hit here.
      const accepted = await acceptSubmission(app.rt.db, app.rt.queues, {
        tenantId: otherTenant,
        body: { source: { type: 'markdown', text: original } },
        idempotencyKey: null,
        correlationId: 'other-tenant',
      });
      await waitFor('the other tenant’s post', async () => {
        const { rows } = await app.rt.db.query('SELECT status FROM posts WHERE id = $1', [accepted.postId]);
        return rows[0]?.status === 'published';
      });

      const res = await app.get(
        `/api/v1/search?q=${encodeURIComponent('heat pump running costs in cold weather')}&limit=20`,
      );
      expect(res.status).toBe(200);
      expect(res.body.results.length).toBeGreaterThan(0);
      const ownIds = new Set(
        (
          await app.rt.db.query<{ id: string }>(
            `SELECT p.id FROM posts p JOIN tenants t ON t.id = p.tenant_id WHERE t.slug = 'default'`,
          )
        ).rows.map((r) => r.id),
      );
      for (const hit of res.body.results) expect(ownIds.has(hit.postId)).toBe(true);
      expect(res.body.results.map((r: { postId: string }) => r.postId)).not.toContain(accepted.postId);
      expect(res.body.index).toBe(name);
      if (name === 'qdrant') {
        // The searches really went to Qdrant, each with the tenant filter.
        const queries = fakeQdrant.queries();
        expect(queries.length).toBeGreaterThan(0);
        for (const q of queries)
          expect(q.filter.must[0]).toMatchObject({ key: 'tenant_id', match: { value: expect.any(String) } });
      }
      expect([ids.original, ids.copy]).toContain(res.body.results[0].postId);
      expect(res.body.results[0]).toMatchObject({
        score: expect.any(Number),
        snippet: expect.any(String),
        title: expect.any(String),
      });
      expect(res.body.results[0].snippet.length).toBeGreaterThan(0);

      const deps = vectorDeps(app.rt.db, app.rt.providers, app.rt.config);
      const theirs = await searchPosts(deps, otherTenant, 'heat pump running costs in cold weather', 20);
      expect(theirs.map((r) => r.postId)).toEqual([accepted.postId]);
    },
  );

  it('refuses bad search input with a problem naming the field', async () => {
    for (const [query, field] of [
      ['', 'q'],
      ['?q=', 'q'],
      ['?q=x&limit=0', 'limit'],
      ['?q=x&limit=many', 'limit'],
      ['?q=x&sort=new', 'sort'],
      ['?q=a&q=b', 'q'],
    ] as const) {
      const res = await app.get(`/api/v1/search${query}`);
      expect(res.status, query).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    expect((await app.get('/api/v1/posts/not-a-uuid/related')).status).toBe(404);
    expect((await app.get('/api/v1/posts/00000000-0000-4000-8000-000000000000/related')).status).toBe(404);
    expect((await app.get(`/api/v1/posts/${ids.original}/related?limit=-1`)).status).toBe(422);
  });
});

describe('OpenAI-compatible embeddings in the pipeline', () => {
  let t: TestEnv;
  let app: App;
  let openai: FakeOpenAI;

  beforeAll(async () => {
    openai = await startFakeOpenAI();
    t = await createTestEnv({
      DUPLICATE_GUARD: 'true',
      EMBEDDING_PROVIDER: 'openai',
      EMBEDDING_BASE_URL: openai.url,
      EMBEDDING_API_KEY: 'sk-test-embeddings',
      EMBEDDING_MODEL: 'text-embedding-3-small',
      EMBEDDING_DIMENSION: '64',
      EMBEDDING_SEND_DIMENSIONS: 'true',
      EMBEDDING_BATCH_SIZE: '2',
    });
    app = await startPipeline(t);
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
    await openai?.close();
  });

  it('embeds in batches once, and re-submitting unchanged text makes no new embedding requests (counted)', async () => {
    const first = await submitAndSettle(app, related);
    expect(first.status).toBe('published');
    const requests = openai.embeddingRequests();
    const chunks = await app.rt.db.query<{ n: number }>(
      'SELECT count(DISTINCT content_hash)::int AS n FROM post_chunks WHERE post_id = $1',
      [first.id],
    );
    expect(requests.map((r) => r.body.input.length).reduce((a, b) => a + b, 0)).toBe(chunks.rows[0]!.n);
    for (const r of requests) {
      expect(r.body).toMatchObject({ model: 'text-embedding-3-small', dimensions: 64 });
      expect(r.body.input.length).toBeLessThanOrEqual(2);
      expect(r.headers.authorization).toBe('Bearer sk-test-embeddings');
    }
    const before = openai.embeddingRequests().length;
    const again = await submitAndSettle(app, related);
    expect(again.status).toBe('duplicate_of');
    expect(openai.embeddingRequests().length).toBe(before);

    // A search embeds its query once; the same query again comes from the cache.
    await app.get('/api/v1/search?q=grants');
    await app.get('/api/v1/search?q=grants');
    expect(openai.embeddingRequests().length).toBe(before + 1);
  });
});

async function counter(provider: string): Promise<number> {
  const metric = await embeddedTextsTotal.get();
  return metric.values.find((v) => v.labels.provider === provider)?.value ?? 0;
}
