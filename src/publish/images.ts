import { Worker } from 'node:worker_threads';
import { errorMessage, PermanentError } from '../errors.ts';
import type { SafeFetcher } from '../fetch/safe-fetch.ts';
import type { Logger } from '../logger.ts';
import { plainLine } from '../text/plain-text.ts';
import type { CoverImage, CoverReply, CoverRequest } from './cover-thread.ts';
import { destinationError } from './http.ts';

// A post's featured image: the one its submission names; else the lead image its source's page
// showed (fetched through the guarded fetcher, its type read from its bytes, size and dimensions
// checked, the source credited); else a cover drawn from the title, offline, with fonts shipped in
// ./fonts so every machine draws the same pixels.

export type FeaturedImage = {
  data: Uint8Array;
  /** Read from the bytes, not from what a server said. */
  contentType: 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';
  /** A file name without a folder (letters, digits, dot, dash, underscore). */
  filename: string;
  alt: string;
  width: number;
  height: number;
  /** Whose image it is, shown beside it: the source page it was found on. */
  credit: { text: string; url: string } | null;
  origin: 'submission' | 'source' | 'generated';
};

export type LeadImage = {
  url: string;
  alt: string | null;
  caption: string | null;
  pageUrl?: string | null;
  siteName?: string | null;
};

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

/** What the image texts say, in the post's language (English for the others). */
const WORDS: Record<string, { cover: (t: string) => string; fromSource: (t: string) => string; credit: string }> = {
  en: {
    cover: (t) => `Cover image with the title “${t}”`,
    fromSource: (t) => `Image from the source of “${t}”`,
    credit: 'Image',
  },
  de: {
    cover: (t) => `Titelbild mit der Überschrift „${t}“`,
    fromSource: (t) => `Bild aus der Quelle von „${t}“`,
    credit: 'Bild',
  },
  fr: {
    cover: (t) => `Image de couverture avec le titre « ${t} »`,
    fromSource: (t) => `Image de la source de « ${t} »`,
    credit: 'Image',
  },
  es: {
    cover: (t) => `Imagen de portada con el título «${t}»`,
    fromSource: (t) => `Imagen de la fuente de «${t}»`,
    credit: 'Imagen',
  },
};
const words = (language: string | null | undefined) => WORDS[(language ?? 'en').slice(0, 2).toLowerCase()] ?? WORDS.en!;
type ImageType = (typeof IMAGE_TYPES)[number];

/** A lead image smaller than this is an icon or a tracking pixel, larger a poster nobody asked for. */
export const LEAD_IMAGE_LIMITS = { minWidth: 200, minHeight: 100, maxSide: 10_000, maxPixels: 40_000_000 };

/** The type and pixel size of PNG, JPEG, GIF and WebP bytes; null for anything else (SVG included). */
export function imageInfo(bytes: Uint8Array): { type: ImageType; width: number; height: number } | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR')
    return { type: 'image/png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b.length >= 10 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a'))
    return { type: 'image/gif', width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  if (b.length >= 30 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') {
    const chunk = b.toString('latin1', 12, 16);
    if (chunk === 'VP8 ' && b.length >= 30)
      return { type: 'image/webp', width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
    if (chunk === 'VP8L' && b.length >= 25) {
      const bits = b.readUInt32LE(21);
      return { type: 'image/webp', width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
    }
    if (chunk === 'VP8X')
      return { type: 'image/webp', width: b.readUIntLE(24, 3) + 1, height: b.readUIntLE(27, 3) + 1 };
    return null;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    // Walk the segments to the first start-of-frame marker, which carries the size.
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1]!;
      if (marker === 0xff) {
        i++;
        continue;
      }
      const length = b.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
        return { type: 'image/jpeg', height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      i += 2 + length;
    }
    return null;
  }
  return null;
}

function fileName(url: string, type: ImageType): string {
  let name = 'image';
  try {
    name =
      new URL(url).pathname
        .split('/')
        .pop()
        ?.replace(/\.[A-Za-z0-9]+$/, '')
        .replace(/[^A-Za-z0-9_-]/g, '')
        .slice(0, 80) || 'image';
  } catch {
    // Not a URL: the default name.
  }
  return `${name}.${type === 'image/jpeg' ? 'jpg' : type.split('/')[1]}`;
}

class NotAnImageError extends Error {}

/**
 * GETs an image through the guard: every address (and redirect) checked first, image types only, the size capped while
 * it streams.
 */
async function fetchImage(fetcher: SafeFetcher, url: string, maxBytes: number) {
  const answer = await fetcher.fetch(url, {
    allowedTypes: [...IMAGE_TYPES],
    accept: IMAGE_TYPES.join(', '),
    maxBytes,
    timeoutMs: 15_000,
  });
  const info = imageInfo(answer.bytes);
  if (!info) throw new NotAnImageError(`${url} is not a PNG, JPEG, GIF or WebP image (served as ${answer.mediaType})`);
  return { bytes: answer.bytes, info };
}

/**
 * The submission's own image: kept as the submitter chose it (its type read from its bytes, its size when readable).
 */
export async function submissionImage(
  fetcher: SafeFetcher,
  image: { url: string; alt: string },
  maxBytes: number,
): Promise<FeaturedImage> {
  let fetched: Awaited<ReturnType<typeof fetchImage>>;
  try {
    fetched = await fetchImage(fetcher, image.url, maxBytes);
  } catch (err) {
    if (err instanceof NotAnImageError) throw new PermanentError(`featured image ${err.message}`);
    throw destinationError(`featured image ${image.url}`, err);
  }
  return {
    data: fetched.bytes,
    contentType: fetched.info.type,
    filename: fileName(image.url, fetched.info.type),
    alt: plainLine(image.alt),
    width: fetched.info.width,
    height: fetched.info.height,
    credit: null,
    origin: 'submission',
  };
}

/** The source's lead image, or why it cannot be used (too small, too large, not an image, unreachable). */
export async function leadImage(
  fetcher: SafeFetcher,
  lead: LeadImage,
  title: string,
  maxBytes: number,
  language?: string | null,
): Promise<FeaturedImage> {
  const { bytes, info } = await fetchImage(fetcher, lead.url, maxBytes);
  const { minWidth, minHeight, maxSide, maxPixels } = LEAD_IMAGE_LIMITS;
  if (info.width < minWidth || info.height < minHeight)
    throw new Error(`${info.width}×${info.height} is smaller than ${minWidth}×${minHeight}`);
  if (info.width > maxSide || info.height > maxSide || info.width * info.height > maxPixels)
    throw new Error(`${info.width}×${info.height} is larger than ${maxSide} a side or ${maxPixels} pixels`);
  const alt = plainLine(lead.alt?.trim() || lead.caption?.trim() || words(language).fromSource(title)).slice(0, 300);
  const page = lead.pageUrl ?? lead.url;
  let host = page;
  try {
    host = new URL(page).hostname.replace(/^www\./, '');
  } catch {
    // Shown as it is.
  }
  const by = plainLine(lead.siteName?.trim() || host).slice(0, 120);
  return {
    data: bytes,
    contentType: info.type,
    filename: fileName(lead.url, info.type),
    alt,
    width: info.width,
    height: info.height,
    credit: { text: `${words(language).credit}: ${by}`, url: page },
    origin: 'source',
  };
}

// --- The generated cover (./cover.ts) --------------------------------------------------------------------

/**
 * The cover as PNG (./cover.ts), drawn offline with the shipped fonts only, so the bytes are the same everywhere. It
 * is drawn on a thread of its own (./cover-thread.ts), started by the first cover: drawing and encoding 1200×630
 * pixels is the largest CPU cost of a post in the offline pipeline, and on the event loop it held up every other
 * stage's work in the process.
 */
export async function renderCover(title: string, siteTitle: string, language?: string | null): Promise<FeaturedImage> {
  const { png, width, height } = await drawOnCoverThread(title, siteTitle);
  const clean = plainLine(title).trim();
  return {
    data: png,
    contentType: 'image/png',
    filename: 'cover.png',
    alt: words(language).cover(clean).slice(0, 300),
    width,
    height,
    credit: null,
    origin: 'generated',
  };
}

let coverThread: { worker: Worker; pending: Map<number, (reply: CoverReply) => void>; next: number } | null = null;

function drawOnCoverThread(title: string, siteTitle: string): Promise<CoverImage> {
  if (!coverThread) {
    // Its JavaScript holds one cover's SVG, pixels and PNG at a time: a small heap keeps the thread from adding the
    // 20-odd MiB of resident memory a default young generation grows to.
    const worker = new Worker(new URL('./cover-thread.ts', import.meta.url), {
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
    });
    // An idle thread does not keep the process alive; one drawing a cover does, until the cover is back.
    worker.unref();
    const thread = { worker, pending: new Map<number, (reply: CoverReply) => void>(), next: 0 };
    const fail = (error: string): void => {
      if (coverThread === thread) coverThread = null;
      for (const settle of thread.pending.values()) settle({ id: -1, error });
      thread.pending.clear();
    };
    worker.on('message', (reply: CoverReply) => {
      thread.pending.get(reply.id)?.(reply);
      thread.pending.delete(reply.id);
      if (thread.pending.size === 0) worker.unref();
    });
    worker.on('error', (err) => fail(`the cover thread failed: ${errorMessage(err)}`));
    worker.on('exit', (code) => fail(`the cover thread stopped (exit code ${code})`));
    coverThread = thread;
  }
  const thread = coverThread;
  const id = thread.next++;
  return new Promise((resolve, reject) => {
    thread.pending.set(id, (reply) => ('png' in reply ? resolve(reply) : reject(new Error(reply.error))));
    thread.worker.ref();
    thread.worker.postMessage({ id, title, siteTitle } satisfies CoverRequest);
  });
}

/**
 * The image a post is published with: the submission's (its failure fails the publication, as the
 * submitter asked for it), else the source's lead image when it passes the checks, else a cover.
 */
export async function featuredImageFor(
  deps: { fetcher: SafeFetcher; log: Logger; maxBytes: number; siteTitle: string },
  post: {
    title: string;
    featuredImage?: { url: string; alt: string } | undefined;
    sourceLeadImage: LeadImage | null;
    /** The post's language: the alt text and credit the image gets are in it (de, fr, es; English otherwise). */
    language?: string | null;
  },
): Promise<FeaturedImage | null> {
  if (post.featuredImage) return submissionImage(deps.fetcher, post.featuredImage, deps.maxBytes);
  if (post.sourceLeadImage?.url) {
    try {
      return await leadImage(deps.fetcher, post.sourceLeadImage, post.title, deps.maxBytes, post.language);
    } catch (err) {
      deps.log.warn(
        { url: post.sourceLeadImage.url, err: errorMessage(err) },
        'the source lead image cannot be used; a cover is generated instead',
      );
    }
  }
  try {
    return await renderCover(post.title, deps.siteTitle, post.language);
  } catch (err) {
    // A post is never held back for want of a picture.
    deps.log.error({ err: errorMessage(err) }, 'the cover could not be drawn; publishing without an image');
    return null;
  }
}
