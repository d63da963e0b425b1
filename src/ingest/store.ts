import type { Db, Queryable } from '../db/pool.ts';
import type { CollectedEntry, CollectorKind, Validators } from './collect.ts';
import { fingerprintsSet, type SourceFingerprints } from './dedup.ts';
import { type ArticleFacts, articleFactsSet } from './source-store.ts';
import type { StageWrite } from '../posts/lifecycle.ts';

// The ingest tables' queries: what a tenant's collectors have seen (ingest_items), the validators of a conditional
// fetch (fetch_validators), and the submissions and sources a fan-out records.

/** The conditional-request headers from the validators of the last fetch of `url`. */
export async function conditionalHeaders(db: Db, tenantId: string, url: string): Promise<Record<string, string>> {
  const { rows } = await db.query<{ etag: string | null; last_modified: string | null }>(
    'SELECT etag, last_modified FROM fetch_validators WHERE tenant_id = $1 AND url = $2',
    [tenantId, url],
  );
  const headers: Record<string, string> = {};
  if (rows[0]?.etag) headers['if-none-match'] = rows[0].etag;
  if (rows[0]?.last_modified) headers['if-modified-since'] = rows[0].last_modified;
  return headers;
}

export async function saveValidators(client: Queryable, tenantId: string, validators: Validators): Promise<void> {
  await client.query(
    `INSERT INTO fetch_validators (tenant_id, url, etag, last_modified) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant_id, url) DO UPDATE SET etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,
       updated_at = now()`,
    [tenantId, validators.url, validators.etag, validators.lastModified],
  );
}

/** The lastmod the tenant has seen for each of `keys` it has seen. */
export async function seenItems(
  client: Queryable,
  tenantId: string,
  keys: string[],
): Promise<Map<string, Date | null>> {
  const { rows } = await client.query<{ item_key: string; lastmod: Date | null }>(
    'SELECT item_key, lastmod FROM ingest_items WHERE tenant_id = $1 AND item_key = ANY($2::text[])',
    [tenantId, keys],
  );
  return new Map(rows.map((r) => [r.item_key, r.lastmod]));
}

/**
 * Claims entries: claiming is the insert itself, so of two collectors racing for one entry, one gets the row back.
 * Returns the keys claimed.
 */
export async function claimItems(client: Queryable, tenantId: string, entries: CollectedEntry[]): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const { rows } = await client.query<{ item_key: string }>(
    `INSERT INTO ingest_items (tenant_id, item_key, lastmod)
     SELECT $1, k, l FROM unnest($2::text[], $3::timestamptz[]) AS t(k, l)
     ON CONFLICT (tenant_id, item_key) DO UPDATE SET lastmod = EXCLUDED.lastmod, last_seen_at = now()
       WHERE EXCLUDED.lastmod IS NOT NULL AND (ingest_items.lastmod IS NULL OR EXCLUDED.lastmod >
         ingest_items.lastmod)
     RETURNING item_key`,
    [tenantId, entries.map((e) => e.itemKey), entries.map((e) => e.lastmod)],
  );
  return new Set(rows.map((r) => r.item_key));
}

/** A poll that found something is recorded as a submission of its own, holding the entries' submissions. */
export async function insertPollSubmission(
  client: Queryable,
  tenantId: string,
  poll: { feedId: string; kind: CollectorKind; url: string; correlationId: string; requestHash: string },
  metadata: Record<string, unknown>,
): Promise<string> {
  const inserted = await client.query<{ id: string }>(
    `INSERT INTO submissions (tenant_id, request_hash, correlation_id, feed_id) VALUES ($1, $2, $3, $4) RETURNING id`,
    [tenantId, poll.requestHash, poll.correlationId, poll.feedId],
  );
  const id = inserted.rows[0]!.id;
  await client.query(
    `INSERT INTO sources (tenant_id, submission_id, kind, url, metadata) VALUES ($1, $2, $3, $4, $5)`,
    [tenantId, id, poll.kind, poll.url, JSON.stringify(metadata)],
  );
  return id;
}

/** The submission of one group of entries, under the collector's submission. */
export async function insertEntrySubmission(
  client: Queryable,
  tenantId: string,
  child: {
    requestHash: string;
    correlationId: string;
    options: Record<string, unknown>;
    parentId: string;
    feedId: string | null;
  },
): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO submissions (tenant_id, request_hash, correlation_id, options, parent_id, feed_id)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [tenantId, child.requestHash, child.correlationId, JSON.stringify(child.options), child.parentId, child.feedId],
  );
  return rows[0]!.id;
}

/** The entries as sources of a submission, and the entries' items as taken by it. */
export async function addEntrySources(
  client: Queryable,
  tenantId: string,
  submissionId: string,
  entries: CollectedEntry[],
): Promise<void> {
  for (const entry of entries) {
    await client.query(
      `INSERT INTO sources (tenant_id, submission_id, kind, url, title, input_text, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        tenantId,
        submissionId,
        entry.markdown ? 'feed_entry' : 'url',
        entry.url,
        entry.title,
        entry.markdown,
        JSON.stringify({ itemKey: entry.itemKey, ...entry.metadata }),
      ],
    );
  }
  await client.query(`UPDATE ingest_items SET submission_id = $3 WHERE tenant_id = $1 AND item_key = ANY($2::text[])`, [
    tenantId,
    entries.map((e) => e.itemKey),
    submissionId,
  ]);
}

/** A submission's sources as the entries they were made from, in the order they were added. */
export async function entrySourcesOf(client: Queryable, submissionId: string): Promise<CollectedEntry[]> {
  const { rows } = await client.query<{
    url: string | null;
    title: string | null;
    input_text: string | null;
    metadata: Record<string, unknown>;
  }>(`SELECT url, title, input_text, metadata FROM sources WHERE submission_id = $1 ORDER BY created_at, id`, [
    submissionId,
  ]);
  return rows.map((m) => ({
    itemKey: '',
    lastmod: null,
    url: m.url,
    title: m.title,
    markdown: m.input_text,
    metadata: m.metadata,
  }));
}

export type SourceKind = 'text' | 'markdown' | 'url' | 'feed_entry' | CollectorKind;

/** A source as ingest reads it. */
export type SourceRow = {
  id: string;
  kind: SourceKind;
  url: string | null;
  title: string | null;
  input_text: string | null;
  metadata: Record<string, unknown>;
};

/** The sources of post `p`'s submission as a JSON list, in the order they were given: a column of a post's read. */
export const sourcesColumn = `(SELECT COALESCE(json_agg(json_build_object('id', x.id, 'kind', x.kind, 'url', x.url,
    'title', x.title, 'input_text', x.input_text, 'metadata', x.metadata) ORDER BY x.created_at, x.id), '[]')
   FROM sources x WHERE x.submission_id = p.submission_id) AS sources`;

/** The sources of a submission, in the order they were given. */
export async function sourcesOfSubmission(db: Db, submissionId: string): Promise<SourceRow[]> {
  const { rows } = await db.query<SourceRow>(
    `SELECT id, kind, url, title, input_text, metadata FROM sources WHERE submission_id = $1 ORDER BY created_at, id`,
    [submissionId],
  );
  return rows;
}

/** A source's clean text, its hash and what reading it found out. */
export type SourceText = {
  markdown: string;
  title: string | null;
  hash: string;
  metadata: Record<string, unknown>;
  facts?: ArticleFacts | undefined;
  fingerprints?: SourceFingerprints | undefined;
};

/**
 * Saves a source's text in one statement: a title the submission gave is kept; a page's article facts
 * (./source-store.ts) and the text's fingerprints (./dedup.ts) when given.
 */
export async function saveSourceText(db: Db, sourceId: string, text: SourceText): Promise<void> {
  const params: unknown[] = [];
  await db.query(sourceTextUpdate(sourceId, text, params), params);
}

/** Saves the sources' texts (as saveSourceText) as the ingest stage's last write, made with its run's close. */
export function sourceTextsWrite(texts: Array<{ sourceId: string; text: SourceText }>): StageWrite {
  // $1 is the post id's (StageWrite): the texts' parameters are numbered from $2.
  const params: unknown[] = [null];
  const sql = texts
    .map(({ sourceId, text }, i) => `source_text_${i} AS (${sourceTextUpdate(sourceId, text, params)})`)
    .join(', ');
  return { sql, params: params.slice(1) };
}

function sourceTextUpdate(sourceId: string, text: SourceText, params: unknown[]): string {
  const p = (value: unknown) => `$${params.push(value)}`;
  const saved =
    `content = ${p(text.markdown)}, title = COALESCE(title, ${p(text.title)}), content_hash = ${p(text.hash)}, ` +
    `metadata = metadata || ${p(JSON.stringify(text.metadata))}::jsonb, fetched_at = now()`;
  const facts = text.facts ? articleFactsSet(text.facts, params) : '';
  const fingerprints = text.fingerprints ? fingerprintsSet(text.fingerprints, params) : '';
  return `UPDATE sources SET ${saved}${facts}${fingerprints} WHERE id = ${p(sourceId)}`;
}

/** What collecting a feed, sitemap or site found, on its source. */
export async function saveCollectSummary(db: Db, sourceId: string, summary: Record<string, unknown>): Promise<void> {
  await db.query(`UPDATE sources SET metadata = metadata || $2::jsonb, fetched_at = now() WHERE id = $1`, [
    sourceId,
    JSON.stringify(summary),
  ]);
}
