import { decodeBody } from '../fetch/charset.ts';
import {
  createSafeFetcher,
  DEFAULT_USER_AGENT,
  FetchError,
  type SafeFetcher,
  type SafeFetcherOptions,
} from '../fetch/safe-fetch.ts';

// Fetching a page as text, through the safe fetcher in src/fetch (the one module every fetch of a
// user-supplied URL goes through).

export { DEFAULT_USER_AGENT, FetchError };

export const PAGE_TYPES = [
  'text/html',
  'application/xhtml+xml',
  'text/plain',
  'text/markdown',
  'text/x-markdown',
] as const;
const ACCEPT = 'text/html,application/xhtml+xml;q=0.9,text/markdown;q=0.9,text/plain;q=0.8';

export interface FetchPageOptions extends SafeFetcherOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** A fetcher to reuse; otherwise one is made from the options. */
  fetcher?: SafeFetcher;
}

export interface FetchedPage {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  contentType: string;
  /** The charset the body was decoded with (header, BOM or the document's own declaration). */
  charset: string;
  body: string;
}

/**
 * GET a page as text: checked against the SSRF policy on every hop, redirects followed (at most 5),
 * content type allowlisted, body capped while streaming, decoded with the declared charset.
 */
export async function fetchPage(url: string, opts: FetchPageOptions = {}): Promise<FetchedPage> {
  const fetcher = opts.fetcher ?? createSafeFetcher(opts);
  const fetched = await fetcher.fetch(url, {
    allowedTypes: PAGE_TYPES,
    accept: ACCEPT,
    ...(opts.headers ? { headers: opts.headers } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const { text, charset } = decodeBody(fetched.bytes, fetched.contentType);
  return { url: fetched.url, status: fetched.status, contentType: fetched.contentType, charset, body: text };
}
