import type { Db } from '../db/pool.ts';
import type { Citation } from '../llm/types.ts';
import type { LeadImage } from './images.ts';
import { storedPublishOptionsSchema, type PublishOptions } from './options.ts';
import type { PostRead } from '../posts/status.ts';
import { defaultDestinationsColumn } from './destinations.ts';
import { parseTenantSettings, type TenantSettings, tenantSettingsColumn } from '../tenant-settings.ts';

// What the publish stage and the post actions read of a post: its content, its state and its plan.

export type PostForPublishing = {
  id: string;
  tenantId: string;
  submissionId: string;
  status: string;
  correlationId: string;
  generation: number;
  title: string | null;
  slug: string | null;
  markdown: string | null;
  metaDescription: string;
  metaTitle: string | null;
  tags: string[];
  citations: Citation[];
  publishedAt: Date | null;
  createdAt: Date;
  approvedAt: Date | null;
  heldStage: string | null;
  heroImage: { url?: string; alt?: string } | null;
  /**
   * The lead image of the post's first source that has one (absolute URL, alt text, caption): the featured-image
   * candidate.
   */
  sourceLeadImage: LeadImage | null;
  category: string | null;
  options: PublishOptions;
  /** A reschedule wins over the submission's publishAt. */
  publishAt: Date | null;
  revision: number;
  /** publishAt was chosen by a destination's cadence (./cadence.ts), not asked for. */
  planned: boolean;
  scheduledJobId: string | null;
  stopped: 'cancelled' | 'rejected' | null;
  stopReason: string | null;
  /** The BCP 47 tag of the post's language, when generate recorded one. */
  language: string | null;
  jsonLd: Record<string, unknown> | null;
};

type Row = {
  id: string;
  tenant_id: string;
  submission_id: string;
  status: string;
  correlation_id: string;
  run_generation: number;
  title: string | null;
  slug: string | null;
  markdown: string | null;
  meta_description: string | null;
  meta_title: string | null;
  tags: string[];
  citations: Citation[];
  published_at: Date | null;
  created_at: Date;
  approved_at: Date | null;
  held_stage: string | null;
  hero_image: { url?: string; alt?: string } | null;
  source_lead_image: LeadImage | null;
  category: string | null;
  options: { publish?: unknown } | null;
  pp_publish_at: Date | null;
  revision: number | null;
  planned: boolean | null;
  scheduled_job_id: string | null;
  stopped: 'cancelled' | 'rejected' | null;
  stop_reason: string | null;
  language: string | null;
  json_ld: Record<string, unknown> | null;
};

const columns = `p.id, p.tenant_id, p.submission_id, p.status, p.correlation_id, p.run_generation, p.title, p.slug,
            p.markdown, p.meta_description, p.meta_title, p.tags, p.citations, p.published_at, p.created_at,
            p.approved_at, p.held_stage, p.hero_image, p.category, p.language->>'tag' AS language, p.json_ld, s.options,
            (SELECT src.lead_image || jsonb_build_object('pageUrl', COALESCE(src.canonical_url, src.url), 'siteName',
              src.site_name) FROM sources src WHERE src.submission_id = p.submission_id AND src.lead_image IS NOT NULL
              ORDER BY src.created_at, src.id LIMIT 1) AS source_lead_image, pp.publish_at AS pp_publish_at,
                pp.revision, pp.planned, pp.scheduled_job_id, pp.stopped, pp.stop_reason`;
const from = `FROM posts p
       JOIN submissions s ON s.id = p.submission_id
       LEFT JOIN post_publishing pp ON pp.post_id = p.id`;

export async function loadPostForPublishing(
  db: Db,
  postId: string,
  tenantId?: string,
): Promise<PostForPublishing | null> {
  const { rows } = await db.query<Row>(
    `SELECT ${columns} ${from} WHERE p.id = $1 AND ($2::uuid IS NULL OR p.tenant_id = $2)`,
    [postId, tenantId ?? null],
  );
  const r = rows[0];
  return r ? fromRow(r) : null;
}

/**
 * What the publish stage reads of its post: the post as loadPostForPublishing reads it, its tenant's settings and
 * default destinations.
 */
export const postToPublish: PostRead<
  (PostForPublishing & { settings: TenantSettings; defaultDestinations: unknown[] }) | null
> = {
  sql: `SELECT ${columns}, ${tenantSettingsColumn}, ${defaultDestinationsColumn} ${from} WHERE p.id = $1`,
  map: (row) =>
    row.id
      ? {
          ...fromRow(row as unknown as Row),
          settings: parseTenantSettings(row.tenant_settings),
          defaultDestinations: row.default_destinations as unknown[],
        }
      : null,
};

function fromRow(r: Row): PostForPublishing {
  const parsed = storedPublishOptionsSchema.safeParse(r.options?.publish ?? {});
  const options = parsed.success ? parsed.data : {};
  const publishAt = r.pp_publish_at ?? (options.publishAt ? new Date(options.publishAt) : null);
  return {
    id: r.id,
    tenantId: r.tenant_id,
    submissionId: r.submission_id,
    status: r.status,
    correlationId: r.correlation_id,
    generation: r.run_generation,
    title: r.title,
    slug: r.slug,
    markdown: r.markdown,
    metaDescription: r.meta_description ?? '',
    metaTitle: r.meta_title,
    tags: r.tags,
    citations: r.citations,
    publishedAt: r.published_at,
    createdAt: r.created_at,
    approvedAt: r.approved_at,
    heldStage: r.held_stage,
    heroImage: r.hero_image,
    sourceLeadImage: r.source_lead_image,
    category: r.category,
    options,
    publishAt,
    revision: r.revision ?? 0,
    planned: r.planned ?? false,
    scheduledJobId: r.scheduled_job_id,
    stopped: r.stopped,
    stopReason: r.stop_reason,
    language: r.language,
    jsonLd: r.json_ld,
  };
}
