import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { errorMessage, isPermanent } from '../errors.ts';
import { createDestinationFetcher } from '../fetch/index.ts';
import type { SafeFetcher } from '../fetch/safe-fetch.ts';
import type { Logger } from '../logger.ts';
import { publishRequestsTotal } from '../metrics.ts';
import { type BreakerSpec, breakerWaitMs, isBreakerOpenError, throughBreaker } from '../resilience/breakers.ts';
import { createFilesPublisher, escapeHtml, type SiteEntry, type SiteOptions } from './files-publisher.ts';
import type { PublishablePost, PublishResult } from './types.ts';
import { markdownToSafeHtml } from '../text/html.ts';
import type { FilesConfig, Target, WebhookConfig, WordPressConfig } from './destinations.ts';
import type { PostForPublishing } from './post-data.ts';
import { afterRemotePublish } from './test-hooks.ts';
import { readCredential } from './credentials.ts';
import { sendWebhook } from './webhook.ts';
import { createWordPressClient } from './wordpress.ts';
import { featuredImageFor, type FeaturedImage } from './images.ts';

// Publishing one post to one destination, exactly once per run generation: the publication row is
// locked while the destination is called and marked published in the same transaction, so a retry
// skips a destination that already has the post, and a crash before the commit leaves the row
// pending for the retry to heal (WordPress finds its post again by the external id).

export type Outcome =
  | { kind: 'published'; result: PublishResult }
  | { kind: 'skipped' }
  | { kind: 'deferred'; waitMs: number; reason: string }
  | { kind: 'transient'; reason: string }
  | { kind: 'permanent'; reason: string };

export type PublishDeps = {
  db: Db;
  config: Config;
  log: Logger;
  /** The guarded fetcher for destinations and images; built from config when absent (tests inject one). */
  fetcher?: SafeFetcher;
};

type PublicationRow = { id: string; status: string; generation: number };

export async function publishToTarget(
  deps: PublishDeps,
  post: PostForPublishing,
  target: Target,
  generation: number,
): Promise<Outcome> {
  const { db, config, log } = deps;
  const label = `${target.kind} "${target.name}"`;
  await db.query(
    `INSERT INTO publications (post_id, destination, destination_id, kind, external_id, status, generation)
     VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT (post_id, destination) DO NOTHING`,
    [post.id, target.key, target.destinationId, target.kind, externalIdOf(post), generation],
  );
  // One breaker per destination. A refusal (wrong password, bad request) means the site is up: it does not count.
  const breaker: BreakerSpec = {
    errorThresholdPercentage: config.PUBLISH_BREAKER_ERROR_PERCENT,
    volumeThreshold: config.PUBLISH_BREAKER_VOLUME,
    resetTimeoutMs: config.PUBLISH_BREAKER_RESET_MS,
    gauge: `destination:${target.kind}`,
  };
  const breakerKey = `destination ${target.key}`;
  const destinationWaitMs = () => breakerWaitMs(breakerKey, 100);
  try {
    const outcome = await db.tx(async (client): Promise<Outcome> => {
      // Serialises publishers of this post and destination (a retry racing a stalled job's takeover).
      const { rows } = await client.query<PublicationRow>(
        `SELECT id, status, generation FROM publications WHERE post_id = $1 AND destination = $2 FOR UPDATE`,
        [post.id, target.key],
      );
      const row = rows[0]!;
      if (row.status === 'published' && row.generation >= generation) return { kind: 'skipped' };
      const waitMs = destinationWaitMs();
      if (waitMs > 0) return { kind: 'deferred', waitMs, reason: `${label} is unavailable (circuit open)` };

      const fetcher = deps.fetcher ?? createDestinationFetcher(config);
      const result = await throughBreaker(breakerKey, breaker, () =>
        send(deps, fetcher, post, target, row, generation),
      );
      afterRemotePublish(target.kind);
      await client.query(
        `UPDATE publications
            SET status = 'published', generation = $2, external_id = $3, location = $4, url = $5, details = $6,
                attempts = attempts + 1, last_error = NULL, published_at = now(), updated_at = now(),
                site_built = false
          WHERE id = $1`,
        [row.id, generation, result.externalId, result.location, result.url, JSON.stringify(result.details)],
      );
      return { kind: 'published', result };
    });
    publishRequestsTotal.inc({
      destination_kind: target.kind,
      outcome: outcome.kind === 'published' ? 'published' : outcome.kind,
    });
    return outcome;
  } catch (err) {
    const reason = `${label}: ${errorMessage(err)}`;
    let outcome: Outcome;
    if (isPermanent(err)) outcome = { kind: 'permanent', reason };
    else if (isBreakerOpenError(err) || destinationWaitMs() > 0) {
      // This failure opened the breaker (or it opened meanwhile): wait for the site instead of retrying.
      outcome = {
        kind: 'deferred',
        waitMs: Math.max(destinationWaitMs(), 100),
        reason: `${label} is unavailable (circuit open): ${errorMessage(err)}`,
      };
    } else outcome = { kind: 'transient', reason };
    publishRequestsTotal.inc({
      destination_kind: target.kind,
      outcome: outcome.kind === 'transient' ? 'retrying' : outcome.kind === 'permanent' ? 'failed' : 'deferred',
    });
    await db
      .query(
        `UPDATE publications SET attempts = attempts + 1, last_error = $3, updated_at = now(),
                status = CASE WHEN $4 AND status <> 'published' THEN 'failed' ELSE status END
          WHERE post_id = $1 AND destination = $2`,
        [post.id, target.key, reason.slice(0, 2000), outcome.kind === 'permanent'],
      )
      .catch((recordErr: unknown) =>
        log.warn({ err: errorMessage(recordErr) }, 'could not record the publication error'),
      );
    return outcome;
  }
}

/** The id a destination knows the post by: WordPress keeps it in post meta, the files name it in front matter. */
export function externalIdOf(post: { id: string }): string {
  return `bp-${post.id}`;
}

function publishable(post: PostForPublishing): PublishablePost {
  return {
    id: post.id,
    tenantId: post.tenantId,
    title: post.title!,
    slug: post.slug!,
    markdown: post.markdown!,
    metaDescription: post.metaDescription,
    metaTitle: post.metaTitle,
    tags: post.tags,
    citations: post.citations,
    publishedAt: post.publishedAt ?? new Date(),
    language: post.language,
    jsonLd: post.jsonLd,
  };
}

function extensionOf(type: FeaturedImage['contentType']): string {
  return type === 'image/jpeg' ? 'jpg' : type.split('/')[1]!;
}

async function send(
  deps: PublishDeps,
  fetcher: SafeFetcher,
  post: PostForPublishing,
  target: Target,
  row: PublicationRow,
  generation: number,
): Promise<PublishResult> {
  switch (target.kind) {
    case 'files': {
      const cfg = target.config as FilesConfig;
      const image = await imageFor(deps, fetcher, post);
      return filesPublisher(deps.config).publish(
        {
          ...publishable(post),
          image: image && { ...image, filename: `${post.slug}.${extensionOf(image.contentType)}` },
        },
        siteOptions(cfg),
      );
    }
    case 'wordpress':
      return publishToWordPress(deps, fetcher, post, target.config as WordPressConfig);
    case 'webhook': {
      const cfg = target.config as WebhookConfig;
      // One id per publication and run: every retry of this delivery carries it, so receivers deduplicate.
      const id = `msg_${row.id.replaceAll('-', '')}_g${generation}`;
      const secret = await readCredential(
        deps,
        post.tenantId,
        { env: cfg.secretEnv, secret: cfg.secretName },
        'the webhook signing secret',
      );
      const answer = await sendWebhook(
        fetcher,
        { url: cfg.url, secret, timeoutMs: cfg.timeoutMs },
        { id, type: 'post.published', data: postPayload(post) },
      );
      return { location: cfg.url, url: null, externalId: id, details: { webhookId: id, status: answer.status } };
    }
  }
}

async function publishToWordPress(
  deps: PublishDeps,
  fetcher: SafeFetcher,
  post: PostForPublishing,
  cfg: WordPressConfig,
): Promise<PublishResult> {
  const password = await readCredential(
    deps,
    post.tenantId,
    { env: cfg.passwordEnv, secret: cfg.passwordSecret },
    'the WordPress application password',
  );
  const client = createWordPressClient({
    url: cfg.url,
    username: cfg.username,
    password,
    timeoutMs: cfg.timeoutMs,
    fetcher,
  });
  const saved = await client.upsertPost({
    externalId: externalIdOf(post),
    title: post.title!,
    contentHtml: bodyHtml(post.markdown!),
    excerpt: post.metaDescription,
    slug: post.slug!,
    status: cfg.status,
    tags: post.tags,
    categories: [...cfg.categories, ...(post.category ? [post.category] : [])],
    metaDescription: post.metaDescription,
    metaTitle: post.metaTitle,
    featuredImage: async () => {
      const image = await imageFor(deps, fetcher, post);
      if (!image) return null;
      return {
        data: image.data,
        contentType: image.contentType,
        filename: image.origin === 'generated' ? `${post.slug}-cover.png` : image.filename,
        alt: image.alt,
        // The credit links to its page only when that is an http(s) URL (a source's canonical link is its own say).
        ...(image.credit
          ? {
              caption: /^https?:\/\//i.test(image.credit.url)
                ? `<a href="${escapeHtml(image.credit.url)}">${escapeHtml(image.credit.text)}</a>`
                : escapeHtml(image.credit.text),
            }
          : {}),
      };
    },
  });
  return {
    location: saved.link,
    url: saved.link,
    externalId: externalIdOf(post),
    details: {
      wordpressId: saved.id,
      slug: saved.slug,
      status: saved.status,
      featuredMedia: saved.featuredMedia,
      created: saved.created,
    },
  };
}

/** The post body as HTML; the destination shows the title itself, so the body's headings start at h2. */
export function bodyHtml(markdown: string): string {
  return markdownToSafeHtml(markdown)
    .trim()
    .replace(/<(\/?)h1(\s|>)/gi, '<$1h2$2');
}

const images = new WeakMap<PostForPublishing, Promise<FeaturedImage | null>>();

/** The post's featured image, found (or drawn) once per run for all its destinations. */
export function imageFor(
  deps: PublishDeps,
  fetcher: SafeFetcher,
  post: PostForPublishing,
): Promise<FeaturedImage | null> {
  let found = images.get(post);
  if (!found) {
    const explicit =
      post.options.featuredImage ??
      (post.heroImage?.url ? { url: post.heroImage.url, alt: post.heroImage.alt ?? post.title! } : undefined);
    found = featuredImageFor(
      { fetcher, log: deps.log, maxBytes: deps.config.PUBLISH_IMAGE_MAX_BYTES, siteTitle: deps.config.SITE_TITLE },
      { title: post.title!, featuredImage: explicit, sourceLeadImage: post.sourceLeadImage, language: post.language },
    );
    // A failure is not kept: the retry tries again.
    found.catch(() => images.delete(post));
    images.set(post, found);
  }
  return found;
}

function siteOptions(cfg: FilesConfig): SiteOptions {
  return {
    ...(cfg.subdir ? { subdir: cfg.subdir } : {}),
    ...(cfg.baseUrl ? { siteUrl: cfg.baseUrl } : {}),
    ...(cfg.indexNow?.enabled ? { indexNowKey: cfg.indexNow.key } : {}),
  };
}

let files: { key: string; publisher: ReturnType<typeof createFilesPublisher> } | null = null;
function filesPublisher(config: Config) {
  const key = `${config.OUTPUT_DIR}\n${config.PUBLIC_SITE_URL ?? ''}\n${config.SITE_TITLE}`;
  if (files?.key !== key)
    files = {
      key,
      publisher: createFilesPublisher({
        dir: config.OUTPUT_DIR,
        baseUrl: config.PUBLIC_SITE_URL ?? null,
        siteTitle: config.SITE_TITLE,
      }),
    };
  return files.publisher;
}

/**
 * Rewrites the index, feed and sitemap of a static site from every post published to its folder, by any
 * destination of the tenant (two `files` destinations at one subdir, or one without a subdir and the
 * built-in site, are one site, not two that overwrite each other). An advisory lock per folder orders
 * the rebuilds, so the last one to run has read every committed publication.
 */
export async function rebuildSite(deps: PublishDeps, tenantId: string, target: Target): Promise<void> {
  const publisher = filesPublisher(deps.config);
  const site = siteOptions(target.config as FilesConfig);
  const folder = publisher.folder(tenantId, site);
  await deps.db.tx(async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`blog-poster:site:${folder}`]);
    const { rows: entries, read } = await publishedToFolder(client, tenantId, folder);
    await publisher.buildSite(tenantId, entries, site);
    // The publications this build read are in the site now, unless one changed since it was read (its own request,
    // or the scheduler's sweep, rebuilds again).
    await client.query(
      `UPDATE publications pub SET site_built = true
         FROM unnest($1::uuid[], $2::text[]) AS r(id, stamp)
        WHERE pub.id = r.id AND pub.updated_at = r.stamp::timestamptz AND NOT pub.site_built`,
      [read.map((r) => r.id), read.map((r) => r.stamp)],
    );
  });
}

/**
 * The site entries of the tenant's posts whose page was published into `folder` (a files publication's location is
 * the page's path), and every published files publication in that folder as read (its id and its updated_at as text,
 * exact to the microsecond): one statement, so both are of one snapshot.
 */
async function publishedToFolder(db: Pick<Db, 'query'>, tenantId: string, folder: string) {
  const { rows: all } = await db.query<{
    pub_id: string;
    stamp: string;
    location: string;
    id: string;
    title: string | null;
    slug: string | null;
    meta_description: string | null;
    tags: string[];
    published_at: Date;
    updated_at: Date;
  }>(
    `SELECT pub.id AS pub_id, pub.updated_at::text AS stamp, pub.location, p.id, p.title, p.slug, p.meta_description,
            p.tags, pub.published_at, pub.updated_at
       FROM publications pub JOIN posts p ON p.id = pub.post_id
      WHERE p.tenant_id = $1 AND pub.kind = 'files' AND pub.status = 'published'
        AND left(pub.location, length($2) + 1) = $2 || '/' AND strpos(substr(pub.location, length($2) + 2), '/') = 0
      ORDER BY p.id, pub.updated_at DESC`,
    [tenantId, folder],
  );
  // Each post's page in this folder, from its latest publication (the rows come by post, latest first).
  const rows: SiteEntry[] = [];
  for (const r of all) {
    if (r.title === null || r.slug === null || r.location !== `${folder}/${r.slug}.html`) continue;
    if (rows.at(-1)?.id === r.id) continue;
    rows.push({
      id: r.id,
      title: r.title,
      slug: r.slug,
      description: r.meta_description ?? '',
      tags: r.tags,
      publishedAt: r.published_at,
      updatedAt: r.updated_at,
    });
  }
  return { rows, read: all.map((r) => ({ id: r.pub_id, stamp: r.stamp })) };
}

/** The post as webhooks and callbacks carry it. */
export function postPayload(post: PostForPublishing) {
  return {
    id: post.id,
    submissionId: post.submissionId,
    title: post.title,
    slug: post.slug,
    metaTitle: post.metaTitle,
    metaDescription: post.metaDescription,
    tags: post.tags,
    citations: post.citations,
    markdown: post.markdown,
    html: post.markdown ? bodyHtml(post.markdown) : null,
    publishedAt: (post.publishedAt ?? new Date()).toISOString(),
  };
}

/** The public URL of the post's page at a destination, as its publication recorded it. */
export async function publishedUrl(db: Db, postId: string, destination: string): Promise<string | null> {
  const { rows } = await db.query<{ url: string | null }>(
    `SELECT url FROM publications WHERE post_id = $1 AND destination = $2`,
    [postId, destination],
  );
  return rows[0]?.url ?? null;
}
