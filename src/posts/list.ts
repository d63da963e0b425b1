import type { Db } from '../db/pool.ts';
import { approvableStatuses } from './lifecycle.ts';

// The editorial list of a tenant's posts: filtered, in a stable order, a page at a time. Pages are cut
// by keyset (the last row's sort key, carried in an opaque cursor), so posts arriving while someone
// pages never shift a page or show a post twice.

export type ListOrder = 'created' | 'held';

/**
 * Whether a post waits for a person. Written out literally because migrations/0011 indexes this very
 * expression (with the tenant, creation time and id), which makes `order=held` an index scan.
 */
export const HELD_SQL = `p.status = ANY ('{${approvableStatuses.join(',')}}'::text[])`;

export type ListCursor = { order: ListOrder; held: number; created: string; id: string };

export type PostListFilter = {
  statuses?: string[] | undefined;
  createdFrom?: Date | undefined;
  createdTo?: Date | undefined;
  publishedFrom?: Date | undefined;
  publishedTo?: Date | undefined;
  /** A destination id, or `files` for the built-in static site. */
  destination?: string | undefined;
  writer?: string | undefined;
  /** Words the title contains (case-insensitive substring). */
  q?: string | undefined;
  order: ListOrder;
  limit: number;
  cursor?: ListCursor | undefined;
};

export function encodeCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.order, cursor.held, cursor.created, cursor.id])).toString('base64url');
}

/** The cursor a previous page handed out, or null when the text is not one. */
export function decodeCursor(text: string): ListCursor | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 4) return null;
    const [order, held, created, id] = value as unknown[];
    if (order !== 'created' && order !== 'held') return null;
    if (held !== 0 && held !== 1) return null;
    if (typeof created !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(created)) return null;
    if (typeof id !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id))
      return null;
    return { order, held, created, id };
  } catch {
    return null;
  }
}

/**
 * Where a post goes, as the publish stage resolves it: the destinations it was published (or is being
 * published) to; else those its submission named; else the tenant's defaults; else the static site.
 * A lateral subquery over `p` (posts) and `s` (its submission), yielding `keys`.
 */
export const plannedDestinationsSql = `
  SELECT COALESCE(
    (SELECT array_agg(DISTINCT pu.destination) FROM publications pu WHERE pu.post_id = p.id),
    (SELECT array_agg(d) FROM jsonb_array_elements_text(
       CASE WHEN jsonb_typeof(s.options #> '{publish,destinations}') = 'array' THEN s.options #>
         '{publish,destinations}' ELSE '[]' END) d),
    (SELECT array_agg(dd.id::text ORDER BY dd.created_at, dd.id) FROM destinations dd
      WHERE dd.tenant_id = p.tenant_id AND dd.is_default AND dd.deleted_at IS NULL),
    ARRAY['files']
  ) AS keys`;

type ListRow = {
  id: string;
  title: string | null;
  status: string;
  held_stage: string | null;
  held_reason: string | null;
  failed_stage: string | null;
  failure_reason: string | null;
  word_count: number | null;
  seo_score: number | null;
  writer: string | null;
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
  created_key: string;
  held_rank: number;
  publish_at: string | null;
  cost_usd: number;
  destinations: string[];
};

export async function listPosts(db: Db, tenantId: string, filter: PostListFilter) {
  const params: unknown[] = [tenantId];
  const p = (value: unknown) => `$${params.push(value)}`;
  const where = ['p.tenant_id = $1'];
  if (filter.statuses?.length) where.push(`p.status = ANY(${p(filter.statuses)}::text[])`);
  if (filter.createdFrom) where.push(`p.created_at >= ${p(filter.createdFrom)}`);
  if (filter.createdTo) where.push(`p.created_at < ${p(filter.createdTo)}`);
  if (filter.publishedFrom) where.push(`p.published_at >= ${p(filter.publishedFrom)}`);
  if (filter.publishedTo) where.push(`p.published_at < ${p(filter.publishedTo)}`);
  if (filter.destination) where.push(`${p(filter.destination)} = ANY(dest.keys)`);
  if (filter.writer) where.push(`p.writer = ${p(filter.writer)}`);
  if (filter.q) where.push(`p.title ILIKE ${p(`%${filter.q.replace(/[\\%_]/g, '\\$&')}%`)} ESCAPE '\\'`);
  const held = `(${HELD_SQL})`;
  const c = filter.cursor;
  if (c) {
    where.push(
      filter.order === 'held'
        ? `(${held}, p.created_at, p.id) < (${p(c.held === 1)}::boolean, ${p(c.created)}::timestamptz, ` +
            `${p(c.id)}::uuid)`
        : `(p.created_at, p.id) < (${p(c.created)}::timestamptz, ${p(c.id)}::uuid)`,
    );
  }
  const order = filter.order === 'held' ? `${held} DESC, p.created_at DESC, p.id DESC` : 'p.created_at DESC, p.id DESC';

  const { rows } = await db.query<ListRow>(
    `SELECT p.id, p.title, p.status, p.held_stage, p.held_reason, p.failed_stage, p.failure_reason, p.word_count,
            p.seo_score, p.writer, p.created_at, p.updated_at, p.published_at,
            to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key,
            ${held}::int AS held_rank,
            COALESCE(pp.publish_at::text, s.options #>> '{publish,publishAt}') AS publish_at,
            (SELECT COALESCE(sum(l.cost_usd), 0)::float FROM llm_calls l WHERE l.post_id = p.id) AS cost_usd,
            dest.keys AS destinations
       FROM posts p
       JOIN submissions s ON s.id = p.submission_id
       LEFT JOIN post_publishing pp ON pp.post_id = p.id
       CROSS JOIN LATERAL (${plannedDestinationsSql}) dest
      WHERE ${where.join(' AND ')}
      ORDER BY ${order}
      LIMIT ${p(filter.limit + 1)}`,
    params,
  );
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  const names = await destinationNames(db, tenantId, [...new Set(page.flatMap((r) => r.destinations))]);
  return {
    items: page.map((r) => {
      const publishAt = r.publish_at ? new Date(r.publish_at) : null;
      return {
        id: r.id,
        title: r.title,
        status: r.status,
        hold: r.held_stage ? { stage: r.held_stage, reason: r.held_reason } : null,
        failure: r.failure_reason ? { stage: r.failed_stage, reason: r.failure_reason } : null,
        costUsd: r.cost_usd,
        wordCount: r.word_count,
        seoScore: r.seo_score,
        writer: r.writer,
        createdAt: r.created_at.toISOString(),
        updatedAt: r.updated_at.toISOString(),
        scheduledAt: publishAt && !Number.isNaN(publishAt.getTime()) ? publishAt.toISOString() : null,
        publishedAt: r.published_at?.toISOString() ?? null,
        destinations: r.destinations.map((key) => ({ key, name: names.get(key) ?? null })),
        links: { self: `/api/v1/posts/${r.id}`, content: `/api/v1/posts/${r.id}/content` },
      };
    }),
    nextCursor:
      rows.length > filter.limit && last
        ? encodeCursor({ order: filter.order, held: last.held_rank, created: last.created_key, id: last.id })
        : null,
  };
}

/** Names of destinations by key (deleted ones too: old publications point at them). */
export async function destinationNames(db: Db, tenantId: string, keys: string[]): Promise<Map<string, string>> {
  const names = new Map<string, string>([['files', 'static site']]);
  const ids = keys.filter((k) => k !== 'files');
  if (ids.length === 0) return names;
  const { rows } = await db.query<{ id: string; name: string }>(
    'SELECT id::text, name FROM destinations WHERE tenant_id = $1 AND id::text = ANY($2::text[])',
    [tenantId, ids],
  );
  for (const r of rows) names.set(r.id, r.name);
  return names;
}
