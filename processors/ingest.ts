import { createHash } from 'node:crypto';
import { PermanentError } from '../src/errors.ts';
import { extractArticle, extractFromText } from '../src/providers/extract.ts';
import { fetchPage, FetchError } from '../src/providers/fetch-page.ts';
import type { StageContext, StageProcessor } from '../src/stage-runner.ts';

type SourceRow = { id: string; kind: 'text' | 'markdown' | 'url'; url: string | null; title: string | null; input_text: string | null };
type Ingested = { title: string | null; markdown: string; metadata: Record<string, unknown> };

/**
 * Ingest: turns each source of the post's submission into clean text. Text and Markdown are
 * normalised; a URL is fetched and its main content extracted. Running it again rewrites the same rows.
 */
export const ingest: StageProcessor = async (job, ctx) => {
  const { rows: sources } = await ctx.db.query<SourceRow>(
    `SELECT s.id, s.kind, s.url, s.title, s.input_text
       FROM sources s JOIN posts p ON p.submission_id = s.submission_id
      WHERE p.id = $1 ORDER BY s.created_at, s.id`,
    [job.postId],
  );
  if (sources.length === 0) throw new PermanentError('the submission has no sources');

  for (const source of sources) {
    const doc = source.kind === 'url' ? await ingestUrl(source, ctx) : ingestText(source);
    if (!doc.markdown.trim()) throw new PermanentError(`source ${source.url ?? source.id} has no readable text`);
    await ctx.db.query(
      `UPDATE sources SET content = $2, title = COALESCE(title, $3), content_hash = $4, metadata = $5, fetched_at = now()
        WHERE id = $1`,
      [source.id, doc.markdown, doc.title, sha256(doc.markdown), doc.metadata],
    );
  }
  ctx.log.debug({ sources: sources.length }, 'sources ingested');
};

function ingestText(source: SourceRow): Ingested {
  const { title, markdown } = extractFromText(source.input_text ?? '', source.title);
  return { title, markdown, metadata: {} };
}

async function ingestUrl(source: SourceRow, ctx: StageContext): Promise<Ingested> {
  const url = source.url!;
  try {
    const page = await fetchPage(url, { timeoutMs: ctx.config.FETCH_TIMEOUT_MS, maxBytes: ctx.config.FETCH_MAX_BYTES });
    const article = page.contentType.includes('html') ? extractArticle(page.body, page.url) : { ...extractFromText(page.body, null), byline: null, lang: null, excerpt: null };
    return {
      title: article.title,
      markdown: article.markdown,
      metadata: { finalUrl: page.url, contentType: page.contentType, byline: article.byline, lang: article.lang, excerpt: article.excerpt },
    };
  } catch (err) {
    if (err instanceof FetchError && err.permanent) throw new PermanentError(`fetching ${url} failed: ${err.message}`);
    throw err;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
