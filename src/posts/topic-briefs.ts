import type pg from 'pg';
import type { Db } from '../db/pool.ts';
import { type SourceRow, sourcesColumn } from '../ingest/store.ts';
import type { PostRead } from './status.ts';

// A feed entry's post and its topic brief: the post a group of entries becomes, and the briefs still inside their
// topic window that later entries may join.

export type OpenBrief = {
  id: string;
  submission_id: string;
  topic_terms: string[];
  topic_brief: Record<string, unknown> | null;
  entries: number;
};

/**
 * The tenant's briefs still inside their topic window whose posts have not started (`queued`), made
 * with the same options, oldest first, their post rows locked. A transaction-scoped advisory lock
 * per tenant comes first, so two polls of the tenant finishing together take turns: the later one
 * sees the briefs the earlier one created.
 */
export async function openBriefs(
  client: pg.PoolClient,
  tenantId: string,
  options: Record<string, unknown>,
): Promise<OpenBrief[]> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('topic-window:' || $1::text, 0))`, [tenantId]);
  const { rows } = await client.query<OpenBrief>(
    `SELECT p.id, p.submission_id, p.topic_terms, p.topic_brief,
            (SELECT count(*)::int FROM sources x WHERE x.submission_id = p.submission_id) AS entries
       FROM posts p JOIN submissions s ON s.id = p.submission_id
      WHERE p.tenant_id = $1 AND p.status = 'queued' AND p.topic_open_until > now() AND p.topic_terms IS NOT NULL
        AND s.options = $2::jsonb
        -- Queued again by a resume or replay is not open: its ingest has run.
        AND p.run_generation = 0 AND NOT EXISTS (SELECT 1 FROM stage_runs r WHERE r.post_id = p.id)
      ORDER BY p.created_at, p.id
      FOR UPDATE OF p`,
    [tenantId, JSON.stringify(options)],
  );
  return rows;
}

export async function setTopicBrief(
  client: pg.PoolClient,
  postId: string,
  brief: Record<string, unknown>,
  terms: string[],
): Promise<void> {
  await client.query(`UPDATE posts SET topic_brief = $2, topic_terms = $3, updated_at = now() WHERE id = $1`, [
    postId,
    JSON.stringify(brief),
    terms,
  ]);
}

/** The post of a group of entries (queued); inside a topic window (`windowMs` > 0) its brief stays open that long. */
export async function insertEntryPost(
  client: pg.PoolClient,
  post: {
    tenantId: string;
    submissionId: string;
    correlationId: string;
    brief: Record<string, unknown>;
    terms: string[] | null;
    windowMs: number;
  },
): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO posts (tenant_id, submission_id, correlation_id, topic_brief, topic_terms, topic_open_until)
     VALUES ($1, $2, $3, $4, $5, CASE WHEN $6::int > 0 THEN now() + make_interval(secs => $6::double precision /
       1000) END) RETURNING id`,
    [post.tenantId, post.submissionId, post.correlationId, JSON.stringify(post.brief), post.terms, post.windowMs],
  );
  return rows[0]!.id;
}

/** The keywords of a post's brief, as ingest read them from its sources. */
export async function setBriefKeywords(db: Db, postId: string, keywords: string[]): Promise<void> {
  await db.query(
    `UPDATE posts SET topic_brief = COALESCE(topic_brief, '{}'::jsonb) || jsonb_build_object('keywords', $2::jsonb)
      WHERE id = $1`,
    [postId, JSON.stringify(keywords)],
  );
}

/** The tenant's published posts (other than `postId`), newest first: what a new brief's topic is checked against. */
export async function publishedTopics(
  db: Db,
  tenantId: string,
  postId: string,
): Promise<Array<{ id: string; title: string | null; meta_description: string | null; tags: string[] }>> {
  const { rows } = await db.query<{
    id: string;
    title: string | null;
    meta_description: string | null;
    tags: string[];
  }>(
    `SELECT id, title, meta_description, tags FROM posts
      WHERE tenant_id = $1 AND status = 'published' AND id <> $2 ORDER BY published_at DESC NULLS LAST LIMIT 1000`,
    [tenantId, postId],
  );
  return rows;
}

/** What ingest needs of a post: its tenant, submission, brief, the submission's options and its sources. */
export type PostForIngest = {
  tenant_id: string;
  submission_id: string;
  topic_brief: { keywords?: string[] } | null;
  options: Record<string, unknown>;
  sources: SourceRow[];
};

export const postForIngest: PostRead<PostForIngest> = {
  sql: `SELECT p.tenant_id, p.submission_id, p.topic_brief, s.options, ${sourcesColumn}
          FROM posts p JOIN submissions s ON s.id = p.submission_id WHERE p.id = $1`,
  map: (row) => row as PostForIngest,
};
