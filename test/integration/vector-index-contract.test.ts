import { QdrantClient } from '@qdrant/js-client-rest';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.ts';
import { connectDb, type Db } from '../../src/db/pool.ts';
import { createLogger } from '../../src/logger.ts';
import { createPgvectorIndex } from '../../src/vector/pgvector-index.ts';
import { createQdrantIndex } from '../../src/vector/qdrant-index.ts';
import type { VectorIndex, VectorSpace } from '../../src/vector/types.ts';
import { startFakeQdrant, type FakeQdrant } from '../support/fake-qdrant.ts';
import { createTestEnv, type TestEnv } from '../support/harness.ts';
import { createPostWithChunks, createTenant, near, randomUnit, rng } from '../support/vectors.ts';

// One contract, every backend: pgvector for real, Qdrant against the local fake, and against a real Qdrant
// whenever QDRANT_URL is set.

let t: TestEnv;
let db: Db;
let fake: FakeQdrant;
const realQdrantPrefix = `bp_contract_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  t = await createTestEnv();
  const logger = createLogger('silent');
  db = await connectDb(t.config, logger);
  await migrate(t.config.DATABASE_URL, logger);
  fake = await startFakeQdrant();
});

afterAll(async () => {
  await fake?.close();
  if (process.env.QDRANT_URL) {
    const client = new QdrantClient({
      url: process.env.QDRANT_URL,
      apiKey: process.env.QDRANT_API_KEY,
      checkCompatibility: false,
    });
    const { collections } = await client.getCollections();
    for (const c of collections.filter((c) => c.name.startsWith(realQdrantPrefix)))
      await client.deleteCollection(c.name);
  }
  await db?.close();
  await t?.cleanup();
});

type Backend = { name: string; make(): VectorIndex };
const backends: Backend[] = [
  { name: 'pgvector', make: () => createPgvectorIndex(db, { efSearch: 40 }) },
  {
    name: 'qdrant (local fake server)',
    make: () =>
      createQdrantIndex({ url: fake.url, collectionPrefix: `fake_${randomBytes(3).toString('hex')}`, efSearch: 40 }),
  },
  ...(process.env.QDRANT_URL
    ? [
        {
          name: 'qdrant (QDRANT_URL)',
          make: () =>
            createQdrantIndex({
              url: process.env.QDRANT_URL!,
              apiKey: process.env.QDRANT_API_KEY,
              collectionPrefix: `${realQdrantPrefix}_${randomBytes(3).toString('hex')}`,
              efSearch: 40,
            }),
        },
      ]
    : []),
];

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe.each(backends)('vector index contract: $name', ({ name, make }) => {
  let index: VectorIndex;
  let space: VectorSpace;
  let tenantA: string;
  let tenantB: string;
  const next = rng(42);

  beforeAll(async () => {
    index = make();
    // A model key per backend run: the pgvector backend shares one table between the suites.
    space = { model: `contract-${name.replace(/\W+/g, '-')}/16`, dimension: 16 };
    tenantA = await createTenant(db, `a-${randomBytes(3).toString('hex')}`);
    tenantB = await createTenant(db, `b-${randomBytes(3).toString('hex')}`);
  });

  it('finds the nearest chunks first, scored by cosine similarity', async () => {
    const postId = await createPostWithChunks(db, tenantA, 3);
    const vectors = [randomUnit(next, 16), randomUnit(next, 16), randomUnit(next, 16)];
    expect(
      await index.upsertPost(
        { postId, tenantId: tenantA },
        space,
        vectors.map((vector, position) => ({ position, vector })),
      ),
    ).toBe(3);
    const query = near(next, vectors[1]!, 0.05);
    const hits = await index.search(tenantA, space, query, { limit: 3 });
    expect(hits.map((h) => [h.postId, h.position])[0]).toEqual([postId, 1]);
    expect(hits).toHaveLength(3);
    for (const hit of hits) expect(hit.score).toBeCloseTo(dot(query, vectors[hit.position]!), 4);
    expect(hits.map((h) => h.score)).toEqual([...hits.map((h) => h.score)].sort((a, b) => b - a));
  });

  it("never returns another tenant's chunks, even identical ones", async () => {
    const shared = randomUnit(next, 16);
    const postA = await createPostWithChunks(db, tenantA, 1);
    const postB = await createPostWithChunks(db, tenantB, 2);
    await index.upsertPost({ postId: postA, tenantId: tenantA }, space, [{ position: 0, vector: shared }]);
    await index.upsertPost({ postId: postB, tenantId: tenantB }, space, [
      { position: 0, vector: shared },
      { position: 1, vector: near(next, shared, 0.01) },
    ]);

    const forA = await index.search(tenantA, space, shared, { limit: 50 });
    const forB = await index.search(tenantB, space, shared, { limit: 50 });
    expect(forA.map((h) => h.postId)).toContain(postA);
    expect(forA.map((h) => h.postId)).not.toContain(postB);
    expect(forB.map((h) => h.postId)).toEqual([postB, postB]);
    const postsOfA = await db.query<{ id: string }>('SELECT id FROM posts WHERE tenant_id = $1', [tenantA]);
    const ids = new Set(postsOfA.rows.map((r) => r.id));
    for (const hit of forA) expect(ids.has(hit.postId)).toBe(true);
    const nobody = await createTenant(db, `c-${randomBytes(3).toString('hex')}`);
    expect(await index.search(nobody, space, shared, { limit: 10 })).toEqual([]);
  });

  it("gives a small tenant its own nearest chunks when another tenant's crowd the neighbourhood", async () => {
    const center = randomUnit(next, 16);
    const small = await createTenant(db, `small-${randomBytes(3).toString('hex')}`);
    const big = await createTenant(db, `big-${randomBytes(3).toString('hex')}`);
    const smallPost = await createPostWithChunks(db, small, 5);
    await index.upsertPost(
      { postId: smallPost, tenantId: small },
      space,
      Array.from({ length: 5 }, (_, position) => ({ position, vector: near(next, center, 0.6) })),
    );
    for (let p = 0; p < 20; p++) {
      const postId = await createPostWithChunks(db, big, 50);
      await index.upsertPost(
        { postId, tenantId: big },
        space,
        Array.from({ length: 50 }, (_, position) => ({ position, vector: near(next, center, 0.1) })),
      );
    }
    const hits = await index.search(small, space, center, { limit: 5 });
    expect(hits.map((h) => `${h.postId}:${h.position}`).sort()).toEqual(
      [0, 1, 2, 3, 4].map((p) => `${smallPost}:${p}`),
    );
  });

  it('leaves one post out when asked', async () => {
    const v = randomUnit(next, 16);
    const [p1, p2] = [await createPostWithChunks(db, tenantA, 1), await createPostWithChunks(db, tenantA, 1)];
    await index.upsertPost({ postId: p1!, tenantId: tenantA }, space, [{ position: 0, vector: v }]);
    await index.upsertPost({ postId: p2!, tenantId: tenantA }, space, [{ position: 0, vector: near(next, v, 0.02) }]);
    const hits = await index.search(tenantA, space, v, { limit: 1, excludePostId: p1 });
    expect(hits[0]!.postId).toBe(p2);
  });

  it('replaces a post on re-upsert (fewer chunks remove the rest) and deletes it', async () => {
    const postId = await createPostWithChunks(db, tenantB, 4);
    const vectors = Array.from({ length: 4 }, () => randomUnit(next, 16));
    await index.upsertPost(
      { postId, tenantId: tenantB },
      space,
      vectors.map((vector, position) => ({ position, vector })),
    );
    await index.upsertPost({ postId, tenantId: tenantB }, space, [
      { position: 0, vector: vectors[0]! },
      { position: 1, vector: vectors[1]! },
    ]);
    const positions = async () =>
      (await index.search(tenantB, space, vectors[3]!, { limit: 100 }))
        .filter((h) => h.postId === postId)
        .map((h) => h.position)
        .sort();
    expect(await positions()).toEqual([0, 1]);
    await index.upsertPost({ postId, tenantId: tenantB }, space, [
      { position: 0, vector: vectors[0]! },
      { position: 1, vector: vectors[1]! },
    ]);
    expect(await positions()).toEqual([0, 1]);
    await index.deletePost(postId, space);
    expect(await positions()).toEqual([]);
  });

  it('keeps embedding spaces apart and refuses vectors of the wrong dimension', async () => {
    const other: VectorSpace = { model: `${space.model}-other/8`, dimension: 8 };
    const postId = await createPostWithChunks(db, tenantA, 1);
    const v8 = randomUnit(next, 8);
    // On pgvector a chunk row holds one model's vector at a time: indexing under another model moves it.
    await index.upsertPost({ postId, tenantId: tenantA }, other, [{ position: 0, vector: v8 }]);
    expect((await index.search(tenantA, other, v8, { limit: 10 })).map((h) => h.postId)).toEqual([postId]);
    expect(
      (await index.search(tenantA, space, randomUnit(next, 16), { limit: 100 })).map((h) => h.postId),
    ).not.toContain(postId);
    await expect(
      index.upsertPost({ postId, tenantId: tenantA }, other, [{ position: 0, vector: randomUnit(next, 9) }]),
    ).rejects.toThrow(/dimension/);
    await expect(index.search(tenantA, other, randomUnit(next, 16), { limit: 1 })).rejects.toThrow(/dimension/);
    expect(await index.search(tenantA, { model: 'never-indexed/8', dimension: 8 }, v8, { limit: 1 })).toEqual([]);
  });
});

describe('qdrant backend on the wire', () => {
  it('sends the tenant filter with every query, waits for upserts and indexes the tenant field', async () => {
    const server = await startFakeQdrant({ apiKey: 'qdrant-test-key' });
    try {
      const index = createQdrantIndex({
        url: server.url,
        apiKey: 'qdrant-test-key',
        collectionPrefix: 'wire',
        efSearch: 64,
      });
      const space = { model: 'wire-model/4', dimension: 4 };
      await index.upsertPost({ postId: '00000000-0000-4000-8000-000000000001', tenantId: 't1' }, space, [
        { position: 0, vector: [1, 0, 0, 0] },
      ]);
      await index.search('t1', space, [1, 0, 0, 0], { limit: 5 });
      await index.search('t2', space, [1, 0, 0, 0], {
        limit: 5,
        excludePostId: '00000000-0000-4000-8000-000000000001',
      });
      expect(server.queries()).toHaveLength(2);
      for (const q of server.queries())
        expect(q.filter.must).toContainEqual({ key: 'tenant_id', match: { value: expect.stringMatching(/^t[12]$/) } });
      expect(server.queries()[1].filter.must_not).toEqual([
        { key: 'post_id', match: { value: '00000000-0000-4000-8000-000000000001' } },
      ]);
      const upserts = server.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/points'));
      expect(upserts.every((r) => r.query.wait === 'true')).toBe(true);
      expect(server.collections.get('wire_wire-model_4')?.payloadSchema.tenant_id).toMatchObject({
        params: { type: 'keyword', is_tenant: true },
      });
      expect(server.requests.every((r) => r.headers['api-key'] === 'qdrant-test-key')).toBe(true);
      expect(await index.ping!()).toEqual({ version: expect.any(String) });
    } finally {
      await server.close();
    }
  });
});
