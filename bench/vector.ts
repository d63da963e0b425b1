/**
 * Vector index benchmark (npm run bench:vector). Everything is measured in this run, on the local PostgreSQL:
 *
 *  1. Upserts: chunks made searchable per second through the pgvector backend (UPDATE of the chunk rows with the
 *     HNSW index maintained, one post of 10 chunks per call, as the index stage does), against a plain multi-row
 *     INSERT of the same vectors into a table without an index (per post, and in batches of 1,000).
 *  2. Search: p50/p99 latency and recall@10 of the HNSW search at 100k chunks of clustered vectors, against exact
 *     search (a sequential scan of the same rows), for several ef_search values.
 *
 * Sizes: BENCH_CHUNKS (default 100000), BENCH_DIM (128), BENCH_QUERIES (200), BENCH_UPSERT_POSTS (500).
 * With QDRANT_URL set, upserts and search are also run against that Qdrant.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import pgvector from 'pgvector';
import { loadConfig } from '../src/config.ts';
import { connectDb, type Db } from '../src/db/pool.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';
import { createPgvectorIndex, ensurePgvectorIndex, pgvectorDefaults } from '../src/vector/pgvector-index.ts';
import { createQdrantIndex } from '../src/vector/qdrant-index.ts';
import type { VectorIndex, VectorSpace } from '../src/vector/types.ts';
import { near, randomUnit, rng } from '../test/support/vectors.ts';

const N = Number(process.env.BENCH_CHUNKS ?? 100_000);
const DIM = Number(process.env.BENCH_DIM ?? 128);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
const UPSERT_POSTS = Number(process.env.BENCH_UPSERT_POSTS ?? 500);
const CHUNKS_PER_POST = 10;
const CLUSTERS = 500;
const SPREAD = 0.08; // per-dimension noise: chunks of one cluster have cosine ≈ 0.55 to each other
const EF_SEARCH = [40, 100, 200];

const base = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const dbName = `bp_bench_${randomBytes(4).toString('hex')}`;
const logger = createLogger('silent');
const space: VectorSpace = { model: `bench-clustered/${DIM}`, dimension: DIM };

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await fn();
  return [result, performance.now() - started];
}

async function main(): Promise<void> {
  const config = loadConfig({
    DATABASE_URL: `${base}/${dbName}`,
    LOG_LEVEL: 'silent',
    DATABASE_POOL_MAX: '4',
    DATABASE_SLOW_QUERY_MS: '600000',
  });
  const db = await connectDb(config, logger);
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  try {
    await migrate(config.DATABASE_URL, logger);
    // The graph of 100k vectors fits in memory, so the build does not spill to disk.
    await admin.query(`ALTER DATABASE ${dbName} SET maintenance_work_mem = '512MB'`);
    await db.pool.end();
    const bench = await connectDb(config, logger);
    try {
      await run(bench);
    } finally {
      await bench.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

async function run(db: Db): Promise<void> {
  const next = rng(20240501);
  const centers = Array.from({ length: CLUSTERS }, () => randomUnit(next, DIM));
  const clustered = () => near(next, centers[Math.floor(next() * CLUSTERS)]!, SPREAD);

  const tenantId = (
    await db.query<{ id: string }>(`INSERT INTO tenants (slug, name) VALUES ('bench', 'bench') RETURNING id`)
  ).rows[0]!.id;
  const submissionId = (
    await db.query<{ id: string }>(
      `INSERT INTO submissions (tenant_id, request_hash, correlation_id) VALUES ($1, 'h', 'bench') RETURNING id`,
      [tenantId],
    )
  ).rows[0]!.id;

  async function createPosts(count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, () => randomUUID());
    for (let i = 0; i < ids.length; i += 5000) {
      const slice = ids.slice(i, i + 5000);
      await db.query(
        `INSERT INTO posts (id, tenant_id, submission_id, correlation_id, status) ` +
          `SELECT u, $2, $3, 'bench', 'published' FROM unnest($1::uuid[]) AS u`,
        [slice, tenantId, submissionId],
      );
    }
    return ids;
  }

  // 1. The corpus: N chunks, loaded with their vectors, then the HNSW index built over them.
  const loadPosts = Math.ceil((N - UPSERT_POSTS * CHUNKS_PER_POST) / CHUNKS_PER_POST);
  log(`loading ${loadPosts * CHUNKS_PER_POST} clustered ${DIM}-d chunks (${CLUSTERS} clusters) …`);
  const corpusPosts = await createPosts(loadPosts);
  for (let i = 0; i < corpusPosts.length; i += 100) {
    const posts = corpusPosts.slice(i, i + 100);
    const rows = posts.flatMap((postId) =>
      Array.from({ length: CHUNKS_PER_POST }, (_, position) => ({ postId, position, vector: clustered() })),
    );
    await db.query(
      `INSERT INTO post_chunks (post_id, position, tenant_id, content, token_count, content_hash, embedding_model,
         embedding)
       SELECT u.post_id, u.position, $1, 'bench', 10, md5(u.post_id::text || u.position), $2, u.embedding::vector
         FROM unnest($3::uuid[], $4::int[], $5::text[]) AS u(post_id, position, embedding)`,
      [
        tenantId,
        space.model,
        rows.map((r) => r.postId),
        rows.map((r) => r.position),
        rows.map((r) => pgvector.toSql(r.vector)),
      ],
    );
  }
  log('building the HNSW index …');
  const [, buildMs] = await timed(() => ensurePgvectorIndex(db, space));

  // 2. Upserts through the backend, with the index live, against plain INSERTs of the same vectors.
  const upsertPosts = await createPosts(UPSERT_POSTS);
  await db.query(
    `INSERT INTO post_chunks (post_id, position, tenant_id, content, token_count, content_hash)
     SELECT p, g, $1, 'bench', 10, md5(p::text || g) FROM unnest($2::uuid[]) AS p, generate_series(0,
       ${CHUNKS_PER_POST - 1}) AS g`,
    [tenantId, upsertPosts],
  );
  const upsertVectors = upsertPosts.map(() =>
    Array.from({ length: CHUNKS_PER_POST }, (_, position) => ({ position, vector: clustered() })),
  );
  const pgIndex = createPgvectorIndex(db, { efSearch: 40 });
  const upsertChunks = UPSERT_POSTS * CHUNKS_PER_POST;

  log(`upserting ${upsertChunks} chunks through the pgvector backend …`);
  const [, upsertMs] = await timed(async () => {
    for (let i = 0; i < upsertPosts.length; i++)
      await pgIndex.upsertPost({ postId: upsertPosts[i]!, tenantId }, space, upsertVectors[i]!);
  });

  await db.query(`CREATE TABLE bench_plain (post_id uuid, position int, embedding vector(${DIM}))`);
  const plainInsert = (rows: { postId: string; position: number; vector: number[] }[]) =>
    db.query(
      `INSERT INTO bench_plain (post_id, position, embedding) SELECT * FROM unnest($1::uuid[], ` +
        `$2::int[], $3::text[]::vector[])`,
      [rows.map((r) => r.postId), rows.map((r) => r.position), rows.map((r) => pgvector.toSql(r.vector))],
    );
  const allRows = upsertPosts.flatMap((postId, i) => upsertVectors[i]!.map((c) => ({ postId, ...c })));
  const [, plainPerPostMs] = await timed(async () => {
    for (let i = 0; i < upsertPosts.length; i++)
      await plainInsert(allRows.slice(i * CHUNKS_PER_POST, (i + 1) * CHUNKS_PER_POST));
  });
  await db.query('TRUNCATE bench_plain');
  const [, plainBatchMs] = await timed(async () => {
    for (let i = 0; i < allRows.length; i += 1000) await plainInsert(allRows.slice(i, i + 1000));
  });

  let qdrant: { index: VectorIndex; upsertMs: number } | null = null;
  if (process.env.QDRANT_URL) {
    const index = createQdrantIndex({
      url: process.env.QDRANT_URL,
      apiKey: process.env.QDRANT_API_KEY,
      collectionPrefix: `bench_${randomBytes(3).toString('hex')}`,
      efSearch: 40,
    });
    log('upserting the corpus into Qdrant …');
    const vectors = await db.query<{ post_id: string; position: number; embedding: number[] }>(
      `SELECT post_id, position, embedding::real[] AS embedding FROM post_chunks ` +
        `WHERE embedding IS NOT NULL AND post_id <> ALL($1::uuid[]) ORDER BY post_id, ` +
        `position`,
      [upsertPosts],
    );
    for (const [postId, rows] of Map.groupBy(vectors.rows, (r) => r.post_id)) {
      await index.upsertPost(
        { postId, tenantId },
        space,
        rows.map((r) => ({ position: r.position, vector: r.embedding })),
      );
    }
    const [, ms] = await timed(async () => {
      for (let i = 0; i < upsertPosts.length; i++)
        await index.upsertPost({ postId: upsertPosts[i]!, tenantId }, space, upsertVectors[i]!);
    });
    qdrant = { index, upsertMs: ms };
  }

  // 3. Search: HNSW at several ef_search values against exact search over the same rows.
  await db.query('ANALYZE post_chunks');
  const queries = Array.from({ length: QUERIES }, () => clustered());
  const exact: string[][] = [];
  const exactMs: number[] = [];
  log(`running ${QUERIES} exact searches …`);
  for (const q of queries) {
    const [rows, ms] = await timed(() =>
      db.tx(async (client) => {
        await client.query('SET LOCAL enable_indexscan = off');
        await client.query('SET LOCAL enable_bitmapscan = off');
        const { rows } = await client.query<{ post_id: string; position: number }>(
          `SELECT post_id, position FROM post_chunks
            WHERE embedding_model = $1 AND tenant_id = $2
            ORDER BY (embedding::vector(${DIM})) <=> $3::vector(${DIM}) LIMIT 10`,
          [space.model, tenantId, pgvector.toSql(q)],
        );
        return rows;
      }),
    );
    exact.push(rows.map((r) => `${r.post_id}:${r.position}`));
    exactMs.push(ms);
  }
  const plan = await db.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN SELECT post_id FROM post_chunks WHERE embedding_model = ${pg.escapeLiteral(space.model)} AND tenant_id = $1
      ORDER BY (embedding::vector(${DIM})) <=> $2::vector(${DIM}) LIMIT 10`,
    [tenantId, pgvector.toSql(queries[0]!)],
  );
  const usesHnsw = plan.rows.some((r) => r['QUERY PLAN'].includes('post_chunks_hnsw_'));

  const searchRows: { name: string; p50: number; p99: number; recall: number }[] = [];
  const measure = async (name: string, index: VectorIndex) => {
    const ms: number[] = [];
    let found = 0;
    for (let i = 0; i < queries.length; i++) {
      const [hits, t] = await timed(() => index.search(tenantId, space, queries[i]!, { limit: 10 }));
      ms.push(t);
      const truth = new Set(exact[i]);
      found += hits.filter((h) => truth.has(`${h.postId}:${h.position}`)).length;
    }
    ms.sort((a, b) => a - b);
    searchRows.push({ name, p50: percentile(ms, 50), p99: percentile(ms, 99), recall: found / (queries.length * 10) });
  };
  for (const ef of EF_SEARCH) {
    log(`running ${QUERIES} HNSW searches at ef_search=${ef} …`);
    await measure(`pgvector HNSW, ef_search=${ef}`, createPgvectorIndex(db, { efSearch: ef }));
  }
  if (qdrant) await measure('Qdrant (QDRANT_URL), hnsw_ef=40', qdrant.index);
  exactMs.sort((a, b) => a - b);

  const total = (
    await db.query<{ n: number }>('SELECT count(*)::int AS n FROM post_chunks WHERE embedding IS NOT NULL')
  ).rows[0]!.n;
  const rate = (chunks: number, ms: number) => chunks / (ms / 1000);
  const plainRate = rate(upsertChunks, plainPerPostMs);
  const fmt = (x: number, d = 1) => x.toFixed(d);

  const version = async (sql: string) => (await db.query<{ v: string }>(sql)).rows[0]!.v;
  const postgresVersion = await version(`SELECT current_setting('server_version') AS v`);
  const pgvectorVersion = await version(`SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'`);

  const out = [
    `## Vector index benchmark`,
    '',
    `${total} chunks of ${DIM}-d clustered vectors (${CLUSTERS} clusters, noise ` +
      `σ=${SPREAD}/dimension), one tenant; PostgreSQL ${postgresVersion}, pgvector ${pgvectorVersion}.`,
    `HNSW: m = ${pgvectorDefaults.m}, ef_construction = ${pgvectorDefaults.efConstruction}, ` +
      `cosine; built over ${total - upsertChunks} chunks in ${fmt(buildMs / 1000)} ` +
      `s. Search plan uses the HNSW index: ${usesHnsw ? 'yes' : 'NO'}.`,
    '',
    '### Upserts',
    '',
    `| path | chunks | time (s) | chunks/s | vs plain INSERT per post |`,
    `| --- | ---: | ---: | ---: | ---: |`,
    `| plain multi-row INSERT, 10 rows per statement (baseline) | ${upsertChunks} ` +
      `| ${fmt(plainPerPostMs / 1000, 2)} | ${fmt(plainRate, 0)} | 1.00× |`,
    `| plain multi-row INSERT, 1,000 rows per statement | ${upsertChunks} | ` +
      `${fmt(plainBatchMs / 1000, 2)} | ${fmt(rate(upsertChunks, plainBatchMs), 0)} ` +
      `| ${fmt(rate(upsertChunks, plainBatchMs) / plainRate, 2)}× |`,
    `| pgvector backend upsertPost (10 chunks per call, HNSW maintained) | ` +
      `${upsertChunks} | ${fmt(upsertMs / 1000, 2)} | ${fmt(rate(upsertChunks, upsertMs), 0)} ` +
      `| ${fmt(rate(upsertChunks, upsertMs) / plainRate, 2)}× |`,
    ...(qdrant
      ? [
          `| Qdrant backend upsertPost (QDRANT_URL, wait=true) | ${upsertChunks} ` +
            `| ${fmt(qdrant.upsertMs / 1000, 2)} | ${fmt(rate(upsertChunks, qdrant.upsertMs), 0)} ` +
            `| ${fmt(rate(upsertChunks, qdrant.upsertMs) / plainRate, 2)}× |`,
        ]
      : []),
    '',
    `### Search (${QUERIES} queries, top 10)`,
    '',
    `| search | p50 (ms) | p99 (ms) | p50 vs exact | recall@10 |`,
    `| --- | ---: | ---: | ---: | ---: |`,
    `| exact (sequential scan; baseline) | ${fmt(percentile(exactMs, 50), 2)} ` +
      `| ${fmt(percentile(exactMs, 99), 2)} | 1.00× | 1.000 |`,
    ...searchRows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.p50 / percentile(exactMs, 50), 3)}× ` +
        `| ${fmt(r.recall, 3)} |`,
    ),
    '',
  ];
  console.log(out.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
