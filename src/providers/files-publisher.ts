import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { PermanentError } from '../errors.ts';
import { markdownToSafeHtml } from '../text/html.ts';
import type { PublishablePost, PublishResult } from './types.ts';

export interface FilesPublisherOptions {
  dir: string;
  /** Public base URL the directory is served under; posts get a `url` and a canonical link only when set. */
  baseUrl?: string | null;
}

export interface FilesPublisher {
  publish(post: PublishablePost): Promise<PublishResult>;
}

// Both end up as path segments, so they must not be able to climb out of the output directory.
const SAFE_TENANT = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const SAFE_SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * Publish posts as static files: `<dir>/<tenantId>/<slug>.md` (YAML front matter and the Markdown body) and
 * `<dir>/<tenantId>/<slug>.html` (a complete page). Files are replaced atomically; publishing the same post
 * again writes the same bytes.
 */
export function createFilesPublisher(opts: FilesPublisherOptions): FilesPublisher {
  const root = path.resolve(opts.dir);
  const baseUrl = opts.baseUrl ? opts.baseUrl.replace(/\/+$/, '') : null;

  return {
    async publish(post: PublishablePost): Promise<PublishResult> {
      if (!SAFE_TENANT.test(post.tenantId)) throw new PermanentError(`tenant id ${JSON.stringify(post.tenantId)} cannot be used as a directory name`);
      if (!SAFE_SLUG.test(post.slug)) throw new PermanentError(`slug ${JSON.stringify(post.slug)} is not a valid slug`);

      const dir = path.join(root, post.tenantId);
      const markdownPath = path.join(dir, `${post.slug}.md`);
      const htmlPath = path.join(dir, `${post.slug}.html`);
      const url = baseUrl ? `${baseUrl}/${post.tenantId}/${post.slug}.html` : null;

      await mkdir(dir, { recursive: true });
      await writeAtomic(markdownPath, renderMarkdown(post));
      await writeAtomic(htmlPath, renderHtml(post, url));
      return { location: htmlPath, url, externalId: post.id, details: { markdownPath, htmlPath } };
    },
  };
}

export function renderMarkdown(post: PublishablePost): string {
  const frontMatter = toYaml({
    title: post.title,
    slug: post.slug,
    date: post.publishedAt.toISOString(),
    description: post.metaDescription,
    tags: post.tags,
    sources: post.citations.map((c) => ({ title: c.title, url: c.url })),
    id: post.id,
  });
  return `---\n${frontMatter}---\n\n${post.markdown.trimEnd()}\n`;
}

export function renderHtml(post: PublishablePost, url: string | null): string {
  const date = post.publishedAt.toISOString();
  const head = [
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(post.title)}</title>`,
    `<meta name="description" content="${escapeHtml(post.metaDescription)}">`,
    ...(post.tags.length ? [`<meta name="keywords" content="${escapeHtml(post.tags.join(', '))}">`] : []),
    ...(url ? [`<link rel="canonical" href="${escapeHtml(url)}">`] : []),
  ];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    ...head,
    '</head>',
    '<body>',
    '<article>',
    `<h1>${escapeHtml(post.title)}</h1>`,
    `<p><time datetime="${escapeHtml(date)}">${escapeHtml(date.slice(0, 10))}</time></p>`,
    markdownToSafeHtml(post.markdown).trim(),
    '</article>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Write to a temporary file beside the target, flush it to disk, then rename it over the target. */
async function writeAtomic(target: string, content: string): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(content, 'utf8');
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
