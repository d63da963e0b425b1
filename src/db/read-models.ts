import type { Db } from './pool.ts';

// What the API shows of a submission and a post, read from PostgreSQL alone (no Redis needed).

export async function readSubmission(db: Db, tenantId: string, id: string) {
  const { rows } = await db.query<{ id: string; created_at: Date; correlation_id: string }>(
    'SELECT id, created_at, correlation_id FROM submissions WHERE id = $1 AND tenant_id = $2',
    [id, tenantId],
  );
  const submission = rows[0];
  if (!submission) return null;
  const posts = await db.query<{ id: string; status: string; title: string | null; failure_reason: string | null }>(
    'SELECT id, status, title, failure_reason FROM posts WHERE submission_id = $1 ORDER BY created_at',
    [id],
  );
  return {
    id: submission.id,
    // One post per submission today; feeds will fan out into several.
    status: posts.rows.every((p) => p.status === 'published') ? 'published' : posts.rows.some((p) => p.status === 'failed') ? 'failed' : 'processing',
    correlationId: submission.correlation_id,
    createdAt: submission.created_at.toISOString(),
    posts: posts.rows.map((p) => ({ id: p.id, status: p.status, title: p.title, failureReason: p.failure_reason, links: { self: `/api/v1/posts/${p.id}` } })),
  };
}

type PostRow = {
  id: string; submission_id: string; status: string; title: string | null; slug: string | null; meta_description: string | null;
  tags: string[]; citations: unknown[]; word_count: number | null; writer: string | null; failed_stage: string | null;
  failure_reason: string | null; correlation_id: string; published_at: Date | null; created_at: Date; updated_at: Date;
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
  const [runs, publications] = await Promise.all([
    db.query<{ stage: string; attempt: number; outcome: string; started_at: Date; finished_at: Date | null; error: string | null }>(
      'SELECT stage, attempt, outcome, started_at, finished_at, error FROM stage_runs WHERE post_id = $1 ORDER BY started_at, id',
      [id],
    ),
    db.query<{ destination: string; location: string; url: string | null; external_id: string; published_at: Date }>(
      'SELECT destination, location, url, external_id, published_at FROM publications WHERE post_id = $1 ORDER BY published_at',
      [id],
    ),
  ]);
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
    })),
    links: { self: `/api/v1/posts/${post.id}`, submission: `/api/v1/submissions/${post.submission_id}` },
  };
}
