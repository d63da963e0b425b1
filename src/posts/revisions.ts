import type { Db } from '../db/pool.ts';
import { applyDisclaimers, checkGrounding, type GroundingResult } from '../grounding/gate.ts';
import type { GroundingPolicy } from '../grounding/policy.ts';
import { briefKeywords, briefSchema, resolveBrief, type Brief } from '../llm/brief.ts';
import { blogPostingJsonLd, countWords, fitMetaTitle, readableBody, WORDS_PER_MINUTE } from '../llm/post.ts';
import type { Citation } from '../llm/types.ts';
import { lintSeo, type SeoReport } from '../seo/lint.ts';
import { tenantSettingsSchema } from '../tenant-settings.ts';
import { markdownToSafeHtml, markdownWithoutMarkup } from '../text/html.ts';
import { loadPostSources } from './content.ts';

// A post's drafts as numbered revisions. Generate records what the writer produced; an editor's PATCH
// adds a revision, runs the SEO lint and the grounding gate on it again, and makes it the post's text.
// The post row always holds the latest revision: that is what the later stages embed and publish.

type Queryable = Pick<Db, 'query'>;

/** Statuses whose draft an editor may change: held for a person, not yet on a schedule. */
export const EDITABLE = ['needs_review', 'duplicate_of', 'awaiting_approval'] as const;

export type DraftPatch = {
  title?: string | undefined;
  metaTitle?: string | undefined;
  metaDescription?: string | undefined;
  markdown?: string | undefined;
  tags?: string[] | undefined;
  /** The revision the editor started from; a newer one makes the edit a conflict. */
  baseRevision?: number | undefined;
};

export class DraftEditError extends Error {
  readonly status: 404 | 409;
  readonly field: string;
  constructor(status: 404 | 409, field: string, message: string) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

/**
 * Records the post's current draft as its next revision, unless it is the same as the latest one (a
 * retried generate run records nothing new).
 */
export async function recordRevision(
  db: Queryable,
  postId: string,
  by: { origin: 'generate' | 'edit'; author: string },
): Promise<number | null> {
  const { rows } = await db.query<{ revision: number }>(
    `WITH post AS (SELECT * FROM posts WHERE id = $1 AND markdown IS NOT NULL AND title IS NOT NULL FOR UPDATE),
          latest AS (SELECT r.* FROM post_revisions r WHERE r.post_id = $1 ORDER BY revision DESC LIMIT 1)
     INSERT INTO post_revisions (post_id, revision, tenant_id, origin, author, title, meta_title, meta_description,
                                 markdown, tags, word_count, seo_score, seo_report, grounding)
     SELECT p.id, COALESCE((SELECT revision FROM latest), 0) + 1, p.tenant_id, $2, $3, p.title, p.meta_title,
            COALESCE(p.meta_description, ''), p.markdown, p.tags, p.word_count, p.seo_score, p.seo_report, p.grounding
       FROM post p
      WHERE NOT EXISTS (SELECT 1 FROM latest l WHERE l.title = p.title AND l.meta_description =
        COALESCE(p.meta_description, '')
                          AND l.meta_title IS NOT DISTINCT FROM p.meta_title
                          AND l.markdown = p.markdown AND l.tags = p.tags)
     RETURNING revision`,
    [postId, by.origin, by.author],
  );
  return rows[0]?.revision ?? null;
}

/**
 * recordRevision as a CTE (`revision`) of the statement that writes the draft: the row it inserts is made from the
 * draft's values (the statement's parameters `$n` named in `values`), since the statement does not see its own
 * update of the post. `saved` is the CTE of that update, returning the post's tenant_id.
 */
export function revisionOfWrite(values: {
  author: string;
  title: string;
  metaTitle: string;
  metaDescription: string;
  markdown: string;
  tags: string;
  wordCount: string;
  seoScore: string;
  seoReport: string;
  grounding: string;
}): string {
  const v = values;
  return `latest AS (SELECT r.* FROM post_revisions r WHERE r.post_id = $1 ORDER BY revision DESC LIMIT 1),
          revision AS (
            INSERT INTO post_revisions (post_id, revision, tenant_id, origin, author, title, meta_title,
                                        meta_description, markdown, tags, word_count, seo_score, seo_report, grounding)
            SELECT $1, COALESCE((SELECT revision FROM latest), 0) + 1, saved.tenant_id, 'generate', ${v.author},
                   ${v.title}, ${v.metaTitle}, COALESCE(${v.metaDescription}, ''), ${v.markdown}, ${v.tags},
                   ${v.wordCount}, ${v.seoScore}, ${v.seoReport}::jsonb, ${v.grounding}::jsonb
              FROM saved
             WHERE NOT EXISTS (SELECT 1 FROM latest l WHERE l.title = ${v.title}
                                 AND l.meta_title IS NOT DISTINCT FROM ${v.metaTitle}
                                 AND l.meta_description = COALESCE(${v.metaDescription}, '')
                                 AND l.markdown = ${v.markdown} AND l.tags = ${v.tags})
            RETURNING revision)`;
}

type RevisionRow = {
  revision: number;
  origin: 'generate' | 'edit';
  author: string;
  title: string;
  meta_title: string | null;
  meta_description: string;
  markdown: string;
  tags: string[];
  word_count: number | null;
  seo_score: number | null;
  seo_report: unknown;
  grounding: { passed?: unknown } | null;
  created_at: Date;
};

function summary(r: RevisionRow, latest: number, postId: string) {
  return {
    revision: r.revision,
    origin: r.origin,
    author: r.author,
    createdAt: r.created_at.toISOString(),
    title: r.title,
    wordCount: r.word_count,
    seoScore: r.seo_score,
    groundingPassed: typeof r.grounding?.passed === 'boolean' ? r.grounding.passed : null,
    current: r.revision === latest,
    links: { self: `/api/v1/posts/${postId}/revisions/${r.revision}` },
  };
}

/** The post's revisions, newest first; null when the tenant has no such post. */
export async function listRevisions(db: Db, tenantId: string, postId: string) {
  const owned = await db.query('SELECT 1 FROM posts WHERE id = $1 AND tenant_id = $2', [postId, tenantId]);
  if (owned.rowCount !== 1) return null;
  const { rows } = await db.query<RevisionRow>(
    `SELECT revision, origin, author, title, meta_title, meta_description, '' AS markdown, tags, word_count, seo_score, NULL AS
       seo_report,
            grounding, created_at
       FROM post_revisions WHERE post_id = $1 AND tenant_id = $2 ORDER BY revision DESC`,
    [postId, tenantId],
  );
  const latest = rows[0]?.revision ?? 0;
  return { postId, items: rows.map((r) => summary(r, latest, postId)) };
}

export async function readRevision(db: Db, tenantId: string, postId: string, revision: number) {
  const { rows } = await db.query<RevisionRow & { latest: number }>(
    `SELECT r.revision, r.origin, r.author, r.title, r.meta_title, r.meta_description, r.markdown, r.tags, r.word_count,
            r.seo_score, r.seo_report, r.grounding, r.created_at,
            (SELECT max(revision) FROM post_revisions l WHERE l.post_id = r.post_id) AS latest
       FROM post_revisions r WHERE r.post_id = $1 AND r.tenant_id = $2 AND r.revision = $3`,
    [postId, tenantId, revision],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    ...summary(r, r.latest, postId),
    metaTitle: r.meta_title,
    metaDescription: r.meta_description,
    tags: r.tags,
    markdown: r.markdown,
    seo: r.seo_report ?? null,
    grounding: r.grounding ?? null,
  };
}

/** A draft as generate would finish it: disclaimers, SEO fields, the lint and the gate. */
export type CheckedDraft = {
  title: string;
  metaTitle: string;
  metaDescription: string;
  markdown: string;
  tags: string[];
  wordCount: number;
  readingTimeMinutes: number;
  jsonLd: Record<string, unknown>;
  seo: SeoReport;
  grounding: GroundingResult & { disclaimers: string[] };
};

/** Disclaimer paragraphs the policy appends, as applyDisclaimers writes them. */
function withoutDisclaimers(markdown: string, policy: GroundingPolicy): string {
  const lines = new Set(policy.disclaimers.map((d) => `*${d.text}*`));
  return markdown
    .split('\n')
    .filter((line) => !lines.has(line.trim()))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
}

/**
 * Runs the checks generate runs on a written post against an edited draft. The policy's disclaimers are
 * taken out before the gate (they are the tenant's words, not claims about the sources) and put back after,
 * so an editor cannot drop one.
 */
export function checkDraft(input: {
  draft: { title: string; metaTitle: string; metaDescription: string; markdown: string; tags: string[] };
  titleChanged: boolean;
  /** The editor set the meta title: it is kept as given. Otherwise a new title gets a new one. */
  metaTitleGiven?: boolean;
  post: { slug: string; category: string | null; heroImage: { alt: string } | null; citations: Citation[] };
  sources: Parameters<typeof checkGrounding>[0]['sources'];
  policy: GroundingPolicy;
  brief: Brief;
  siteUrl: string | null;
}): CheckedDraft {
  const { draft, post, policy, brief } = input;
  const body = withoutDisclaimers(draft.markdown, policy);
  const grounding = checkGrounding({
    markdown: body,
    citationCount: post.citations.length,
    sources: input.sources,
    policy,
    allowedTerms: briefKeywords(brief),
    fields: { title: draft.title, metaDescription: draft.metaDescription },
  });
  const { markdown, added } = applyDisclaimers(body, policy);
  const wordCount = countWords(readableBody(markdown));
  const category = post.category ?? 'General';
  const metaTitle =
    input.titleChanged && !input.metaTitleGiven ? fitMetaTitle(null, draft.title, brief.language) : draft.metaTitle;
  const heroImage = post.heroImage ?? { alt: '' };
  const seo = lintSeo({
    title: draft.title,
    metaTitle,
    metaDescription: draft.metaDescription,
    slug: post.slug,
    markdown,
    tags: draft.tags,
    heroImage: post.heroImage,
    brief,
    siteUrl: input.siteUrl,
  });
  return {
    title: draft.title,
    metaTitle,
    metaDescription: draft.metaDescription,
    markdown,
    tags: draft.tags,
    wordCount,
    readingTimeMinutes: Math.max(1, Math.round(wordCount / WORDS_PER_MINUTE)),
    jsonLd: blogPostingJsonLd({
      title: draft.title,
      metaDescription: draft.metaDescription,
      tags: draft.tags,
      category,
      wordCount,
      language: brief.language,
      heroImage,
      citations: post.citations,
    }),
    seo,
    grounding: { ...grounding, disclaimers: added },
  };
}

type EditRow = {
  status: string;
  title: string | null;
  meta_title: string | null;
  meta_description: string | null;
  markdown: string | null;
  tags: string[];
  slug: string | null;
  category: string | null;
  hero_image: { alt?: string } | null;
  citations: Citation[];
  options: { brief?: unknown } | null;
  settings: unknown;
  revision: number | null;
};

/**
 * Makes an edited draft the post's latest revision, in one transaction with the post row locked, so an
 * approval arriving meanwhile continues with the edit. The post stays held; its held stage becomes
 * generate, so an approval embeds, indexes and publishes the edited text. A post held for review gets
 * the new gate findings as its hold details.
 */
export async function editDraft(
  db: Db,
  input: { tenantId: string; postId: string; author: string; patch: DraftPatch; siteUrl: string | null },
): Promise<{ revision: number; checked: CheckedDraft }> {
  const { tenantId, postId, patch } = input;
  return db.tx(async (client) => {
    const { rows } = await client.query<EditRow>(
      `SELECT p.status, p.title, p.meta_title, p.meta_description, p.markdown, p.tags, p.slug, p.category, p.hero_image,
              p.citations, s.options, t.settings,
              (SELECT max(revision) FROM post_revisions r WHERE r.post_id = p.id) AS revision
         FROM posts p JOIN submissions s ON s.id = p.submission_id JOIN tenants t ON t.id = p.tenant_id
        WHERE p.id = $1 AND p.tenant_id = $2
        FOR UPDATE OF p`,
      [postId, tenantId],
    );
    const post = rows[0];
    if (!post) throw new DraftEditError(404, 'id', `no post ${postId}`);
    if (post.status === 'published')
      throw new DraftEditError(409, 'status', 'the post is published; a published post is not edited');
    if (!(EDITABLE as readonly string[]).includes(post.status) || post.markdown === null || post.title === null)
      throw new DraftEditError(
        409,
        'status',
        `the post is ${post.status}; only a written post that is ${EDITABLE.join(', ')} can be edited`,
      );
    if (post.revision === null) {
      // Written before revisions were kept and not backfilled: its current text becomes revision 1.
      post.revision = await recordRevision(client, postId, { origin: 'generate', author: 'writer' });
    }
    if (patch.baseRevision !== undefined && patch.baseRevision !== post.revision)
      throw new DraftEditError(
        409,
        'baseRevision',
        `revision ${post.revision} was made after revision ${patch.baseRevision}; reload the post and edit that`,
      );

    const settings = tenantSettingsSchema.parse(post.settings ?? {});
    const submissionBrief = briefSchema.safeParse(post.options?.brief);
    const brief = resolveBrief(settings.brief, submissionBrief.success ? submissionBrief.data : undefined);
    const checked = checkDraft({
      draft: {
        title: patch.title ?? post.title,
        metaTitle: patch.metaTitle ?? post.meta_title ?? post.title,
        metaDescription: patch.metaDescription ?? post.meta_description ?? '',
        markdown: patch.markdown === undefined ? post.markdown : markdownWithoutMarkup(patch.markdown),
        tags: patch.tags ?? post.tags,
      },
      titleChanged: patch.title !== undefined && patch.title !== post.title,
      metaTitleGiven: patch.metaTitle !== undefined,
      post: {
        slug: post.slug ?? '',
        category: post.category,
        heroImage: post.hero_image?.alt ? { alt: post.hero_image.alt } : null,
        citations: post.citations,
      },
      sources: await loadPostSources(client, postId),
      policy: settings.grounding,
      brief,
      siteUrl: input.siteUrl,
    });

    const findings = checked.grounding.failingSentences.length + checked.grounding.problems.length;
    await client.query(
      `UPDATE posts SET title = $2, meta_title = $3, meta_description = $4, markdown = $5, html = $6, tags = $7,
              word_count = $8, reading_time_minutes = $9, json_ld = $10, seo_score = $11, seo_report = $12,
              grounding = $13,
              held_stage = 'generate',
              held_reason = CASE WHEN status = 'needs_review' THEN $14 ELSE held_reason END,
              held_details = CASE WHEN status = 'needs_review' THEN $15::jsonb ELSE held_details END,
              updated_at = now()
        WHERE id = $1`,
      [
        postId,
        checked.title,
        checked.metaTitle,
        checked.metaDescription,
        checked.markdown,
        markdownToSafeHtml(checked.markdown),
        checked.tags,
        checked.wordCount,
        checked.readingTimeMinutes,
        JSON.stringify(checked.jsonLd),
        checked.seo.score,
        JSON.stringify(checked.seo),
        JSON.stringify(checked.grounding),
        findings === 0
          ? `edited: grounding passes on revision ${(post.revision ?? 0) + 1}; approve to publish`
          : `grounding: ${findings} finding${findings === 1 ? '' : 's'} to review`,
        JSON.stringify({
          failingSentences: checked.grounding.failingSentences,
          problems: checked.grounding.problems,
        }),
      ],
    );
    const revision = await recordRevision(client, postId, { origin: 'edit', author: input.author });
    // An edit that changes nothing adds no revision; the latest stays current.
    return { revision: revision ?? post.revision ?? 1, checked };
  });
}
