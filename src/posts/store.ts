import type { Db, Queryable } from '../db/pool.ts';
import { PermanentError } from '../errors.ts';
import type { PostLanguage } from '../llm/brief.ts';
import type { GeneratedPost } from '../llm/post.ts';
import type { SourceDoc } from '../llm/types.ts';
import type { SeoReport } from '../seo/lint.ts';
import { markdownToSafeHtml } from '../text/html.ts';
import { parseTenantSettings, type TenantSettings, tenantSettingsColumn } from '../tenant-settings.ts';
import { revisionOfWrite } from './revisions.ts';
import { type ChunkWithVector, chunkVectorsColumn } from '../vector/post-index.ts';
import { hasRelatedColumn } from '../vector/internal-links.ts';
import type { PostRead } from './status.ts';

// The posts table's queries for the stages that write and link a post, and for the failed-post sweep. The status
// is not among them: src/posts/status.ts alone writes it.

/** A source as the writer reads it, with the language its page declared (`<html lang>`), as ingest recorded it. */
export type WritingSource = {
  id: string;
  kind: SourceDoc['kind'];
  title: string | null;
  url: string | null;
  siteName: string | null;
  content: string | null;
  lang: string | null;
};

/**
 * What generate needs of a post: its tenant and its settings, whether an operator approved it, the submission's
 * options, and its sources in the order they were given.
 */
export type PostForWriting = {
  tenant_id: string;
  approved_at: Date | null;
  options: unknown;
  settings: TenantSettings;
  sources: WritingSource[];
};

export const postForWriting: PostRead<PostForWriting> = {
  sql: `SELECT p.tenant_id, p.approved_at, s.options, ${tenantSettingsColumn},
               (SELECT COALESCE(json_agg(json_build_object('id', x.id, 'kind', x.kind, 'title', x.title, 'url', x.url,
                  'siteName', x.site_name, 'content', x.content, 'lang', x.metadata->>'lang') ORDER BY x.created_at, x.id), '[]')
                  FROM sources x WHERE x.submission_id = p.submission_id) AS sources
          FROM posts p JOIN submissions s ON s.id = p.submission_id WHERE p.id = $1`,
  map: (row) => ({
    tenant_id: row.tenant_id as string,
    approved_at: row.approved_at as Date | null,
    options: row.options,
    settings: parseTenantSettings(row.tenant_settings),
    sources: row.sources as WritingSource[],
  }),
};

/**
 * Stores what generate wrote, with its reports, in one statement: the draft and its reports on the post, the draft
 * as the post's next revision (./revisions.ts; none when it equals the latest), and the post's slug. A post keeps
 * the slug it has; otherwise it takes the first free one of base, base-2, base-3…, the candidates probed inside
 * PostgreSQL (one index look-up each). Two posts claiming the same free candidate at once: the second waits for the
 * first to commit, fails on the unique index and looks again. Returns the slug.
 */
export async function saveWrittenPost(
  db: Db,
  postId: string,
  post: GeneratedPost,
  reports: { seo: SeoReport; grounding: unknown; language: PostLanguage },
): Promise<string> {
  const params = [
    postId,
    post.title,
    post.markdown,
    markdownToSafeHtml(post.markdown),
    post.metaDescription,
    post.tags,
    JSON.stringify(post.citations),
    post.wordCount,
    post.writer,
    post.metaTitle,
    post.category,
    post.readingTimeMinutes,
    JSON.stringify(post.jsonLd),
    JSON.stringify(post.heroImage),
    reports.seo.score,
    JSON.stringify(reports.seo),
    JSON.stringify(reports.grounding),
    JSON.stringify(reports.language),
    post.slug,
  ];
  const revision = revisionOfWrite({
    author: '$9::text',
    title: '$2::text',
    metaTitle: '$10::text',
    metaDescription: '$5::text',
    markdown: '$3::text',
    tags: '$6::text[]',
    wordCount: '$8::int',
    seoScore: '$15::int',
    seoReport: '$16',
    grounding: '$17',
  });
  for (let race = 0; race < 20; race++) {
    try {
      const { rows } = await db.query<{ slug: string | null }>(
        `WITH RECURSIVE me AS (SELECT tenant_id, slug FROM posts WHERE id = $1),
              probe(n) AS (
                SELECT 1 WHERE (SELECT slug FROM me) IS NULL
                UNION ALL
                SELECT n + 1 FROM probe
                 WHERE n < 1000
                   AND EXISTS (SELECT 1 FROM posts q, me
                                WHERE q.tenant_id = me.tenant_id AND q.id <> $1
                                  AND q.slug = CASE WHEN probe.n = 1 THEN $19::text ELSE $19::text || '-' || probe.n END)),
              saved AS (
                UPDATE posts SET title = $2, markdown = $3, html = $4, meta_description = $5, tags = $6, citations = $7,
                       word_count = $8, writer = $9, meta_title = $10, category = $11, reading_time_minutes = $12,
                       json_ld = $13, hero_image = $14, seo_score = $15, seo_report = $16, grounding = $17,
                       language = $18, updated_at = now(),
                       slug = COALESCE(posts.slug, (SELECT CASE WHEN max(n) = 1 THEN $19::text
                                                                ELSE $19::text || '-' || max(n) END FROM probe))
                 WHERE id = $1 RETURNING slug, tenant_id),
              ${revision}
         SELECT slug FROM saved`,
        params,
      );
      const slug = rows[0]?.slug;
      if (!slug) throw new PermanentError(`post ${postId} does not exist`);
      return slug;
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
    }
  }
  throw new PermanentError(`no free slug for "${post.slug}"`);
}

/**
 * What index needs of a post: its tenant and its settings, body, approval, its chunks with their cached vectors
 * under the embedding model (`$2`), and whether it has related-post suggestions from an earlier run.
 */
export type PostForIndexing = {
  tenant_id: string;
  markdown: string | null;
  approved_at: Date | null;
  settings: TenantSettings;
  chunks: ChunkWithVector[];
  hasRelated: boolean;
};

export const postForIndexing = (embeddingModel: string): PostRead<PostForIndexing> => ({
  sql: `SELECT p.tenant_id, p.markdown, p.approved_at, ${tenantSettingsColumn}, ${chunkVectorsColumn('$2')},
               ${hasRelatedColumn}
          FROM posts p WHERE p.id = $1`,
  params: [embeddingModel],
  map: (row) => ({
    tenant_id: row.tenant_id as string,
    markdown: row.markdown as string | null,
    approved_at: row.approved_at as Date | null,
    settings: parseTenantSettings(row.tenant_settings),
    chunks: row.chunks as ChunkWithVector[],
    hasRelated: row.has_related as boolean,
  }),
});

/** A new body (its HTML rendered from it), e.g. with its related-posts block rewritten. */
export async function setMarkdown(db: Queryable, postId: string, markdown: string): Promise<void> {
  await db.query('UPDATE posts SET markdown = $2, html = $3, updated_at = now() WHERE id = $1', [
    postId,
    markdown,
    markdownToSafeHtml(markdown),
  ]);
}

/**
 * Posts that failed on a transient error at least `minAgeMs` ago and have had fewer than `maxRetries` sweeps, oldest
 * first: their last stage run was not permanent.
 */
export async function failedPostsToRetry(
  db: Db,
  minAgeMs: number,
  maxRetries: number,
): Promise<Array<{ id: string; failed_stage: string }>> {
  const { rows } = await db.query<{ id: string; failed_stage: string }>(
    `SELECT p.id, p.failed_stage FROM posts p
      WHERE p.status = 'failed' AND p.sweep_retries < $2
        AND p.updated_at < now() - make_interval(secs => $1::double precision / 1000)
        AND NOT (SELECT r.permanent FROM stage_runs r WHERE r.post_id = p.id ORDER BY r.id DESC LIMIT 1)
      ORDER BY p.updated_at LIMIT 200`,
    [minAgeMs, maxRetries],
  );
  return rows;
}

export async function countSweepRetry(db: Db, postId: string): Promise<void> {
  await db.query('UPDATE posts SET sweep_retries = sweep_retries + 1 WHERE id = $1', [postId]);
}

/** The status of the tenant's post, or null when it has no such post. */
export async function statusOf(db: Db, tenantId: string, postId: string): Promise<string | null> {
  const { rows } = await db.query<{ status: string }>('SELECT status FROM posts WHERE id = $1 AND tenant_id = $2', [
    postId,
    tenantId,
  ]);
  return rows[0]?.status ?? null;
}
