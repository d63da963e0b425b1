import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { linkedom } from '../heavy-deps.ts';
import type { Db } from '../db/pool.ts';
import { isPermanent, PermanentError } from '../errors.ts';
import { decodeBody } from '../fetch/charset.ts';
import type { SafeFetcher } from '../fetch/safe-fetch.ts';
import type { Logger } from '../logger.ts';
import type { PipelineQueues } from '../../queues/registry.ts';
import { htmlFragmentToMarkdown } from './extract.ts';
import { PAGE_TYPES } from './fetch-page.ts';
import { FeedParseError, parseFeedDocument, type FeedEntry } from './feeds.ts';
import { stageJobId } from '../../queues/stages.ts';
import { assignToGroups, extractKeywords, keywordTerms, type OpenGroup } from './keywords.ts';
import { gunzipIfNeeded, parseSitemap, SitemapParseError, SITEMAP_TYPES, type SitemapUrl } from './sitemaps.ts';

// Collecting: a feed, sitemap or site is read (conditionally, so an unchanged one costs a 304),
// its entries are checked against what the tenant has already seen, and each new entry (or group
// of entries about one topic) becomes a child submission with its own post, ingested on its own.

export type CollectorKind = 'feed' | 'sitemap' | 'site';

export type CollectedEntry = {
  itemKey: string;
  lastmod: string | null;
  url: string | null;
  title: string | null;
  /** Markdown made from the entry's own content (never its HTML), when the feed carried any. */
  markdown: string | null;
  metadata: Record<string, unknown>;
};

export type Validators = { url: string; etag: string | null; lastModified: string | null };

export type Collected = {
  /** The server answered 304 to the conditional request: nothing was parsed. */
  notModified: boolean;
  /** What was finally read: a site resolves to its feed or sitemap. */
  kind: 'feed' | 'sitemap';
  url: string;
  entries: CollectedEntry[];
  validators: Validators | null;
};

type CollectDeps = { db: Db; fetcher: SafeFetcher; config: Config; log: Logger };

const FEED_TYPES = [
  'application/rss+xml',
  'application/atom+xml',
  'application/rdf+xml',
  'application/feed+json',
  'application/json',
  'application/xml',
  'text/xml',
  'text/plain',
];
const FEED_ACCEPT =
  'application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1';
const MAX_CHILD_SITEMAPS = 10;

export async function collect(
  deps: CollectDeps,
  input: { tenantId: string; kind: CollectorKind; url: string },
): Promise<Collected> {
  switch (input.kind) {
    case 'feed':
      return collectFeed(deps, input.tenantId, input.url);
    case 'sitemap':
      return collectSitemap(deps, input.tenantId, input.url);
    case 'site':
      return collectSite(deps, input.tenantId, input.url);
  }
}

async function conditionalHeaders(db: Db, tenantId: string, url: string): Promise<Record<string, string>> {
  const { rows } = await db.query<{ etag: string | null; last_modified: string | null }>(
    'SELECT etag, last_modified FROM fetch_validators WHERE tenant_id = $1 AND url = $2',
    [tenantId, url],
  );
  const headers: Record<string, string> = {};
  if (rows[0]?.etag) headers['if-none-match'] = rows[0].etag;
  if (rows[0]?.last_modified) headers['if-modified-since'] = rows[0].last_modified;
  return headers;
}

function validatorsOf(url: string, headers: Headers): Validators | null {
  const etag = headers.get('etag');
  const lastModified = headers.get('last-modified');
  return etag || lastModified ? { url, etag, lastModified } : null;
}

async function collectFeed(deps: CollectDeps, tenantId: string, url: string): Promise<Collected> {
  const fetched = await deps.fetcher.fetch(url, {
    allowedTypes: FEED_TYPES,
    accept: FEED_ACCEPT,
    headers: await conditionalHeaders(deps.db, tenantId, url),
  });
  if (fetched.notModified) return { notModified: true, kind: 'feed', url, entries: [], validators: null };
  let feed: ReturnType<typeof parseFeedDocument>;
  try {
    feed = parseFeedDocument(decodeBody(fetched.bytes, fetched.contentType).text, fetched.url);
  } catch (err) {
    if (err instanceof FeedParseError) throw new PermanentError(`${url}: ${err.message}`);
    throw err;
  }
  const entries = feed.entries.flatMap((entry) => {
    const collected = feedEntry(url, feed.format, entry);
    return collected ? [collected] : [];
  });
  return { notModified: false, kind: 'feed', url, entries, validators: validatorsOf(url, fetched.headers) };
}

export function feedEntry(feedUrl: string, format: string, entry: FeedEntry): CollectedEntry | null {
  const body = entry.html ? htmlFragmentToMarkdown(entry.html, entry.link ?? feedUrl) : null;
  const markdown = body?.markdown || entry.text || null;
  if (!entry.link && !markdown) return null;
  const itemKey = entry.guid
    ? `guid:${feedUrl}#${entry.guid}`
    : entry.link
      ? `link:${normaliseUrl(entry.link)}`
      : `hash:${createHash('sha256')
          .update(`${entry.title ?? ''}\n${markdown}`)
          .digest('hex')}`;
  return {
    itemKey,
    lastmod: null,
    url: entry.link,
    title: entry.title ? htmlFragmentToMarkdown(entry.title, null).markdown || entry.title : null,
    markdown,
    metadata: {
      feedUrl,
      feedFormat: format,
      guid: entry.guid,
      author: entry.author,
      publishedAt: entry.publishedAt,
      summary: entry.summary
        ? htmlFragmentToMarkdown(entry.summary, entry.link ?? feedUrl).markdown.slice(0, 1000)
        : null,
      links: body?.links.slice(0, 100) ?? [],
    },
  };
}

async function collectSitemap(deps: CollectDeps, tenantId: string, url: string): Promise<Collected> {
  const first = await fetchSitemap(deps, url, await conditionalHeaders(deps.db, tenantId, url));
  if (first.notModified) return { notModified: true, kind: 'sitemap', url, entries: [], validators: null };
  const urls: SitemapUrl[] = [...first.sitemap!.urls];
  // An index lists further sitemaps; the most recently changed ones are read first.
  const children = [...first.sitemap!.sitemaps]
    .sort((a, b) => (b.lastmod ?? '').localeCompare(a.lastmod ?? ''))
    .slice(0, MAX_CHILD_SITEMAPS);
  for (const child of children) {
    const fetched = await fetchSitemap(deps, child.url, {});
    urls.push(...(fetched.sitemap?.urls ?? []));
  }
  const entries = urls
    .sort((a, b) => (b.lastmod ?? '').localeCompare(a.lastmod ?? ''))
    .map((u) => ({
      itemKey: `url:${normaliseUrl(u.url)}`,
      lastmod: u.lastmod,
      url: u.url,
      title: null,
      markdown: null,
      metadata: { sitemapUrl: url, lastmod: u.lastmod },
    }));
  return { notModified: false, kind: 'sitemap', url, entries, validators: first.validators };
}

async function fetchSitemap(deps: CollectDeps, url: string, headers: Record<string, string>) {
  const fetched = await deps.fetcher.fetch(url, {
    allowedTypes: SITEMAP_TYPES,
    accept: 'application/xml, text/xml;q=0.9, */*;q=0.1',
    headers,
  });
  if (fetched.notModified) return { notModified: true, sitemap: null, validators: null };
  try {
    const bytes = gunzipIfNeeded(fetched.bytes, deps.config.FETCH_MAX_BYTES * 10);
    const sitemap = parseSitemap(decodeBody(bytes, fetched.contentType).text, fetched.url);
    return { notModified: false, sitemap, validators: validatorsOf(url, fetched.headers) };
  } catch (err) {
    if (err instanceof SitemapParseError) throw new PermanentError(`${url}: ${err.message}`);
    throw err;
  }
}

/** A competitor's home page: its announced feed if it has one, else its sitemap (robots.txt, then /sitemap.xml). */
async function collectSite(deps: CollectDeps, tenantId: string, url: string): Promise<Collected> {
  const home = await deps.fetcher.fetch(url, { allowedTypes: PAGE_TYPES, accept: 'text/html' });
  const feeds = discoverFeeds(decodeBody(home.bytes, home.contentType).text, home.url);
  deps.log.debug({ url, feeds }, 'site discovery');
  for (const feed of feeds.slice(0, 3)) {
    try {
      return await collectFeed(deps, tenantId, feed);
    } catch (err) {
      if (!isPermanent(err)) throw err;
      deps.log.info({ feed, err: (err as Error).message }, 'announced feed unusable; trying the next way in');
    }
  }
  const robots = await deps.fetcher.robots(home.url);
  const sitemaps = robots.sitemaps.length > 0 ? robots.sitemaps : [new URL('/sitemap.xml', home.url).href];
  for (const sitemap of sitemaps.slice(0, 3)) {
    try {
      return await collectSitemap(deps, tenantId, sitemap);
    } catch (err) {
      if (!isPermanent(err)) throw err;
    }
  }
  throw new PermanentError(`${url}: no feed (link rel=alternate) or sitemap (robots.txt Sitemap:, /sitemap.xml) found`);
}

const ALTERNATE_FEED_TYPES = new Set([
  'application/rss+xml',
  'application/atom+xml',
  'application/rdf+xml',
  'application/feed+json',
  'application/json',
]);

/** Feeds a page announces with `<link rel="alternate" type="…" href="…">`, absolute, in page order. */
export function discoverFeeds(html: string, pageUrl: string): string[] {
  const { document } = linkedom().parseHTML(html);
  const found: string[] = [];
  for (const link of Array.from(document.querySelectorAll('link[rel~="alternate"][href]')) as Array<{
    getAttribute(n: string): string | null;
  }>) {
    const type = (link.getAttribute('type') ?? '').toLowerCase().split(';')[0]!.trim();
    if (!ALTERNATE_FEED_TYPES.has(type)) continue;
    try {
      const href = new URL(link.getAttribute('href')!, pageUrl);
      if ((href.protocol === 'http:' || href.protocol === 'https:') && !found.includes(href.href))
        found.push(href.href);
    } catch {
      // An unparsable href is skipped.
    }
  }
  return found;
}

/** Lower-cased scheme and host, no fragment, no default port, no trailing slash on the path. */
export function normaliseUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.hash = '';
    const text = url.href;
    return url.pathname !== '/' && text.endsWith('/') && !url.search ? text.slice(0, -1) : text;
  } catch {
    return raw.trim();
  }
}

export type FanOutParent =
  | { submissionId: string; correlationId: string; options: Record<string, unknown> }
  | { feedId: string; kind: CollectorKind; url: string; correlationId: string };

export type FanOutResult = {
  parentSubmissionId: string | null;
  created: Array<{ submissionId: string; postId: string; entries: number }>;
  /** Briefs created by earlier polls, still inside their topic window, that entries of this one joined. */
  joined: Array<{ submissionId: string; postId: string; entries: number }>;
  newEntries: number;
};

type OpenBrief = {
  id: string;
  submission_id: string;
  topic_terms: string[];
  topic_brief: Record<string, unknown> | null;
  entries: number;
};

/**
 * Claims the entries the tenant has not seen (or whose lastmod moved on), groups those that arrived
 * together by topic, and records one child submission, its sources and its post per group, all in
 * one transaction with the feed's new validators. The ingest jobs are added after the commit; a
 * post whose job never got added is picked up by the stranded-post sweep.
 *
 * With a topic window (TOPIC_WINDOW_MS > 0) a new post's ingest waits out the window, and an entry
 * similar to a brief of the tenant still inside its window joins that brief first (the same rule as
 * grouping within one poll). Joining locks the brief's post row and only takes it while the post is
 * `queued`: the ingest job's start sets `ingesting` on the same row, so an entry either joins before
 * ingest reads the sources or finds the brief closed and becomes a post of its own.
 */
export async function fanOut(
  deps: { db: Db; queues: PipelineQueues; config: Config; log: Logger },
  input: { tenantId: string; parent: FanOutParent; collected: Collected },
): Promise<FanOutResult> {
  const { db, config } = deps;
  const { tenantId, parent, collected } = input;
  const result = await db.tx(async (client) => {
    const keys = collected.entries.map((e) => e.itemKey);
    const known = await client.query<{ item_key: string; lastmod: Date | null }>(
      'SELECT item_key, lastmod FROM ingest_items WHERE tenant_id = $1 AND item_key = ANY($2::text[])',
      [tenantId, keys],
    );
    const seen = new Map(known.rows.map((r) => [r.item_key, r.lastmod]));
    const taken = new Set<string>();
    const fresh = collected.entries.filter((e) => {
      if (taken.has(e.itemKey)) return false;
      taken.add(e.itemKey);
      if (!seen.has(e.itemKey)) return true;
      const before = seen.get(e.itemKey);
      return (
        e.lastmod !== null && (before === null || before === undefined || Date.parse(e.lastmod) > before.getTime())
      );
    });
    const candidates = fresh.slice(0, config.INGEST_MAX_ENTRIES);
    // Claiming is the insert itself: of two collectors racing for one entry, one gets the row back.
    const claimed = candidates.length
      ? await client.query<{ item_key: string }>(
          `INSERT INTO ingest_items (tenant_id, item_key, lastmod)
           SELECT $1, k, l FROM unnest($2::text[], $3::timestamptz[]) AS t(k, l)
           ON CONFLICT (tenant_id, item_key) DO UPDATE SET lastmod = EXCLUDED.lastmod, last_seen_at = now()
             WHERE EXCLUDED.lastmod IS NOT NULL AND (ingest_items.lastmod IS NULL OR EXCLUDED.lastmod >
               ingest_items.lastmod)
           RETURNING item_key`,
          [tenantId, candidates.map((e) => e.itemKey), candidates.map((e) => e.lastmod)],
        )
      : { rows: [] };
    const claimedKeys = new Set(claimed.rows.map((r) => r.item_key));
    const entries = candidates.filter((e) => claimedKeys.has(e.itemKey));

    if (collected.validators) {
      await client.query(
        `INSERT INTO fetch_validators (tenant_id, url, etag, last_modified) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, url) DO UPDATE SET etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified,
           updated_at = now()`,
        [tenantId, collected.validators.url, collected.validators.etag, collected.validators.lastModified],
      );
    }
    if (entries.length === 0)
      return {
        parentSubmissionId: 'submissionId' in parent ? parent.submissionId : null,
        created: [],
        joined: [],
        newEntries: 0,
        correlationId: parent.correlationId,
      };

    let parentId: string;
    let options: Record<string, unknown> = {};
    if ('submissionId' in parent) {
      parentId = parent.submissionId;
      options = parent.options;
    } else {
      // A poll that found something is recorded as a submission of its own, holding the entries' submissions.
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO submissions (tenant_id, request_hash, correlation_id, feed_id) ` +
          `VALUES ($1, $2, $3, $4) RETURNING id`,
        [tenantId, sha256(`poll:${parent.feedId}:${parent.correlationId}`), parent.correlationId, parent.feedId],
      );
      parentId = inserted.rows[0]!.id;
      await client.query(
        `INSERT INTO sources (tenant_id, submission_id, kind, url, metadata) VALUES ($1, $2, $3, $4, $5)`,
        [
          tenantId,
          parentId,
          parent.kind,
          parent.url,
          JSON.stringify({ feedId: parent.feedId, resolvedUrl: collected.url, newEntries: entries.length }),
        ],
      );
    }

    const window = config.TOPIC_WINDOW_MS;
    const termsOf = new Map(entries.map((e) => [e, keywordTerms(extractKeywords(entryText(e), 12))]));
    const open = window > 0 ? await openBriefs(client, tenantId, options) : [];
    const assigned = assignToGroups(
      open.map((b): OpenGroup<OpenBrief> => ({ key: b, terms: new Set(b.topic_terms), size: b.entries })),
      entries,
      (e) => termsOf.get(e)!,
      config.BRIEF_GROUP_SIMILARITY,
    );
    const addSources = async (submissionId: string, group: CollectedEntry[]) => {
      for (const entry of group) {
        await client.query(
          `INSERT INTO sources (tenant_id, submission_id, kind, url, title, input_text, ` +
            `metadata) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
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
      await client.query(
        `UPDATE ingest_items SET submission_id = $3 WHERE tenant_id = $1 AND item_key = ANY($2::text[])`,
        [tenantId, group.map((e) => e.itemKey), submissionId],
      );
    };

    const joined: FanOutResult['joined'] = [];
    for (const [brief, group] of assigned.joined) {
      await addSources(brief.submission_id, group);
      // The brief is rewritten from all its entries, as if they had arrived together.
      const { rows: members } = await client.query<{
        url: string | null;
        title: string | null;
        input_text: string | null;
        metadata: Record<string, unknown>;
      }>(`SELECT url, title, input_text, metadata FROM sources WHERE submission_id = $1 ORDER BY created_at, id`, [
        brief.submission_id,
      ]);
      const texts = members.map((m) =>
        entryText({
          itemKey: '',
          lastmod: null,
          url: m.url,
          title: m.title,
          markdown: m.input_text,
          metadata: m.metadata,
        }),
      );
      const terms = new Set(brief.topic_terms);
      for (const e of group) for (const t of termsOf.get(e)!) terms.add(t);
      const before = brief.topic_brief ?? {};
      const urls = new Set([
        ...(Array.isArray(before.urls) ? before.urls : [before.url]).filter((u): u is string => typeof u === 'string'),
        collected.url,
      ]);
      const topicBrief = {
        ...before,
        keywords: extractKeywords(texts.join('\n'), 8),
        entries: members.length,
        urls: [...urls],
        joinedLater: Number(before.joinedLater ?? 0) + group.length,
      };
      await client.query(`UPDATE posts SET topic_brief = $2, topic_terms = $3, updated_at = now() WHERE id = $1`, [
        brief.id,
        JSON.stringify(topicBrief),
        [...terms],
      ]);
      joined.push({ submissionId: brief.submission_id, postId: brief.id, entries: group.length });
    }

    const created: FanOutResult['created'] = [];
    for (const group of assigned.groups) {
      const keywords = extractKeywords(group.map(entryText).join('\n'), 8);
      const child = await client.query<{ id: string }>(
        `INSERT INTO submissions (tenant_id, request_hash, correlation_id, options, ` +
          `parent_id, feed_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [
          tenantId,
          sha256(group.map((e) => e.itemKey).join('\n')),
          parent.correlationId,
          JSON.stringify(options),
          parentId,
          'feedId' in parent ? parent.feedId : null,
        ],
      );
      const childId = child.rows[0]!.id;
      await addSources(childId, group);
      const terms = window > 0 ? [...new Set(group.flatMap((e) => [...termsOf.get(e)!]))] : null;
      const post = await client.query<{ id: string }>(
        `INSERT INTO posts (tenant_id, submission_id, correlation_id, topic_brief, topic_terms, topic_open_until)
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $6::int > 0 THEN now() + make_interval(secs => $6::double precision /
           1000) END) RETURNING id`,
        [
          tenantId,
          childId,
          parent.correlationId,
          JSON.stringify({ keywords, entries: group.length, from: collected.kind, url: collected.url }),
          terms,
          window,
        ],
      );
      created.push({ submissionId: childId, postId: post.rows[0]!.id, entries: group.length });
    }
    return {
      parentSubmissionId: parentId,
      created,
      joined,
      newEntries: entries.length,
      correlationId: parent.correlationId,
    };
  });

  for (const child of result.created) {
    try {
      const data = { postId: child.postId, correlationId: result.correlationId };
      // Inside a topic window the post's ingest waits it out, so that similar entries of later polls can still join.
      if (config.TOPIC_WINDOW_MS > 0)
        await deps.queues.queues.ingest.add('ingest', data, {
          jobId: stageJobId(child.postId, 'ingest'),
          delay: config.TOPIC_WINDOW_MS,
        });
      else await deps.queues.enqueue('ingest', data);
    } catch (err) {
      deps.log.warn(
        { postId: child.postId, err: (err as Error).message },
        'could not enqueue an entry; the stranded sweep will',
      );
    }
  }
  return {
    parentSubmissionId: result.parentSubmissionId,
    created: result.created,
    joined: result.joined,
    newEntries: result.newEntries,
  };
}

/**
 * The tenant's briefs still inside their topic window whose posts have not started (`queued`), made
 * with the same options, oldest first, their post rows locked. A transaction-scoped advisory lock
 * per tenant comes first, so two polls of the tenant finishing together take turns: the later one
 * sees the briefs the earlier one created.
 */
async function openBriefs(
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

function entryText(entry: CollectedEntry): string {
  return [
    entry.title,
    entry.metadata.summary,
    entry.markdown?.slice(0, 2000),
    entry.url && !entry.title ? new URL(entry.url).pathname.replace(/[/_-]+/g, ' ') : null,
  ]
    .filter(Boolean)
    .join('\n');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
