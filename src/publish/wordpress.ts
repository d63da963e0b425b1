import { PermanentError } from '../errors.ts';
import type { SafeFetcher } from '../fetch/safe-fetch.ts';
import { DestinationUnavailableError, isRetryableStatus, sendToDestination } from './http.ts';

// A small client of the WordPress REST API (application passwords), with what WordPress 6.1 needs:
// credentials checked on /users/me first (a wrong password is served as anonymous elsewhere), terms
// resolved by name (term_exists carries the id), and an idempotent upsert by an external id kept in
// post meta by the Blog Poster connector plugin (integrations/wordpress/blog-poster.php).
// Every call goes through the SSRF guard (the fetcher's `send`), with the current X-Request-Id.

export const EXTERNAL_ID_META = 'blog_poster_external_id';
/** Meta keys that hold a meta description, set when the site exposes them (our plugin, Yoast, Rank Math). */
export const DESCRIPTION_META_KEYS = [
  'blog_poster_meta_description',
  '_yoast_wpseo_metadesc',
  'rank_math_description',
] as const;
/** Meta keys that hold the page's `<title>`, set when the site exposes them (our plugin, Yoast, Rank Math). */
export const TITLE_META_KEYS = ['blog_poster_meta_title', '_yoast_wpseo_title', 'rank_math_title'] as const;

export type WordPressImage = {
  data: Uint8Array;
  contentType: string;
  filename: string;
  alt: string;
  /** Shown under the image (HTML, escaped by the caller): the credit of an image taken from a source. */
  caption?: string;
};

export type WordPressPostInput = {
  externalId: string;
  title: string;
  contentHtml: string;
  excerpt: string;
  slug: string;
  status: 'publish' | 'draft' | 'future';
  /** Required for `future`: when WordPress publishes it. */
  dateGmt?: Date;
  tags: string[];
  categories: string[];
  metaDescription: string;
  /** The page's `<title>`: the post's meta title (else the title). */
  metaTitle?: string | null;
  /** Loaded only when the post does not have its featured image yet (null: none to give). */
  featuredImage?: () => Promise<WordPressImage | null>;
};

export type WordPressPost = {
  id: number;
  slug: string;
  link: string;
  status: string;
  featuredMedia: number;
  created: boolean;
};

export type WordPressClientOptions = {
  url: string;
  username: string;
  password: string;
  timeoutMs?: number;
  fetcher: SafeFetcher;
};

type WpError = { code?: string; message?: string; data?: { status?: number; term_id?: number } };

export class WordPressError extends Error {
  override readonly name = 'WordPressError';
  readonly status: number;
  readonly code: string;
  readonly termId: number | undefined;
  constructor(message: string, status: number, code: string, termId?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.termId = termId;
  }
}

export function createWordPressClient(opts: WordPressClientOptions) {
  const site = opts.url.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 15_000;
  // Application passwords are shown with spaces; WordPress accepts them with or without.
  const password = opts.password.replace(/\s+/g, '');
  const authorization = `Basic ${Buffer.from(`${opts.username}:${password}`).toString('base64')}`;
  let metaKeys: Promise<Set<string>> | null = null;

  /** `?rest_route=` works whatever the site's permalink setting. */
  function endpoint(route: string, query: Record<string, string> = {}): string {
    const params = new URLSearchParams({ rest_route: route, ...query });
    return `${site}/?${params.toString().replace(/%2F/g, '/')}`;
  }

  async function call<T>(
    method: string,
    route: string,
    init: { query?: Record<string, string>; json?: unknown; body?: Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const what = `WordPress ${method} ${route}`;
    const headers: Record<string, string> = { authorization, accept: 'application/json', ...init.headers };
    let body: string | Uint8Array | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.body) {
      body = init.body;
    }
    const res = await sendToDestination(
      opts.fetcher,
      what,
      endpoint(route, init.query),
      { method, headers, ...(body !== undefined ? { body } : {}) },
      timeoutMs,
    );
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // A PHP notice or an HTML error page instead of JSON.
    }
    if (res.status >= 200 && res.status < 300) {
      if (parsed === null) throw new DestinationUnavailableError(`${what}: the answer was not JSON`, res.status);
      return parsed as T;
    }
    const err = (parsed ?? {}) as WpError;
    const code = err.code ?? `http_${res.status}`;
    const message = `${what} answered ${res.status} ${code}${err.message ? `: ${err.message}` : ''}`;
    if (isRetryableStatus(res.status)) throw new DestinationUnavailableError(message, res.status);
    throw new WordPressError(message, res.status, code, err.data?.term_id);
  }

  /** Turns WordPress errors that retrying cannot fix into PermanentError with a reason an operator can act on. */
  function permanentWhenFinal(err: unknown): never {
    if (err instanceof WordPressError) {
      if (err.status === 401 || err.status === 403) {
        throw new PermanentError(`${err.message} (check the user and application password of ${site})`);
      }
      if (err.code === 'rest_no_route')
        throw new PermanentError(`${err.message} (is the REST API enabled on ${site}?)`);
      if (err.status === 400 || err.status === 413 || err.status === 415) throw new PermanentError(err.message);
    }
    throw err;
  }

  async function checkCredentials(): Promise<{ id: number; name: string }> {
    try {
      const me = await call<{ id?: number; name?: string }>('GET', '/wp/v2/users/me', {
        query: { context: 'edit', _fields: 'id,name' },
      });
      if (typeof me.id !== 'number')
        throw new PermanentError(`WordPress ${site} did not identify the user ${opts.username}`);
      return { id: me.id, name: me.name ?? opts.username };
    } catch (err) {
      if (err instanceof WordPressError && err.status === 401) {
        throw new PermanentError(
          `WordPress ${site} refused the application password of user "${opts.username}" ` +
            `(401 ${err.code} from /wp/v2/users/me)`,
        );
      }
      return permanentWhenFinal(err);
    }
  }

  /** Registered meta keys of posts, from the route's schema. */
  function registeredMeta(): Promise<Set<string>> {
    metaKeys ??= call<{ schema?: { properties?: { meta?: { properties?: Record<string, unknown> } } } }>(
      'OPTIONS',
      '/wp/v2/posts',
    )
      .then((answer) => new Set(Object.keys(answer.schema?.properties?.meta?.properties ?? {})))
      .catch((err: unknown) => {
        metaKeys = null;
        throw err;
      });
    return metaKeys;
  }

  async function findByExternalId(externalId: string): Promise<{ id: number; featured_media: number } | null> {
    const found = await call<{ id: number; featured_media: number }[]>('GET', '/wp/v2/posts', {
      query: {
        [EXTERNAL_ID_META]: externalId,
        status: 'any',
        context: 'edit',
        _fields: 'id,featured_media',
        per_page: '10',
      },
    });
    if (found.length > 1) {
      throw new PermanentError(
        `WordPress ${site} has ${found.length} posts with ${EXTERNAL_ID_META} ${externalId} ` +
          `(ids ${found.map((p) => p.id).join(', ')}); remove the extra ones`,
      );
    }
    return found[0] ?? null;
  }

  /** A term's id by name: created, or the existing one from `term_exists`. */
  async function termId(taxonomy: 'tags' | 'categories', name: string): Promise<number> {
    try {
      const created = await call<{ id: number }>('POST', `/wp/v2/${taxonomy}`, { json: { name } });
      return created.id;
    } catch (err) {
      if (err instanceof WordPressError && err.code === 'term_exists' && typeof err.termId === 'number')
        return err.termId;
      return permanentWhenFinal(err);
    }
  }

  async function uploadImage(image: WordPressImage): Promise<number> {
    const media = await call<{ id: number }>('POST', '/wp/v2/media', {
      body: image.data,
      headers: {
        'content-type': image.contentType,
        'content-disposition': `attachment; filename="${image.filename.replace(/["\\\r\n]/g, '')}"`,
      },
    });
    await call('POST', `/wp/v2/media/${media.id}`, {
      json: { alt_text: image.alt, ...(image.caption ? { caption: image.caption } : {}) },
    });
    return media.id;
  }

  /**
   * Creates the post, or updates the one that carries the same external id (a retry after a crash
   * between WordPress answering and our commit). Callers serialise upserts of one external id.
   */
  async function upsertPost(input: WordPressPostInput): Promise<WordPressPost> {
    try {
      await checkCredentials();
      const meta = await registeredMeta();
      if (!meta.has(EXTERNAL_ID_META)) {
        throw new PermanentError(
          `WordPress ${site} does not expose the ${EXTERNAL_ID_META} meta: install ` +
            `the Blog Poster connector (integrations/wordpress/blog-poster.php) as ` +
            `a must-use plugin`,
        );
      }
      const existing = await findByExternalId(input.externalId);
      const tags = await Promise.all([...new Set(input.tags)].map((t) => termId('tags', t)));
      const categories = await Promise.all([...new Set(input.categories)].map((c) => termId('categories', c)));
      let featuredMedia = existing?.featured_media ?? 0;
      if (!featuredMedia && input.featuredImage) {
        const image = await input.featuredImage();
        if (image) featuredMedia = await uploadImage(image);
      }

      const postMeta: Record<string, string> = { [EXTERNAL_ID_META]: input.externalId };
      for (const key of DESCRIPTION_META_KEYS) if (meta.has(key)) postMeta[key] = input.metaDescription;
      for (const key of TITLE_META_KEYS) if (meta.has(key)) postMeta[key] = input.metaTitle || input.title;
      const body: Record<string, unknown> = {
        title: input.title,
        content: input.contentHtml,
        excerpt: input.excerpt,
        slug: input.slug,
        status: input.status,
        tags,
        meta: postMeta,
        ...(categories.length ? { categories } : {}),
        ...(featuredMedia ? { featured_media: featuredMedia } : {}),
        ...(input.dateGmt ? { date_gmt: input.dateGmt.toISOString().slice(0, 19) } : {}),
      };
      const saved = await call<{ id: number; slug: string; link: string; status: string; featured_media: number }>(
        'POST',
        existing ? `/wp/v2/posts/${existing.id}` : '/wp/v2/posts',
        { json: body },
      );
      // WordPress renames a clashing slug (-2): what it answers is what readers see.
      return {
        id: saved.id,
        slug: saved.slug,
        link: saved.link,
        status: saved.status,
        featuredMedia: saved.featured_media,
        created: !existing,
      };
    } catch (err) {
      return permanentWhenFinal(err);
    }
  }

  return { site, checkCredentials, registeredMeta, findByExternalId, termId, uploadImage, upsertPost, call };
}

export type WordPressClient = ReturnType<typeof createWordPressClient>;
