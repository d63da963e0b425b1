import type { Db } from '../db/pool.ts';

// What the API shows of a submission and a post, read from PostgreSQL alone (no Redis needed).

export async function readSubmission(db: Db, tenantId: string, id: string) {
  const { rows } = await db.query<{ id: string; created_at: Date; correlation_id: string }>(
    'SELECT id, created_at, correlation_id FROM submissions WHERE id = $1 AND tenant_id = $2',
    [id, tenantId],
  );
  const submission = rows[0];
  if (!submission) return null;
  // A feed, sitemap or site submission fans out into child submissions, one per entry: their posts are its posts.
  const posts = await db.query<{
    id: string;
    submission_id: string;
    status: string;
    title: string | null;
    failure_reason: string | null;
  }>(
    `SELECT id, submission_id, status, title, failure_reason FROM posts
      WHERE submission_id = $1 OR submission_id IN (SELECT id FROM submissions WHERE parent_id = $1) ORDER BY
        created_at, id`,
    [id],
  );
  return {
    id: submission.id,
    status: submissionStatus(posts.rows.map((p) => p.status)),
    correlationId: submission.correlation_id,
    createdAt: submission.created_at.toISOString(),
    posts: posts.rows.map((p) => ({
      id: p.id,
      status: p.status,
      title: p.title,
      failureReason: p.failure_reason,
      ...(p.submission_id !== id ? { submissionId: p.submission_id } : {}),
      links: { self: `/api/v1/posts/${p.id}` },
    })),
  };
}

const FINISHED = new Set(['published', 'duplicate', 'skipped', 'expanded', 'failed', 'rejected', 'cancelled']);

/**
 * One word for a submission: `published` when every post is, `failed` when any failed, `completed`
 * when all stopped on purpose (duplicates, skipped topics, a feed with nothing new), else `processing`.
 * A collector post (`expanded`) only counts when there is nothing else.
 */
function submissionStatus(statuses: string[]): string {
  const own = statuses.filter((s) => s !== 'expanded');
  if (own.length > 0 && own.every((s) => s === 'published')) return 'published';
  if (own.some((s) => s === 'failed')) return 'failed';
  return statuses.length > 0 && statuses.every((s) => FINISHED.has(s)) ? 'completed' : 'processing';
}

type PostRow = {
  id: string;
  submission_id: string;
  status: string;
  title: string | null;
  slug: string | null;
  meta_description: string | null;
  tags: string[];
  citations: unknown[];
  word_count: number | null;
  writer: string | null;
  failed_stage: string | null;
  failure_reason: string | null;
  correlation_id: string;
  published_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

export async function readPost(db: Db, tenantId: string, id: string) {
  const { rows } = await db.query<PostRow>(
    `SELECT id, submission_id, status, title, slug, meta_description, tags, citations, word_count, writer, failed_stage,
            failure_reason, correlation_id, published_at, created_at, updated_at
       FROM posts WHERE id = $1 AND tenant_id = $2`,
    [id, tenantId],
  );
  const post = rows[0];
  if (!post) return null;
  const [runs, publications, related, hold] = await Promise.all([
    db.query<{
      stage: string;
      attempt: number;
      outcome: string;
      started_at: Date;
      finished_at: Date | null;
      error: string | null;
    }>(
      'SELECT stage, attempt, outcome, started_at, finished_at, error FROM stage_runs ' +
        'WHERE post_id = $1 ORDER BY started_at, id',
      [id],
    ),
    db.query<{
      destination: string;
      location: string;
      url: string | null;
      external_id: string;
      published_at: Date;
      kind: string;
      status: string;
      last_error: string | null;
      destination_id: string | null;
      indexnow: { status: string; attempts: number; lastError: string | null; sentAt: string | null } | null;
    }>(
      `SELECT pub.destination, pub.location, pub.url, pub.external_id, pub.published_at, pub.kind, pub.status,
         pub.last_error, pub.destination_id,
              (SELECT json_build_object('status', ip.status, 'attempts', ip.attempts, 'lastError', ip.last_error,
                'sentAt', ip.sent_at)
                 FROM indexnow_pings ip WHERE ip.post_id = pub.post_id AND ip.destination_id = pub.destination_id
                ORDER BY ip.generation DESC LIMIT 1) AS indexnow
         FROM publications pub WHERE pub.post_id = $1 ORDER BY pub.published_at`,
      [id],
    ),
    // Internal-link suggestions of the index stage.
    db.query<{ related_post_id: string; rank: number; score: number; linked: boolean; title: string | null }>(
      `SELECT l.related_post_id, l.rank, l.score, l.linked, p.title
         FROM post_links l JOIN posts p ON p.id = l.related_post_id WHERE l.post_id = $1 ORDER BY l.rank`,
      [id],
    ),
    db.query<{ held_stage: string | null; held_reason: string | null; held_details: unknown }>(
      'SELECT held_stage, held_reason, held_details FROM posts WHERE id = $1',
      [id],
    ),
  ]);
  // Ingest's view: the topic brief of a post made from feed entries, and the post it duplicates.
  const ingested = (
    await db.query<{ topic_brief: unknown; duplicate_of_post: string | null }>(
      'SELECT topic_brief, duplicate_of_post FROM posts WHERE id = $1',
      [id],
    )
  ).rows[0];
  // Writing: SEO fields and lint report, the grounding verdict, and what the post's model calls cost.
  const written = (
    await db.query<{
      meta_title: string | null;
      category: string | null;
      reading_time_minutes: number | null;
      json_ld: unknown;
      hero_image: unknown;
      seo_score: number | null;
      seo_report: unknown;
      grounding: unknown;
      held_reason: string | null;
      held_details: unknown;
      language: unknown;
      cost_usd: number;
    }>(
      `SELECT meta_title, category, reading_time_minutes, json_ld, hero_image, seo_score, seo_report, grounding,
         held_reason, held_details, language,
            (SELECT COALESCE(sum(cost_usd), 0)::float FROM llm_calls WHERE post_id = $1) AS cost_usd
       FROM posts WHERE id = $1`,
      [id],
    )
  ).rows[0];
  return {
    id: post.id,
    submissionId: post.submission_id,
    status: post.status,
    title: post.title,
    slug: post.slug,
    metaDescription: post.meta_description,
    tags: post.tags,
    citations: post.citations,
    wordCount: post.word_count,
    writer: post.writer,
    failure: post.failure_reason ? { stage: post.failed_stage, reason: post.failure_reason } : null,
    correlationId: post.correlation_id,
    publishedAt: post.published_at?.toISOString() ?? null,
    createdAt: post.created_at.toISOString(),
    updatedAt: post.updated_at.toISOString(),
    stages: runs.rows.map((r) => ({
      stage: r.stage,
      attempt: r.attempt,
      outcome: r.outcome,
      startedAt: r.started_at.toISOString(),
      finishedAt: r.finished_at?.toISOString() ?? null,
      error: r.error,
    })),
    publications: publications.rows.map((p) => ({
      destination: p.destination,
      location: p.location,
      url: p.url,
      externalId: p.external_id,
      publishedAt: p.published_at.toISOString(),
      // Publishing: one row per destination; `pending` until the destination answered, `failed` with the reason.
      kind: p.kind,
      status: p.status,
      error: p.last_error,
      // The search-engine ping after it (IndexNow), when the destination sends one.
      ...(p.indexnow
        ? {
            indexNow: {
              ...p.indexnow,
              sentAt: p.indexnow.sentAt ? new Date(p.indexnow.sentAt).toISOString() : null,
            },
          }
        : {}),
      ...(p.destination_id ? { links: { destination: `/api/v1/destinations/${p.destination_id}` } } : {}),
    })),
    publishing: await readPublishing(db, id),
    topicBrief: ingested?.topic_brief ?? null,
    duplicateOf: ingested?.duplicate_of_post
      ? { postId: ingested.duplicate_of_post, links: { post: `/api/v1/posts/${ingested.duplicate_of_post}` } }
      : null,
    hold: hold.rows[0]?.held_stage
      ? { stage: hold.rows[0].held_stage, reason: hold.rows[0].held_reason, details: hold.rows[0].held_details }
      : null,
    internalLinks: related.rows.map((r) => ({
      postId: r.related_post_id,
      title: r.title,
      rank: r.rank,
      score: r.score,
      linked: r.linked,
      links: { post: `/api/v1/posts/${r.related_post_id}` },
    })),
    metaTitle: written?.meta_title ?? null,
    category: written?.category ?? null,
    readingTimeMinutes: written?.reading_time_minutes ?? null,
    heroImage: written?.hero_image ?? null,
    jsonLd: written?.json_ld ?? null,
    seo: written?.seo_report ?? null,
    grounding: written?.grounding ?? null,
    // The language it is written in, how that was decided, and what it went without.
    language: written?.language ?? null,
    costUsd: written?.cost_usd ?? 0,
    budget:
      post.status === 'budget_exceeded'
        ? { reason: written?.held_reason ?? null, details: written?.held_details ?? null }
        : null,
    links: {
      self: `/api/v1/posts/${post.id}`,
      submission: `/api/v1/submissions/${post.submission_id}`,
      content: `/api/v1/posts/${post.id}/content`,
      revisions: `/api/v1/posts/${post.id}/revisions`,
    },
  };
}

/** The post's publishing plan: when it is due, and whether an operator stopped it. */
async function readPublishing(db: Db, postId: string) {
  const { rows } = await db.query<{
    publish_at: string | null;
    stopped: string | null;
    stop_reason: string | null;
    approved_at: Date | null;
  }>(
    `SELECT COALESCE(pp.publish_at::text, s.options #>> '{publish,publishAt}') AS publish_at, pp.stopped,
       pp.stop_reason, p.approved_at
       FROM posts p JOIN submissions s ON s.id = p.submission_id LEFT JOIN post_publishing pp ON pp.post_id = p.id
         WHERE p.id = $1`,
    [postId],
  );
  const r = rows[0];
  return {
    publishAt: r?.publish_at ? new Date(r.publish_at).toISOString() : null,
    approvedAt: r?.approved_at?.toISOString() ?? null,
    stopped: r?.stopped ? { status: r.stopped, reason: r.stop_reason } : null,
  };
}
