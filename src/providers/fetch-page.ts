export interface FetchPageOptions {
  timeoutMs?: number;
  maxBytes?: number;
  userAgent?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export interface FetchedPage {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  contentType: string;
  body: string;
}

/** A failed fetch. `permanent` errors will fail the same way on retry; the others may not. */
export class FetchError extends Error {
  readonly permanent: boolean;
  readonly status?: number;

  constructor(message: string, opts: { permanent: boolean; status?: number; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FetchError';
    this.permanent = opts.permanent;
    if (opts.status !== undefined) this.status = opts.status;
  }
}

export const DEFAULT_USER_AGENT = 'BlogPoster/0.1 (+https://github.com/blog-poster)';
const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const ALLOWED_TYPES = new Set(['text/html', 'application/xhtml+xml', 'text/plain', 'text/markdown', 'text/x-markdown']);
const ACCEPT = 'text/html,application/xhtml+xml;q=0.9,text/markdown;q=0.9,text/plain;q=0.8';

/**
 * GET a page as text: redirects followed (at most 5), content type allowlisted, body capped while streaming,
 * decoded with the charset the server declares (UTF-8 otherwise).
 */
export async function fetchPage(url: string, opts: FetchPageOptions = {}): Promise<FetchedPage> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const extra = lowerKeys(opts.headers ?? {});
  const headers: Record<string, string> = {
    accept: ACCEPT,
    ...extra,
    'user-agent': opts.userAgent ?? extra['user-agent'] ?? DEFAULT_USER_AGENT,
  };

  let current = parseHttpUrl(url);
  try {
    for (let redirects = 0; ; redirects++) {
      // SSRF guard (resolve host, refuse private/loopback addresses) plugs in here, before each request.
      const response = await fetch(current, { method: 'GET', headers, redirect: 'manual', signal });

      if (REDIRECT_STATUSES.has(response.status)) {
        await response.body?.cancel();
        const location = response.headers.get('location');
        if (!location) throw new FetchError(`redirect ${response.status} without Location from ${current.href}`, { permanent: true, status: response.status });
        if (redirects >= MAX_REDIRECTS) throw new FetchError(`more than ${MAX_REDIRECTS} redirects from ${url}`, { permanent: true, status: response.status });
        current = parseHttpUrl(location, current);
        continue;
      }

      if (!response.ok) {
        await response.body?.cancel();
        const status = response.status;
        const transient = status === 408 || status === 429 || status >= 500;
        throw new FetchError(`HTTP ${status} from ${current.href}`, { permanent: !transient, status });
      }

      const contentType = response.headers.get('content-type') ?? '';
      const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
      if (!ALLOWED_TYPES.has(mediaType)) {
        await response.body?.cancel();
        throw new FetchError(`content type "${contentType || '(none)'}" is not allowed (${current.href})`, { permanent: true, status: response.status });
      }

      const declared = Number(response.headers.get('content-length'));
      if (Number.isFinite(declared) && declared > maxBytes) {
        await response.body?.cancel();
        throw tooLarge(current, maxBytes, response.status);
      }

      const bytes = await readCapped(response, maxBytes, current);
      return { url: current.href, status: response.status, contentType, body: decode(bytes, contentType) };
    }
  } catch (err) {
    if (err instanceof FetchError) throw err;
    if (timeout.aborted) throw new FetchError(`timed out after ${timeoutMs} ms fetching ${current.href}`, { permanent: false, cause: err });
    if (opts.signal?.aborted) throw new FetchError(`fetch of ${current.href} aborted`, { permanent: false, cause: err });
    // fetch() reports DNS failures, refused connections and resets as a TypeError with a cause.
    const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    throw new FetchError(`could not fetch ${current.href}: ${reason}`, { permanent: false, cause: err });
  }
}

function parseHttpUrl(raw: string, base?: URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(raw, base);
  } catch (err) {
    throw new FetchError(`invalid URL: ${raw}`, { permanent: true, cause: err });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new FetchError(`only http and https URLs can be fetched, not ${parsed.protocol}`, { permanent: true });
  }
  return parsed;
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function tooLarge(url: URL, maxBytes: number, status: number): FetchError {
  return new FetchError(`body of ${url.href} exceeds ${maxBytes} bytes`, { permanent: true, status });
}

async function readCapped(response: Response, maxBytes: number, url: URL): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(url, maxBytes, response.status);
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function decode(bytes: Uint8Array, contentType: string): string {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType)?.[1];
  if (charset) {
    try {
      return new TextDecoder(charset).decode(bytes);
    } catch {
      // An unknown label makes TextDecoder throw a RangeError; fall through to UTF-8.
    }
  }
  return new TextDecoder('utf-8').decode(bytes);
}
