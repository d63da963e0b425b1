import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { insertEntryPost, type OpenBrief, openBriefs, setTopicBrief } from '../posts/topic-briefs.ts';
import type { PipelineQueues } from '../../queues/registry.ts';
import { stageJobId } from '../../queues/stages.ts';
import type { Collected, CollectedEntry, CollectorKind } from './collect.ts';
import { assignToGroups, extractKeywords, keywordTerms, type OpenGroup } from './keywords.ts';
import {
  addEntrySources,
  claimItems,
  entrySourcesOf,
  insertEntrySubmission,
  insertPollSubmission,
  saveValidators,
  seenItems,
} from './store.ts';

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

type FanOutDeps = { db: Db; queues: PipelineQueues; config: Config; log: Logger };
type Input = { tenantId: string; parent: FanOutParent; collected: Collected };
type TermsOf = Map<CollectedEntry, Set<string>>;

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
export async function fanOut(deps: FanOutDeps, input: Input): Promise<FanOutResult> {
  const { config } = deps;
  const { tenantId, parent, collected } = input;
  const result = await deps.db.tx(async (client) => {
    const entries = await claimNewEntries(client, tenantId, collected.entries, config.INGEST_MAX_ENTRIES);
    if (collected.validators) await saveValidators(client, tenantId, collected.validators);
    if (entries.length === 0)
      return { parentSubmissionId: 'submissionId' in parent ? parent.submissionId : null, created: [], joined: [] };

    const { parentId, options } = await parentSubmission(client, input, entries.length);
    const termsOf: TermsOf = new Map(entries.map((e) => [e, keywordTerms(extractKeywords(entryText(e), 12))]));
    const open = config.TOPIC_WINDOW_MS > 0 ? await openBriefs(client, tenantId, options) : [];
    const assigned = assignToGroups(
      open.map((b): OpenGroup<OpenBrief> => ({ key: b, terms: new Set(b.topic_terms), size: b.entries })),
      entries,
      (e) => termsOf.get(e)!,
      config.BRIEF_GROUP_SIMILARITY,
    );

    const joined: FanOutResult['joined'] = [];
    for (const [brief, group] of assigned.joined) joined.push(await joinBrief(client, input, brief, group, termsOf));
    const created: FanOutResult['created'] = [];
    for (const group of assigned.groups) {
      created.push(await createEntryPost(client, input, { parentId, options }, group, termsOf, config));
    }
    return { parentSubmissionId: parentId, created, joined, newEntries: entries.length };
  });
  await enqueueEntryPosts(deps, result.created, parent.correlationId);
  return { newEntries: 0, ...result };
}

/** The entries that are new to the tenant (or whose lastmod moved on), at most `max`, claimed by this collector. */
async function claimNewEntries(
  client: pg.PoolClient,
  tenantId: string,
  collected: CollectedEntry[],
  max: number,
): Promise<CollectedEntry[]> {
  const seen = await seenItems(
    client,
    tenantId,
    collected.map((e) => e.itemKey),
  );
  const taken = new Set<string>();
  const fresh = collected.filter((e) => {
    if (taken.has(e.itemKey)) return false;
    taken.add(e.itemKey);
    if (!seen.has(e.itemKey)) return true;
    const before = seen.get(e.itemKey);
    return e.lastmod !== null && (before === null || before === undefined || Date.parse(e.lastmod) > before.getTime());
  });
  const candidates = fresh.slice(0, max);
  const claimed = await claimItems(client, tenantId, candidates);
  return candidates.filter((e) => claimed.has(e.itemKey));
}

/** The submission the entries' submissions go under: the collector's own, or a new one recording a feed's poll. */
async function parentSubmission(
  client: pg.PoolClient,
  { tenantId, parent, collected }: Input,
  newEntries: number,
): Promise<{ parentId: string; options: Record<string, unknown> }> {
  if ('submissionId' in parent) return { parentId: parent.submissionId, options: parent.options };
  const parentId = await insertPollSubmission(
    client,
    tenantId,
    { ...parent, requestHash: sha256(`poll:${parent.feedId}:${parent.correlationId}`) },
    { feedId: parent.feedId, resolvedUrl: collected.url, newEntries },
  );
  return { parentId, options: {} };
}

/** Adds entries to an open brief, whose brief is rewritten from all its entries, as if they had arrived together. */
async function joinBrief(
  client: pg.PoolClient,
  { tenantId, collected }: Input,
  brief: OpenBrief,
  group: CollectedEntry[],
  termsOf: TermsOf,
): Promise<FanOutResult['joined'][number]> {
  await addEntrySources(client, tenantId, brief.submission_id, group);
  const members = await entrySourcesOf(client, brief.submission_id);
  const terms = new Set(brief.topic_terms);
  for (const e of group) for (const t of termsOf.get(e)!) terms.add(t);
  const before = brief.topic_brief ?? {};
  const urls = new Set([
    ...(Array.isArray(before.urls) ? before.urls : [before.url]).filter((u): u is string => typeof u === 'string'),
    collected.url,
  ]);
  const topicBrief = {
    ...before,
    keywords: extractKeywords(members.map(entryText).join('\n'), 8),
    entries: members.length,
    urls: [...urls],
    joinedLater: Number(before.joinedLater ?? 0) + group.length,
  };
  await setTopicBrief(client, brief.id, topicBrief, [...terms]);
  return { submissionId: brief.submission_id, postId: brief.id, entries: group.length };
}

/** One group of entries becomes a child submission with its sources and its post. */
async function createEntryPost(
  client: pg.PoolClient,
  { tenantId, parent, collected }: Input,
  under: { parentId: string; options: Record<string, unknown> },
  group: CollectedEntry[],
  termsOf: TermsOf,
  config: Config,
): Promise<FanOutResult['created'][number]> {
  const window = config.TOPIC_WINDOW_MS;
  const keywords = extractKeywords(group.map(entryText).join('\n'), 8);
  const submissionId = await insertEntrySubmission(client, tenantId, {
    requestHash: sha256(group.map((e) => e.itemKey).join('\n')),
    correlationId: parent.correlationId,
    options: under.options,
    parentId: under.parentId,
    feedId: 'feedId' in parent ? parent.feedId : null,
  });
  await addEntrySources(client, tenantId, submissionId, group);
  const postId = await insertEntryPost(client, {
    tenantId,
    submissionId,
    correlationId: parent.correlationId,
    brief: { keywords, entries: group.length, from: collected.kind, url: collected.url },
    terms: window > 0 ? [...new Set(group.flatMap((e) => [...termsOf.get(e)!]))] : null,
    windowMs: window,
  });
  return { submissionId, postId, entries: group.length };
}

/** After the commit: each new post's ingest job (inside a topic window it waits the window out). */
async function enqueueEntryPosts(
  deps: FanOutDeps,
  created: FanOutResult['created'],
  correlationId: string,
): Promise<void> {
  for (const child of created) {
    try {
      const data = { postId: child.postId, correlationId };
      // Inside a topic window the post's ingest waits it out, so that similar entries of later polls can still join.
      if (deps.config.TOPIC_WINDOW_MS > 0)
        await deps.queues.queues.ingest.add('ingest', data, {
          jobId: stageJobId(child.postId, 'ingest'),
          delay: deps.config.TOPIC_WINDOW_MS,
        });
      else await deps.queues.enqueue('ingest', data);
    } catch (err) {
      deps.log.warn(
        { postId: child.postId, err: (err as Error).message },
        'could not enqueue an entry; the stranded sweep will',
      );
    }
  }
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
