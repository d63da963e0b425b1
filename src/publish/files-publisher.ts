import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { PermanentError } from '../errors.ts';
import { documentTitle } from '../llm/post.ts';
import { feedsmith, yaml } from '../heavy-deps.ts';
import { markdownToSafeHtml } from '../text/html.ts';
import { plainLine, plainText } from '../text/plain-text.ts';
import type { PublishablePost, PublishResult } from './types.ts';

export interface FilesPublisherOptions {
  dir: string;
  /** Public base URL the directory is served under; posts get a `url` and a canonical link only when set. */
  baseUrl?: string | null;
  /** Title of each tenant's site (index page and feed). */
  siteTitle?: string;
}

/** One folder of the output: `<dir>/<tenant>[/<subdir>]`, served at `siteUrl` when known. */
export interface SiteOptions {
  subdir?: string;
  /** Overrides `<baseUrl>/<tenant>[/<subdir>]`. */
  siteUrl?: string | null;
  /** An IndexNow key: the site serves it as `<key>.txt` (./indexnow.ts). */
  indexNowKey?: string;
}

/** A published post as the index, the feed and the sitemap list it. */
export interface SiteEntry {
  id: string;
  title: string;
  slug: string;
  description: string;
  tags: string[];
  publishedAt: Date;
  updatedAt: Date;
}

export interface FilesPublisher {
  publish(post: PublishablePost, site?: SiteOptions): Promise<PublishResult>;
  /** The folder a site is written to: every destination (and the built-in site) at one folder is one site. */
  folder(tenantId: string, site?: SiteOptions): string;
  /** Rewrites index.html, feed.xml (Atom) and sitemap.xml of a tenant's site from its published posts. */
  buildSite(tenantId: string, entries: SiteEntry[], site?: SiteOptions): Promise<{ folder: string; files: string[] }>;
}

// Both end up as path segments, so they must not be able to climb out of the output directory.
const SAFE_TENANT = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const SAFE_SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const FEED_ENTRIES = 50;

const templates = {
  post: readFileSync(new URL('../publish/templates/post.html', import.meta.url), 'utf8'),
  index: readFileSync(new URL('../publish/templates/index.html', import.meta.url), 'utf8'),
};

/**
 * Publish posts as a static site: `<dir>/<tenantId>/<slug>.md` (YAML front matter and the Markdown body),
 * `<dir>/<tenantId>/<slug>.html` (a page from the post template), and per tenant an index, an Atom feed and
 * a sitemap. Every file is replaced atomically; publishing the same post again writes the same bytes.
 */
export function createFilesPublisher(opts: FilesPublisherOptions): FilesPublisher {
  const root = path.resolve(opts.dir);
  const baseUrl = opts.baseUrl ? opts.baseUrl.replace(/\/+$/, '') : null;
  const siteTitle = plainLine(opts.siteTitle ?? 'Blog');

  function folderOf(tenantId: string, site: SiteOptions = {}) {
    if (!SAFE_TENANT.test(tenantId))
      throw new PermanentError(`tenant id ${JSON.stringify(tenantId)} cannot be used as a directory name`);
    if (site.subdir !== undefined && !SAFE_SLUG.test(site.subdir))
      throw new PermanentError(`subdir ${JSON.stringify(site.subdir)} is not a valid folder name`);
    const folder = site.subdir ? path.join(root, tenantId, site.subdir) : path.join(root, tenantId);
    const url =
      site.siteUrl !== undefined
        ? (site.siteUrl?.replace(/\/+$/, '') ?? null)
        : baseUrl
          ? `${baseUrl}/${tenantId}${site.subdir ? `/${site.subdir}` : ''}`
          : null;
    return { folder, url };
  }

  return {
    folder: (tenantId, site) => folderOf(tenantId, site).folder,

    async publish(raw, site) {
      const post = plainPost(raw);
      const { folder, url: siteUrl } = folderOf(post.tenantId, site);
      if (!SAFE_SLUG.test(post.slug)) throw new PermanentError(`slug ${JSON.stringify(post.slug)} is not a valid slug`);
      const markdownPath = path.join(folder, `${post.slug}.md`);
      const htmlPath = path.join(folder, `${post.slug}.html`);
      const url = siteUrl ? `${siteUrl}/${post.slug}.html` : null;

      await mkdir(folder, { recursive: true });
      let image: PageImage | null = null;
      if (post.image) {
        // The image beside the page, under media/, named after the post (its slug, which is safe as a path).
        const ext = path.extname(post.image.filename).replace(/[^a-z0-9.]/gi, '') || '.img';
        const file = `media/${post.slug}${ext}`;
        await mkdir(path.join(folder, 'media'), { recursive: true });
        await writeAtomic(path.join(folder, file), post.image.data);
        image = { ...post.image, src: file, absoluteUrl: siteUrl ? `${siteUrl}/${file}` : null };
      }
      await writeAtomic(markdownPath, renderMarkdown(post));
      await writeAtomic(htmlPath, renderHtml(post, url, siteTitle, image));
      return {
        location: htmlPath,
        url,
        externalId: post.id,
        details: {
          markdownPath,
          htmlPath,
          ...(image
            ? { image: { path: image.src, width: image.width, height: image.height, url: image.absoluteUrl } }
            : {}),
        },
      };
    },

    async buildSite(tenantId, entries, site) {
      const { folder, url: siteUrl } = folderOf(tenantId, site);
      const sorted = entries
        .map(plainEntry)
        .sort((a, b) => b.publishedAt.getTime() - a.publishedAt.getTime() || a.slug.localeCompare(b.slug));
      await mkdir(folder, { recursive: true });
      // Without a public URL the feed links relatively (a reader resolves them against the feed's own
      // address), and the sitemap, whose locations must be absolute, is not written: never a server path.
      // The index last: once it lists a post, the feed, the sitemap and the key file that go with it are written.
      const files: Record<string, string> = {
        'feed.xml': renderFeed(sorted.slice(0, FEED_ENTRIES), siteTitle, siteUrl, folderId(tenantId, site)),
        ...(siteUrl ? { 'sitemap.xml': renderSitemap(sorted, siteUrl) } : {}),
        ...(site?.indexNowKey ? { [`${site.indexNowKey}.txt`]: site.indexNowKey } : {}),
        'index.html': renderIndex(sorted, siteTitle, siteUrl),
      };
      if (!siteUrl) await rm(path.join(folder, 'sitemap.xml'), { force: true });
      for (const [name, content] of Object.entries(files)) await writeAtomic(path.join(folder, name), content);
      return { folder, files: Object.keys(files).map((f) => path.join(folder, f)) };
    },
  };
}

/** Every text field of a post as plain text: no control characters in any file (../text/plain-text.ts). */
function plainPost(post: PublishablePost): PublishablePost {
  return {
    ...post,
    title: plainLine(post.title),
    metaTitle: post.metaTitle && plainLine(post.metaTitle),
    metaDescription: plainLine(post.metaDescription),
    tags: post.tags.map(plainLine),
    citations: post.citations.map((c) => ({ ...c, title: plainLine(c.title), url: c.url && plainLine(c.url) })),
    markdown: plainText(post.markdown),
  };
}

function plainEntry(entry: SiteEntry): SiteEntry {
  return {
    ...entry,
    title: plainLine(entry.title),
    description: plainLine(entry.description),
    tags: entry.tags.map(plainLine),
  };
}

/** A stable id for a site without a public URL (an Atom feed needs one): its tenant and folder. */
function folderId(tenantId: string, site: SiteOptions = {}): string {
  return `urn:blog-poster:site:${tenantId}${site.subdir ? `:${site.subdir}` : ''}`;
}

export function renderMarkdown(post: PublishablePost): string {
  // Every string double-quoted: a title such as `yes`, `- x`, `{a: b}` or `--- ` stays one string.
  const frontMatter = yaml().stringify(
    {
      title: post.title,
      slug: post.slug,
      date: post.publishedAt.toISOString(),
      description: post.metaDescription,
      tags: post.tags,
      sources: post.citations.map((c) => ({ title: c.title, url: c.url })),
      ...(post.language ? { lang: post.language } : {}),
      id: post.id,
    },
    { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', lineWidth: 0 },
  );
  return `---\n${frontMatter}---\n\n${post.markdown.trimEnd()}\n`;
}

/** `{{name}}` is escaped text, `{{{name}}}` trusted HTML; unknown names are left empty. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template
    .replace(/\{\{\{(\w+)\}\}\}\n?/g, (_, key: string) => (values[key] ? `${values[key]}\n` : ''))
    .replace(/\{\{(\w+)\}\}/g, (_, key: string) => escapeHtml(values[key] ?? ''));
}

/** The featured image as the page shows it: its file beside the page, and its public URL when the site has one. */
export type PageImage = NonNullable<PublishablePost['image']> & { src: string; absoluteUrl: string | null };

const isHttpUrl = (u: string) => /^https?:\/\//i.test(u);

/** Open Graph and Twitter card meta; every value is escaped (titles and alt texts come from outside). */
function socialMeta(post: PublishablePost, url: string | null, siteTitle: string, image: PageImage | null): string[] {
  const meta = (attr: 'property' | 'name', key: string, value: string) =>
    `<meta ${attr}="${key}" content="${escapeHtml(value)}">`;
  const date = post.publishedAt.toISOString();
  const shared = image?.absoluteUrl ? image : null;
  return [
    meta('property', 'og:type', 'article'),
    meta('property', 'og:title', post.title),
    meta('property', 'og:description', post.metaDescription),
    meta('property', 'og:site_name', siteTitle),
    ...(url ? [meta('property', 'og:url', url)] : []),
    ...(post.language ? [meta('property', 'og:locale', post.language.replace('-', '_'))] : []),
    ...(shared
      ? [
          meta('property', 'og:image', shared.absoluteUrl!),
          meta('property', 'og:image:type', shared.contentType),
          meta('property', 'og:image:width', String(shared.width)),
          meta('property', 'og:image:height', String(shared.height)),
          meta('property', 'og:image:alt', shared.alt),
        ]
      : []),
    meta('property', 'article:published_time', date),
    ...post.tags.map((t) => meta('property', 'article:tag', t)),
    meta('name', 'twitter:card', shared ? 'summary_large_image' : 'summary'),
    meta('name', 'twitter:title', post.title),
    meta('name', 'twitter:description', post.metaDescription),
    ...(shared
      ? [meta('name', 'twitter:image', shared.absoluteUrl!), meta('name', 'twitter:image:alt', shared.alt)]
      : []),
  ];
}

/**
 * The post's JSON-LD with what only the publisher knows (URL, dates, image). Serialised so that no
 * string in it can close the script element: <, > and & (and the JS line separators) are escaped.
 */
function jsonLdScript(post: PublishablePost, url: string | null, image: PageImage | null): string {
  const base = post.jsonLd ?? {
    '@context': 'https://schema.org',
    '@type': 'BlogPosting',
    headline: post.title,
    description: post.metaDescription,
  };
  const data: Record<string, unknown> = {
    ...base,
    datePublished: post.publishedAt.toISOString(),
    ...(url ? { url, mainEntityOfPage: url } : {}),
  };
  if (image)
    data.image = {
      '@type': 'ImageObject',
      ...(image.absoluteUrl ? { url: image.absoluteUrl } : { contentUrl: image.src }),
      width: image.width,
      height: image.height,
      caption: image.alt,
      ...(image.credit ? { creditText: image.credit.text } : {}),
    };
  const json = JSON.stringify(data).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `<script type="application/ld+json">${json}</script>`;
}

function figure(image: PageImage): string {
  const credit = image.credit
    ? `<figcaption>${
        isHttpUrl(image.credit.url)
          ? `<a href="${escapeHtml(image.credit.url)}" rel="nofollow noopener">${escapeHtml(image.credit.text)}</a>`
          : escapeHtml(image.credit.text)
      }</figcaption>`
    : '';
  const size = `width="${image.width}" height="${image.height}"`;
  return `<figure><img src="${escapeHtml(image.src)}" ${size} alt="${escapeHtml(image.alt)}">${credit}</figure>`;
}

export function renderHtml(
  post: PublishablePost,
  url: string | null,
  siteTitle = 'Blog',
  image: PageImage | null = null,
): string {
  const date = post.publishedAt.toISOString();
  const headExtra = [
    ...(post.tags.length ? [`<meta name="keywords" content="${escapeHtml(post.tags.join(', '))}">`] : []),
    ...(url ? [`<link rel="canonical" href="${escapeHtml(url)}">`] : []),
    ...socialMeta(post, url, siteTitle, image),
    jsonLdScript(post, url, image),
  ].join('\n');
  // The title is the page's one h1: headings of the body start at h2.
  const body = markdownToSafeHtml(post.markdown)
    .trim()
    .replace(/<(\/?)h1(\s|>)/gi, '<$1h2$2');
  const content = image ? `${figure(image)}\n${body}` : body;
  return renderTemplate(templates.post, {
    lang: post.language ?? 'en',
    title: post.title,
    pageTitle: documentTitle(post.metaTitle || post.title, siteTitle),
    description: post.metaDescription,
    siteTitle,
    headExtra,
    date,
    day: date.slice(0, 10),
    content,
  });
}

function renderIndex(entries: SiteEntry[], siteTitle: string, siteUrl: string | null): string {
  const items = entries
    .map((e) => {
      const day = e.publishedAt.toISOString();
      const link = `<a href="${escapeHtml(`${e.slug}.html`)}">${escapeHtml(e.title)}</a>`;
      const time = `<time datetime="${day}">${day.slice(0, 10)}</time>`;
      return `<li>${link} ${time}<p>${escapeHtml(e.description)}</p></li>`;
    })
    .join('\n');
  return renderTemplate(templates.index, {
    lang: 'en',
    siteTitle,
    description: `${siteTitle}: ${entries.length} post${entries.length === 1 ? '' : 's'}`,
    headExtra: siteUrl ? `<link rel="canonical" href="${escapeHtml(`${siteUrl}/`)}">` : '',
    items,
  });
}

function renderFeed(entries: SiteEntry[], siteTitle: string, siteUrl: string | null, siteId: string): string {
  const updated = new Date(Math.max(0, ...entries.map((e) => e.updatedAt.getTime())));
  // Relative references (RFC 4287 allows them) when the site's public URL is not known.
  const base = siteUrl ? `${siteUrl}/` : '';
  return feedsmith().generateAtomFeed({
    id: siteUrl ? `${siteUrl}/` : siteId,
    title: { value: siteTitle },
    updated: entries.length ? updated : new Date(0),
    links: [
      { href: `${base}feed.xml`, rel: 'self', type: 'application/atom+xml' },
      { href: base || './', rel: 'alternate', type: 'text/html' },
    ],
    generator: { text: 'Blog Poster' },
    entries: entries.map((e) => ({
      // A URN, not the URL: the entry keeps its identity if the site moves.
      id: `urn:uuid:${e.id}`,
      title: { value: e.title },
      updated: e.updatedAt,
      published: e.publishedAt,
      summary: { value: e.description },
      links: [{ href: `${base}${e.slug}.html`, rel: 'alternate', type: 'text/html' }],
      categories: e.tags.map((term) => ({ term })),
    })),
  });
}

function renderSitemap(entries: SiteEntry[], siteUrl: string): string {
  const latest = new Date(Math.max(0, ...entries.map((e) => e.updatedAt.getTime())));
  const urls = [
    `  <url><loc>${escapeXml(`${siteUrl}/`)}</loc>` +
      `${entries.length ? `<lastmod>${latest.toISOString()}</lastmod>` : ''}</url>`,
    ...entries.map(
      (e) =>
        `  <url><loc>${escapeXml(`${siteUrl}/${e.slug}.html`)}</loc>` +
        `<lastmod>${e.updatedAt.toISOString()}</lastmod></url>`,
    ),
  ];
  const urlset = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">';
  return `<?xml version="1.0" encoding="UTF-8"?>\n${urlset}\n${urls.join('\n')}\n</urlset>\n`;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === "'" ? '&apos;' : ENTITIES[c]!));
}

/** Write to a temporary file beside the target, flush it to disk, then rename it over the target. */
export async function writeAtomic(target: string, content: string | Uint8Array): Promise<void> {
  const temp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await (typeof content === 'string' ? handle.writeFile(content, 'utf8') : handle.writeFile(content));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
