import { z } from 'zod';
import type { Db } from '../db/pool.ts';
import { closestSourceSentences } from '../grounding/evidence.ts';
import type { SourceDoc } from '../llm/types.ts';
import { markdownToSafeHtml } from '../text/html.ts';
import { snippet } from '../vector/similarity.ts';

// What an editor reads of a post: its text (Markdown and sanitised HTML), SEO fields and lint report,
// the grounding report with the source sentences closest to each flagged sentence, its citations with
// the sources behind them, and what its model calls cost.

type Queryable = Pick<Db, 'query'>;

export type PostSource = SourceDoc & { fetchedAt: Date | null; createdAt: Date };

/** The ingested sources of a post (the sources of its submission), oldest first; those without text are left out. */
export async function loadPostSources(db: Queryable, postId: string): Promise<PostSource[]> {
  const { rows } = await db.query<{
    id: string;
    kind: SourceDoc['kind'];
    title: string | null;
    url: string | null;
    content: string | null;
    fetched_at: Date | null;
    created_at: Date;
  }>(
    `SELECT s.id, s.kind, s.title, s.url, s.content, s.fetched_at, s.created_at
       FROM sources s JOIN posts p ON p.submission_id = s.submission_id
      WHERE p.id = $1 AND s.content IS NOT NULL ORDER BY s.created_at, s.id`,
    [postId],
  );
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    title: r.title,
    url: r.url,
    text: r.content!,
    fetchedAt: r.fetched_at,
    createdAt: r.created_at,
  }));
}

// The gate's report as stored on the post. Read leniently: the gate may gain fields, and a reason may
// one day be an object with a message.
const reasonSchema = z.union([z.string(), z.looseObject({ message: z.string() }).transform((r) => r.message)]);
export const storedGroundingSchema = z.looseObject({
  passed: z.boolean().catch(false),
  failingSentences: z
    .array(
      z.looseObject({
        sentence: z.string(),
        section: z.string().nullable().catch(null),
        reasons: z.array(reasonSchema).catch([]),
      }),
    )
    .catch([]),
  problems: z.array(reasonSchema).catch([]),
  citedSources: z.number().optional().catch(undefined),
  checkedSentences: z.number().optional().catch(undefined),
  disclaimers: z.array(z.string()).optional().catch(undefined),
});
export type StoredGrounding = z.infer<typeof storedGroundingSchema>;

const citationSchema = z.looseObject({
  sourceId: z.string(),
  title: z.string().catch(''),
  url: z.string().nullable().catch(null),
});

/** The grounding report with, beside each flagged sentence, the closest sentences of the post's sources. */
export async function groundingWithEvidence(grounding: StoredGrounding, sources: PostSource[]) {
  const closest = await closestSourceSentences(
    grounding.failingSentences.map((f) => f.sentence),
    sources,
  );
  const titles = new Map(sources.map((s) => [s.id, s.title]));
  return {
    ...grounding,
    failingSentences: grounding.failingSentences.map((f, i) => ({
      ...f,
      closestSources: (closest[i] ?? []).map((c) => ({ ...c, sourceTitle: titles.get(c.sourceId) ?? null })),
    })),
  };
}

type ContentRow = {
  id: string;
  status: string;
  title: string | null;
  meta_title: string | null;
  meta_description: string | null;
  slug: string | null;
  tags: string[];
  category: string | null;
  reading_time_minutes: number | null;
  word_count: number | null;
  hero_image: unknown;
  json_ld: unknown;
  writer: string | null;
  markdown: string | null;
  citations: unknown;
  seo_report: unknown;
  grounding: unknown;
  held_stage: string | null;
  held_reason: string | null;
  held_details: unknown;
  duplicate_of_post: string | null;
  revision: number | null;
  updated_at: Date;
};

export async function readPostContent(db: Db, tenantId: string, postId: string) {
  const { rows } = await db.query<ContentRow>(
    `SELECT p.id, p.status, p.title, p.meta_title, p.meta_description, p.slug, p.tags, p.category,
       p.reading_time_minutes,
            p.word_count, p.hero_image, p.json_ld, p.writer, p.markdown, p.citations, p.seo_report, p.grounding,
            p.held_stage, p.held_reason, p.held_details, p.duplicate_of_post, p.updated_at,
            (SELECT max(revision) FROM post_revisions r WHERE r.post_id = p.id) AS revision
       FROM posts p WHERE p.id = $1 AND p.tenant_id = $2`,
    [postId, tenantId],
  );
  const post = rows[0];
  if (!post) return null;
  const [sources, costs] = await Promise.all([
    loadPostSources(db, postId),
    db.query<{
      step: string;
      provider: string;
      model: string;
      calls: number;
      cached: number;
      prompt_tokens: number;
      completion_tokens: number;
      cost_usd: number;
    }>(
      `SELECT step, provider, model, count(*)::int AS calls, count(*) FILTER (WHERE cached)::int AS cached,
              sum(prompt_tokens)::int AS prompt_tokens, sum(completion_tokens)::int AS completion_tokens,
              sum(cost_usd)::float AS cost_usd
         FROM llm_calls WHERE post_id = $1 AND tenant_id = $2 GROUP BY step, provider, model ORDER BY min(id)`,
      [postId, tenantId],
    ),
  ]);

  const citations = z
    .array(citationSchema)
    .catch([])
    .parse(post.citations ?? []);
  const byId = new Map(sources.map((s) => [s.id, s]));
  const sourceView = (s: PostSource) => ({
    id: s.id,
    kind: s.kind,
    title: s.title,
    url: s.url,
    fetchedAt: s.fetchedAt?.toISOString() ?? null,
    words: s.text.split(/\s+/).filter(Boolean).length,
    // The source's opening, without its headings.
    excerpt: snippet(s.text.replace(/^#{1,6}\s+.*$/gm, ''), 280),
  });
  const parsedGrounding = post.grounding ? storedGroundingSchema.safeParse(post.grounding) : null;
  const grounding = parsedGrounding?.success ? await groundingWithEvidence(parsedGrounding.data, sources) : null;
  // The post this one repeats: a duplicate source found by ingest, or a near-duplicate post found by index.
  const heldDuplicate = z.object({ postId: z.uuid() }).safeParse(post.held_details);
  const duplicateOf =
    post.duplicate_of_post ??
    (post.status === 'duplicate_of' && heldDuplicate.success ? heldDuplicate.data.postId : null);

  return {
    id: post.id,
    status: post.status,
    revision: post.revision,
    title: post.title,
    metaTitle: post.meta_title,
    metaDescription: post.meta_description,
    slug: post.slug,
    tags: post.tags,
    category: post.category,
    readingTimeMinutes: post.reading_time_minutes,
    wordCount: post.word_count,
    heroImage: post.hero_image ?? null,
    jsonLd: post.json_ld ?? null,
    writer: post.writer,
    markdown: post.markdown,
    // Rendered on read with the current sanitiser, whatever the stored copy was made with.
    html: post.markdown === null ? null : markdownToSafeHtml(post.markdown),
    seo: post.seo_report ?? null,
    grounding,
    citations: citations.map((c, i) => {
      const source = byId.get(c.sourceId);
      return {
        number: i + 1,
        sourceId: c.sourceId,
        title: c.title,
        url: c.url,
        source: source ? sourceView(source) : null,
      };
    }),
    sources: sources.map((s) => ({
      ...sourceView(s),
      citedAs: citations.flatMap((c, i) => (c.sourceId === s.id ? [i + 1] : [])),
    })),
    costUsd: costs.rows.reduce((sum, r) => sum + r.cost_usd, 0),
    costs: costs.rows.map((r) => ({
      step: r.step,
      provider: r.provider,
      model: r.model,
      calls: r.calls,
      cachedCalls: r.cached,
      promptTokens: r.prompt_tokens,
      completionTokens: r.completion_tokens,
      costUsd: r.cost_usd,
    })),
    hold: post.held_stage
      ? { stage: post.held_stage, reason: post.held_reason, details: post.held_details ?? null }
      : null,
    updatedAt: post.updated_at.toISOString(),
    links: {
      self: `/api/v1/posts/${post.id}/content`,
      post: `/api/v1/posts/${post.id}`,
      revisions: `/api/v1/posts/${post.id}/revisions`,
      ...(duplicateOf ? { duplicateOf: `/api/v1/posts/${duplicateOf}/content` } : {}),
    },
  };
}

export type PostContent = NonNullable<Awaited<ReturnType<typeof readPostContent>>>;
