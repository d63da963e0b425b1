import { createHash } from 'node:crypto';
import { isPermanent, PermanentError } from '../src/errors.ts';
import { createConfiguredFetcher, FetchError, type SafeFetcher } from '../src/fetch/index.ts';
import { collect, type CollectorKind } from '../src/ingest/collect.ts';
import { fanOut } from '../src/ingest/fan-out.ts';
import {
  saveCollectSummary,
  saveSourceText,
  type SourceKind,
  type SourceRow,
  type SourceText,
  sourceTextsWrite,
} from '../src/ingest/store.ts';
import { type PostForIngest, postForIngest, publishedTopics, setBriefKeywords } from '../src/posts/topic-briefs.ts';
import { fingerprintSource, fingerprintsOf, type DuplicateMatch } from '../src/ingest/dedup.ts';
import { coverage, extractKeywords, keywordTerms } from '../src/ingest/keywords.ts';
import { notAnArticle } from '../src/ingest/article-gate.ts';
import { extractArticle, extractFromText, type ExtractedArticle } from '../src/ingest/extract.ts';
import { fetchPage } from '../src/ingest/fetch-page.ts';
import type { ArticleFacts } from '../src/ingest/source-store.ts';
import { handOn, type StageOutcome, stop } from '../src/posts/lifecycle.ts';
import type { StageContext, StageProcessor } from '../src/stage-runner.ts';

type PostRow = PostForIngest;
type Ingested = {
  title: string | null;
  markdown: string;
  metadata: Record<string, unknown>;
  /** What a fetched page said about its article. */
  facts?: ArticleFacts;
};

const COLLECTORS = new Set<SourceKind>(['feed', 'sitemap', 'site']);
/** A feed entry shorter than this is a teaser: its page is fetched for the full text. */
const FULL_ENTRY_WORDS = 120;

/**
 * Ingest: turns each source of the post's submission into clean text. Text and Markdown are
 * normalised; a page is fetched safely and its main content extracted; a feed entry uses the content
 * the feed carried (or its page, for a teaser). A feed, sitemap or site fans out into one post per
 * new entry and ends here as `expanded`. A source the tenant already has ends the post as
 * `duplicate`, and a topic a published post already covers ends it as `skipped`; neither is an error.
 * Running it again rewrites the same rows.
 */
export const ingest: StageProcessor = async (job, ctx) => {
  const post = await ctx.load(postForIngest);
  const { sources } = post;
  if (sources.length === 0) throw new PermanentError('the submission has no sources');
  const fetcher = createConfiguredFetcher(ctx.config, ctx.redis);

  const collectors = sources.filter((s) => COLLECTORS.has(s.kind));
  if (collectors.length > 0) {
    await expand(job.correlationId, post, collectors, fetcher, ctx);
    return stop('expanded');
  }

  // With dedup off and no topic to check, nothing reads the texts before generate: they are saved as the stage's last
  // write, with its run's close. Otherwise each is saved as it is read, for the checks below.
  const checked = ctx.config.DEDUP_MODE !== 'off' || Boolean(post.topic_brief);
  const texts: Array<{ source: SourceRow; markdown: string; text: SourceText }> = [];
  for (const source of sources) {
    const doc = await ingestSource(source, fetcher, ctx);
    if (!doc.markdown.trim()) throw new PermanentError(`source ${source.url ?? source.id} has no readable text`);
    // With dedup off, recording the text's fingerprints needs no check against other sources: same statement.
    const fingerprints = ctx.config.DEDUP_MODE === 'off' ? fingerprintsOf(doc.markdown) : undefined;
    const text = { ...doc, hash: sha256(doc.markdown), fingerprints };
    if (checked) await saveSourceText(ctx.db, source.id, text);
    texts.push({ source, markdown: doc.markdown, text });
  }

  const duplicates: DuplicateMatch[] = [];
  for (const { source, markdown } of ctx.config.DEDUP_MODE === 'off' ? [] : texts) {
    const match = await fingerprintSource(ctx.db, {
      tenantId: post.tenant_id,
      sourceId: source.id,
      submissionId: post.submission_id,
      text: markdown,
      mode: ctx.config.DEDUP_MODE,
      maxDistance: ctx.config.DEDUP_NEAR_DISTANCE,
    });
    if (match) duplicates.push(match);
  }
  if (duplicates.length === texts.length) {
    const first = duplicates[0]!;
    const reason =
      first.match === 'exact'
        ? `the same text as post ${first.postId} (source ${first.sourceId})`
        : `nearly the same text as post ${first.postId} (source ${first.sourceId}; ` +
          `SimHash distance ${first.distance} of 64 bits)`;
    ctx.log.info({ duplicateOf: first.postId, match: first.match }, 'duplicate source; post stops here');
    return stopPost('duplicate', `duplicate: ${reason}`, { duplicates }, first.postId);
  }

  if (post.topic_brief) {
    const skipped = await topicAlreadyCovered(
      ctx,
      job.postId,
      post.tenant_id,
      texts.map((t) => t.markdown).join('\n\n'),
    );
    if (skipped) return skipped;
  }
  ctx.log.debug({ sources: sources.length }, 'sources ingested');
  return checked
    ? handOn()
    : handOn(sourceTextsWrite(texts.map(({ source, text }) => ({ sourceId: source.id, text }))));
};

/** Fans a feed, sitemap or site out: each new entry becomes a post of its own submission. */
async function expand(
  correlationId: string,
  post: PostRow,
  collectors: SourceRow[],
  fetcher: SafeFetcher,
  ctx: StageContext,
): Promise<void> {
  if (!ctx.queues) throw new Error('ingest needs the pipeline queues to fan a feed out');
  for (const source of collectors) {
    const collected = await withPermanentFetchErrors(source.url!, () =>
      collect(
        { db: ctx.db, fetcher, config: ctx.config, log: ctx.log },
        { tenantId: post.tenant_id, kind: source.kind as CollectorKind, url: source.url! },
      ),
    );
    const result = await fanOut(
      { db: ctx.db, queues: ctx.queues, config: ctx.config, log: ctx.log },
      {
        tenantId: post.tenant_id,
        parent: { submissionId: post.submission_id, correlationId, options: post.options },
        collected,
      },
    );
    const summary = {
      resolvedKind: collected.kind,
      resolvedUrl: collected.url,
      notModified: collected.notModified,
      entries: collected.entries.length,
      newEntries: result.newEntries,
      posts: result.created.length,
      joinedBriefs: result.joined.length,
    };
    await saveCollectSummary(ctx.db, source.id, summary);
    ctx.log.info({ url: source.url, ...summary }, 'collected');
  }
}

async function ingestSource(source: SourceRow, fetcher: SafeFetcher, ctx: StageContext): Promise<Ingested> {
  switch (source.kind) {
    case 'text':
    case 'markdown': {
      const { title, markdown } = extractFromText(source.input_text ?? '', source.title);
      return { title, markdown, metadata: {} };
    }
    case 'feed_entry': {
      const carried = source.input_text ?? '';
      const words = carried.split(/\s+/).filter(Boolean).length;
      if (words >= FULL_ENTRY_WORDS || !source.url) {
        const { title, markdown } = extractFromText(carried, source.title);
        return { title, markdown, metadata: { from: 'feed' } };
      }
      try {
        return { ...(await ingestUrl(source.url, fetcher, ctx)), title: source.title };
      } catch (err) {
        // The page is gone, refused or holds no article, but the feed gave us some text: write from that.
        if (isPermanent(err) && words > 0) {
          const { title, markdown } = extractFromText(carried, source.title);
          return { title, markdown, metadata: { from: 'feed', pageError: err.message } };
        }
        throw err;
      }
    }
    case 'url':
      return ingestUrl(source.url!, fetcher, ctx);
    default:
      throw new PermanentError(`source kind ${source.kind} cannot be ingested as text`);
  }
}

async function ingestUrl(url: string, fetcher: SafeFetcher, ctx: StageContext): Promise<Ingested> {
  const page = await withPermanentFetchErrors(url, () => fetchPage(url, { fetcher }));
  ctx.log.debug({ url: page.url, charset: page.charset }, 'page fetched');
  const html = /html/.test(page.contentType);
  const article: ExtractedArticle = html ? extractArticle(page.body, page.url) : extractFromText(page.body, null);
  // A page whose text is a footer, a consent box or a list of links is not something to write a post from.
  const problem = html ? notAnArticle(article) : null;
  if (problem) throw new PermanentError(`no article found at ${url}: ${problem}`);
  const facts: ArticleFacts = {
    author: article.byline,
    publishedAt: article.publishedAt ?? null,
    modifiedAt: article.modifiedAt ?? null,
    canonicalUrl: article.canonicalUrl ?? null,
    lang: article.lang,
    siteName: article.siteName ?? null,
    leadImage: article.leadImage ?? null,
  };
  return {
    title: article.title,
    markdown: article.markdown,
    facts,
    metadata: {
      finalUrl: page.url,
      contentType: page.contentType,
      charset: page.charset,
      byline: article.byline,
      lang: article.lang,
      excerpt: article.excerpt,
      canonicalUrl: facts.canonicalUrl,
      publishedAt: facts.publishedAt,
      modifiedAt: facts.modifiedAt,
      siteName: facts.siteName,
      leadImage: facts.leadImage,
      headings: article.headings ?? [],
      links: (article.links ?? []).slice(0, 200),
    },
  };
}

async function withPermanentFetchErrors<T>(url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FetchError && err.permanent) throw new PermanentError(`fetching ${url} failed: ${err.message}`);
    throw err;
  }
}

/** Ends a post without an error. It is left resumable from generate, for an operator who wants it anyway. */
function stopPost(
  status: 'duplicate' | 'skipped',
  reason: string,
  details: unknown,
  duplicateOf: string | null,
): StageOutcome {
  return stop(status, { reason, heldStage: 'ingest', details, duplicateOf });
}

/** A post made from feed entries is skipped when a published post of the tenant already covers its keywords. */
async function topicAlreadyCovered(
  ctx: StageContext,
  postId: string,
  tenantId: string,
  text: string,
): Promise<StageOutcome | null> {
  const keywords = extractKeywords(text, 8);
  await setBriefKeywords(ctx.db, postId, keywords);
  const terms = keywordTerms(keywords);
  for (const published of await publishedTopics(ctx.db, tenantId, postId)) {
    const covered = keywordTerms([
      ...extractKeywords(`${published.title ?? ''}. ${published.meta_description ?? ''}`, 16),
      ...published.tags,
    ]);
    const share = coverage(terms, covered);
    if (share >= ctx.config.BRIEF_COVERED_THRESHOLD) {
      const reason =
        `skipped: published post ${published.id} ("${published.title}") already ` +
        `covers ${Math.round(share * 100)}% of this brief's keywords`;
      ctx.log.info({ coveredBy: published.id }, 'topic already covered; post skipped');
      return stopPost('skipped', reason, { keywords, coveredBy: published.id, coverage: share }, null);
    }
  }
  return null;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
