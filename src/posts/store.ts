import type { Db, Queryable } from '../db/pool.ts';
import { PermanentError } from '../errors.ts';
import type { PostLanguage } from '../llm/brief.ts';
import type { GeneratedPost } from '../llm/post.ts';
import type { SourceDoc } from '../llm/types.ts';
import type { SeoReport } from '../seo/lint.ts';
import { markdownToSafeHtml } from '../text/html.ts';

// The posts table's queries for the stages that write and link a post, and for the failed-post sweep. The status
// is not among them: src/posts/status.ts alone writes it.

/** What generate needs of a post: its tenant, whether an operator approved it, the submission's options. */
export async function postForWriting(
  db: Db,
  postId: string,
): Promise<{ tenant_id: string; approved_at: Date | null; options: unknown } | null> {
  const { rows } = await db.query<{ tenant_id: string; approved_at: Date | null; options: unknown }>(
    `SELECT p.tenant_id, p.approved_at, s.options FROM posts p JOIN submissions s ON s.id = p.submission_id
      WHERE p.id = $1`,
    [postId],
  );
  return rows[0] ?? null;
}

/** A source as the writer reads it, with the language its page declared (`<html lang>`), as ingest recorded it. */
export type WritingSource = {
  id: string;
  kind: SourceDoc['kind'];
  title: string | null;
  url: string | null;
  content: string | null;
  lang: string | null;
};

/** The post's sources, in the order they were given. */
export async function sourcesForWriting(db: Db, postId: string): Promise<WritingSource[]> {
  const { rows } = await db.query<WritingSource>(
    `SELECT s.id, s.kind, s.title, s.url, s.content, s.metadata->>'lang' AS lang
       FROM sources s JOIN posts p ON p.submission_id = s.submission_id
      WHERE p.id = $1 ORDER BY s.created_at, s.id`,
    [postId],
  );
  return rows;
}

/** Stores what generate wrote, with its reports. */
export async function saveWrittenPost(
  db: Db,
  postId: string,
  post: GeneratedPost,
  reports: { seo: SeoReport; grounding: unknown; language: PostLanguage },
): Promise<void> {
  await db.query(
    `UPDATE posts SET title = $2, markdown = $3, html = $4, meta_description = $5, tags = $6, citations = $7,
            word_count = $8, writer = $9, meta_title = $10, category = $11, reading_time_minutes = $12, json_ld = $13,
            hero_image = $14, seo_score = $15, seo_report = $16, grounding = $17, language = $18, updated_at = now()
      WHERE id = $1`,
    [
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
    ],
  );
}

/**
 * Keeps the slug the post already has; otherwise takes the first free one of base, base-2, base-3…, found in one
 * statement: the candidates are probed inside PostgreSQL (one index look-up each) rather than one UPDATE a round
 * trip per taken candidate, which made a popular slug cost a statement per earlier post. Two posts claiming the
 * same free candidate at once: the second waits for the first to commit, fails on the unique index and looks again.
 */
export async function claimSlug(db: Db, postId: string, base: string): Promise<string> {
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
                                  AND q.slug = CASE WHEN probe.n = 1 THEN $2::text ELSE $2::text || '-' || probe.n END))
         UPDATE posts SET slug = COALESCE(posts.slug,
                  (SELECT CASE WHEN max(n) = 1 THEN $2::text ELSE $2::text || '-' || max(n) END FROM probe))
          WHERE id = $1 RETURNING slug`,
        [postId, base],
      );
      const slug = rows[0]?.slug;
      if (!slug) throw new PermanentError(`post ${postId} does not exist`);
      return slug;
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
    }
  }
  throw new PermanentError(`no free slug for "${base}"`);
}

/** What index needs of a post. */
export async function postForIndexing(
  db: Db,
  postId: string,
): Promise<{ tenant_id: string; markdown: string | null; approved_at: Date | null }> {
  const { rows } = await db.query<{ tenant_id: string; markdown: string | null; approved_at: Date | null }>(
    'SELECT tenant_id, markdown, approved_at FROM posts WHERE id = $1',
    [postId],
  );
  return rows[0]!;
}

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
