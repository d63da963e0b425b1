import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/pool.ts';

/** A small seeded PRNG (mulberry32), so vector fixtures are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller). */
export function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

export function unit(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

export function randomUnit(next: () => number, dimension: number): number[] {
  return unit(Array.from({ length: dimension }, () => gaussian(next)));
}

/** A point near `center`: center plus Gaussian noise of the given spread, normalised. */
export function near(next: () => number, center: number[], spread: number): number[] {
  return unit(center.map((x) => x + spread * gaussian(next)));
}

export async function createTenant(db: Db, slug: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO tenants (slug, name) VALUES ($1, $1) ON CONFLICT (slug) DO ` +
      `UPDATE SET name = EXCLUDED.name RETURNING id`,
    [slug],
  );
  return rows[0]!.id;
}

/**
 * A post row (with its submission) and `chunks` chunk rows, as the embed stage leaves them; the vector index
 * contract needs the rows because pgvector keeps vectors on them.
 */
export async function createPostWithChunks(
  db: Db,
  tenantId: string,
  chunks: number,
  opts: { status?: string; title?: string } = {},
): Promise<string> {
  const submission = await db.query<{ id: string }>(
    `INSERT INTO submissions (tenant_id, request_hash, correlation_id) VALUES ($1, 'h', $2) RETURNING id`,
    [tenantId, randomUUID()],
  );
  const post = await db.query<{ id: string }>(
    `INSERT INTO posts (tenant_id, submission_id, correlation_id, status, title) ` +
      `VALUES ($1, $2, 'c', $3, $4) RETURNING id`,
    [tenantId, submission.rows[0]!.id, opts.status ?? 'published', opts.title ?? null],
  );
  const postId = post.rows[0]!.id;
  await db.query(
    `INSERT INTO post_chunks (post_id, position, tenant_id, heading, content, token_count, content_hash)
     SELECT $1::uuid, p, $2, NULL, 'chunk ' || p, 10, md5($1::text || p) FROM generate_series(0, $3::int - 1) AS p`,
    [postId, tenantId, chunks],
  );
  return postId;
}
