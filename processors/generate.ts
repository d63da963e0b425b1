import { PermanentError } from '../src/errors.ts';
import { markdownToSafeHtml } from '../src/text/html.ts';
import type { SourceDoc } from '../src/providers/types.ts';
import type { StageProcessor } from '../src/stage-runner.ts';
import type { Db } from '../src/db/pool.ts';

type SourceRow = { id: string; kind: SourceDoc['kind']; title: string | null; url: string | null; content: string | null };

/**
 * Generate: writes the post from its ingested sources with the configured writer, renders
 * sanitised HTML, and gives it a slug unique within the tenant (kept on a re-run).
 */
export const generate: StageProcessor = async (job, ctx) => {
  const { rows } = await ctx.db.query<SourceRow>(
    `SELECT s.id, s.kind, s.title, s.url, s.content
       FROM sources s JOIN posts p ON p.submission_id = s.submission_id
      WHERE p.id = $1 ORDER BY s.created_at, s.id`,
    [job.postId],
  );
  const sources: SourceDoc[] = rows
    .filter((r) => r.content)
    .map((r) => ({ id: r.id, kind: r.kind, title: r.title, url: r.url, text: r.content! }));
  // Ingest completed before this stage was enqueued, so missing content means the data is gone.
  if (sources.length === 0) throw new PermanentError('no ingested source text to write from');

  const { writer } = ctx.providers;
  const draft = await writer.write({ sources });
  const html = markdownToSafeHtml(draft.markdown);

  await ctx.db.query(
    `UPDATE posts SET title = $2, markdown = $3, html = $4, meta_description = $5, tags = $6, citations = $7,
            word_count = $8, writer = $9, updated_at = now()
      WHERE id = $1`,
    [job.postId, draft.title, draft.markdown, html, draft.metaDescription, draft.tags, JSON.stringify(draft.citations), draft.wordCount, `${writer.provider}/${writer.model}`],
  );
  const slug = await claimSlug(ctx.db, job.postId, draft.slug);
  ctx.log.debug({ slug, words: draft.wordCount }, 'post written');
};

/** Keeps the slug the post already has; otherwise takes the first free one of base, base-2, base-3… */
async function claimSlug(db: Db, postId: string, base: string): Promise<string> {
  for (let n = 1; n < 1000; n++) {
    const candidate = n === 1 ? base : `${base}-${n}`;
    try {
      const { rows } = await db.query<{ slug: string }>(
        `UPDATE posts SET slug = COALESCE(slug, $2) WHERE id = $1 RETURNING slug`,
        [postId, candidate],
      );
      return rows[0]!.slug;
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
    }
  }
  throw new PermanentError(`no free slug for "${base}"`);
}
