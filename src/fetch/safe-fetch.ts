import { lookup } from 'node:dns/promises';
import type { Agent, Response as UndiciResponse } from 'undici';
import { undici } from '../heavy-deps.ts';
import { isIpLiteral, normaliseHost, parseHostAllowlist, refusedAddressReason } from './address-policy.ts';
import { correlationHeaders } from '../correlation.ts';
import { fetchRefusedTotal } from '../metrics.ts';
import { HostBusyError, type Politeness } from './politeness.ts';

// The one way this program fetches a URL someone else gave it. Every hop (the first request and
// each redirect) is checked before any connection is made: the scheme must be http or https, and
// every address the host name resolves to must be a public one unless the host is on the explicit
// development allowlist. The connection then goes to the address that was checked (the connector
// dials the pinned IP, so a DNS answer that changes between check and connect does not matter).
// Bodies are capped while streaming (after decompression), the whole fetch has a deadline, only
// allowlisted content types are read, robots.txt is obeyed and hosts are not hammered.
// `send` is the same guard for requests to destinations a tenant configured (WordPress, webhooks,
// callbacks): any method and body, one hop (redirects are answered, not followed), a capped answer.

/**
 * A failed fetch. `permanent` errors will fail the same way on retry; the others may not. `kind` says
 * when the guard refused the URL (scheme, credentials, a private or metadata address: nothing was
 * sent) or when the host name did not resolve, for callers that classify those their own way.
 */
export class FetchError extends Error {
  readonly permanent: boolean;
  readonly status?: number;
  readonly kind: 'refused' | 'dns' | 'other';

  constructor(
    message: string,
    opts: { permanent: boolean; status?: number; cause?: unknown; kind?: 'refused' | 'dns' },
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FetchError';
    this.permanent = opts.permanent;
    this.kind = opts.kind ?? 'other';
    if (opts.status !== undefined) this.status = opts.status;
  }
}

export type ResolvedAddress = { address: string; family: number };
/** Name resolution, injectable so tests can see the guard's decisions without a DNS server. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export type FetchDecision = { url: string; host: string; addresses: string[]; allowed: boolean; reason?: string };
export type ConnectAttempt = { host: string; address: string; port: string };

export const DEFAULT_USER_AGENT =
  'Mozilla/5.0 (compatible; BlogPoster/0.1; +https://github.com/blog-poster/blog-poster)';
export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface SafeFetcherOptions {
  /** Hosts (names or IP literals, as written in URLs) allowed to resolve to private addresses. */
  allowPrivateHosts?: string | readonly string[];
  resolver?: Resolver;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  maxBytes?: number;
  userAgent?: string;
  /** robots.txt and per-host limits; without it neither is applied (unit tests, benchmarks). */
  politeness?: Politeness;
  onDecision?: (decision: FetchDecision) => void;
  onConnect?: (attempt: ConnectAttempt) => void;
}

export interface FetchRequest {
  /** Media types that may be read; anything else is refused unread. `*` accepts any. */
  allowedTypes: readonly string[];
  accept?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  maxBytes?: number;
  timeoutMs?: number;
  /** Skips robots.txt and the host gate: only for robots.txt itself. */
  skipPoliteness?: boolean;
}

export interface FetchedResource {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  contentType: string;
  mediaType: string;
  headers: Headers;
  /** True on a 304 answer to a conditional request; the body is then empty. */
  notModified: boolean;
  bytes: Uint8Array;
}

/** A request to a destination: one hop, no redirects followed, no robots.txt or host limits. */
export interface SendRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  timeoutMs?: number;
  /** The answer's body is read up to this many bytes (default: the fetcher's maxBytes); more is an error. */
  maxResponseBytes?: number;
  signal?: AbortSignal;
}

export type SafeFetcher = {
  fetch(url: string, request: FetchRequest): Promise<FetchedResource>;
  /**
   * Sends one request through the same address guard and pinning as `fetch`, and answers with a
   * standard Response built from the body read (any status; a 3xx is returned, not followed). Errors
   * are FetchErrors; a refused URL has `kind: 'refused'` and no connection was made.
   */
  send(url: string, request: SendRequest): Promise<Response>;
  /** The robots.txt verdict for a URL (allowed by default when no politeness is configured). */
  robots(url: string): Promise<{ allowed: boolean; crawlDelayMs: number; sitemaps: string[] }>;
};

const defaultResolver: Resolver = async (hostname) => lookup(hostname, { all: true, verbatim: true });

/** What every step of a fetch shares: the options, the allowlist, the resolver, the user agent. */
type Guard = {
  options: SafeFetcherOptions;
  allowlist: ReturnType<typeof parseHostAllowlist>;
  resolver: Resolver;
  userAgent: string;
};

export function createSafeFetcher(options: SafeFetcherOptions = {}): SafeFetcher {
  const guard: Guard = {
    options,
    allowlist: parseHostAllowlist(options.allowPrivateHosts),
    resolver: options.resolver ?? defaultResolver,
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
  };
  return {
    fetch: (url, request) => fetchResource(guard, url, request),
    send: (url, request) => sendOnce(guard, url, request),
    async robots(url) {
      const parsed = parseHttpUrl(url);
      await checkTarget(guard, parsed);
      return robotsVerdict(guard, parsed);
    },
  };
}

// ---------------------------------------------------------------- checking and pinning a hop

/** The addresses a host name resolves to (an IP literal is its own); a name that does not resolve is a FetchError. */
async function resolveAddresses(guard: Guard, host: string, dnsPermanent: boolean): Promise<string[]> {
  if (isIpLiteral(host)) return [host];
  try {
    return (await guard.resolver(host)).map((a) => a.address);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const permanent = dnsPermanent && (code === 'ENOTFOUND' || code === 'ENODATA');
    throw new FetchError(`cannot resolve ${host}: ${code ?? (err as Error).message}`, {
      permanent,
      cause: err,
      kind: 'dns',
    });
  }
}

/**
 * Resolves and checks one hop; returns the address to connect to. `label` names the target in
 * messages (destinations use their origin: a webhook's path may hold a token).
 */
async function checkTarget(
  guard: Guard,
  url: URL,
  opts: { label?: string; dnsPermanent?: boolean } = {},
): Promise<string> {
  const host = normaliseHost(url.hostname);
  const label = opts.label ?? url.href;
  const addresses = await resolveAddresses(guard, host, opts.dnsPermanent ?? true);
  const decide = (allowed: boolean, reason?: string) => {
    if (!allowed) fetchRefusedTotal.inc({ reason: 'address' });
    guard.options.onDecision?.({ url: url.href, host, addresses, allowed, ...(reason ? { reason } : {}) });
  };
  if (addresses.length === 0) {
    decide(false, 'no addresses');
    throw new FetchError(`refused ${label}: ${host} has no addresses`, { permanent: true, kind: 'refused' });
  }
  if (!guard.allowlist.has(host)) {
    for (const address of addresses) {
      const reason = refusedAddressReason(address);
      if (reason) {
        const why = isIpLiteral(host) ? reason : `${host} resolves to ${reason}`;
        decide(false, why);
        throw new FetchError(`refused ${label}: ${why}`, { permanent: true, kind: 'refused' });
      }
    }
  }
  decide(true);
  return normaliseHost(addresses[0]!);
}

/**
 * An undici Agent that dials only the checked address of each host in `pins` (so a DNS answer that
 * changes between the check and the connection does not matter); any other host is refused.
 */
function pinnedAgent(guard: Guard, pins: Map<string, string>, timeoutMs: number): Agent {
  const baseConnect = undici().buildConnector({ timeout: guard.options.connectTimeoutMs ?? 5_000 });
  return new (undici().Agent)({
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: (connectOpts, callback) => {
      const host = normaliseHost(connectOpts.hostname);
      const address = pins.get(host);
      if (!address) {
        callback(
          new FetchError(`refused to connect to unchecked host ${host}`, { permanent: true, kind: 'refused' }),
          null,
        );
        return;
      }
      guard.options.onConnect?.({ host, address, port: connectOpts.port });
      baseConnect({ ...connectOpts, hostname: address }, callback);
    },
  });
}

// ---------------------------------------------------------------- fetch: GET, following redirects

/** Where a fetch is: the URL of the hop, and whether its body is being read (for the deadline's message). */
type FetchState = { current: URL; phase: 'connect' | 'body' };

async function fetchResource(guard: Guard, url: string, request: FetchRequest): Promise<FetchedResource> {
  const { options } = guard;
  const timeoutMs = request.timeoutMs ?? options.timeoutMs ?? 15_000;
  const maxBytes = request.maxBytes ?? options.maxBytes ?? 5 * 1024 * 1024;
  const deadline = Date.now() + timeoutMs;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  const headers: Record<string, string> = {
    accept: request.accept ?? '*/*',
    'accept-encoding': 'gzip, deflate, br',
    ...lowerKeys(correlationHeaders()),
    ...lowerKeys(request.headers ?? {}),
    'user-agent': guard.userAgent,
  };

  // Host → the checked address this fetch may dial; nothing else is ever connected to.
  const pins = new Map<string, string>();
  const agent = pinnedAgent(guard, pins, timeoutMs);
  const state: FetchState = { current: parseHttpUrl(url), phase: 'connect' };
  try {
    for (let redirects = 0; ; redirects++) {
      pins.set(normaliseHost(state.current.hostname), await checkTarget(guard, state.current));
      const release = request.skipPoliteness ? null : await politeTurn(guard, state.current, deadline, signal);
      try {
        state.phase = 'connect';
        const response = await undici().fetch(state.current, {
          method: 'GET',
          headers,
          redirect: 'manual',
          signal,
          dispatcher: agent,
        });
        const next = await redirectTarget(response, state.current, redirects, url);
        if (next) {
          state.current = next;
          continue;
        }
        return await readResource(response, state, request.allowedTypes, maxBytes);
      } finally {
        await release?.();
      }
    }
  } catch (err) {
    throw fetchFailure(err, state, timeout, timeoutMs, request.signal);
  } finally {
    agent.destroy().catch(() => undefined);
  }
}

/** robots.txt allows the URL, and the host's turn (per-host limit, crawl-delay) is taken: release it after. */
async function politeTurn(
  guard: Guard,
  url: URL,
  deadline: number,
  signal: AbortSignal,
): Promise<(() => Promise<void>) | null> {
  const { politeness } = guard.options;
  if (!politeness) return null;
  const verdict = await robotsVerdict(guard, url);
  if (!verdict.allowed) {
    fetchRefusedTotal.inc({ reason: 'robots' });
    throw new FetchError(`robots.txt of ${url.host} disallows ${url.href}`, { permanent: true });
  }
  return politeness.acquire(url.host, verdict.crawlDelayMs, deadline, signal);
}

/** The next hop of a redirect answer, or null for any other answer; too many or a broken one is a FetchError. */
async function redirectTarget(response: UndiciResponse, current: URL, redirects: number, first: string) {
  if (!REDIRECT_STATUSES.has(response.status)) return null;
  await response.body?.cancel();
  const location = response.headers.get('location');
  if (!location)
    throw new FetchError(`redirect ${response.status} without Location from ${current.href}`, {
      permanent: true,
      status: response.status,
    });
  if (redirects >= MAX_REDIRECTS)
    throw new FetchError(`more than ${MAX_REDIRECTS} redirects from ${first}`, {
      permanent: true,
      status: response.status,
    });
  return parseHttpUrl(location, current);
}

/** The final answer read: a 304, or an allowed type's body up to `maxBytes`; anything else is a FetchError. */
async function readResource(
  response: UndiciResponse,
  state: FetchState,
  allowedTypes: readonly string[],
  maxBytes: number,
): Promise<FetchedResource> {
  const { current } = state;
  const contentType = response.headers.get('content-type') ?? '';
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  const headers = response.headers as unknown as Headers;
  if (response.status === 304) {
    await response.body?.cancel();
    return {
      url: current.href,
      status: 304,
      contentType,
      mediaType,
      headers,
      notModified: true,
      bytes: new Uint8Array(0),
    };
  }
  if (!response.ok) {
    await response.body?.cancel();
    const status = response.status;
    const transient = status === 408 || status === 425 || status === 429 || status >= 500;
    throw new FetchError(`HTTP ${status} from ${current.href}`, { permanent: !transient, status });
  }
  if (!allowedTypes.includes('*') && !allowedTypes.includes(mediaType)) {
    await response.body?.cancel();
    throw new FetchError(`content type "${contentType || '(none)'}" is not allowed (${current.href})`, {
      permanent: true,
      status: response.status,
    });
  }
  // A declared length is only a hint (it counts compressed bytes); the streamed count decides.
  const declared = Number(response.headers.get('content-length'));
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  if (!encoded && Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(current, maxBytes, response.status);
  }
  state.phase = 'body';
  const bytes = await readCapped(response.body, maxBytes, () => tooLarge(current, maxBytes, response.status));
  return { url: current.href, status: response.status, contentType, mediaType, headers, notModified: false, bytes };
}

/** What went wrong with a fetch, as a FetchError that says whether a retry could help. */
function fetchFailure(
  err: unknown,
  { current, phase }: FetchState,
  timeout: AbortSignal,
  timeoutMs: number,
  callerSignal: AbortSignal | undefined,
): FetchError {
  if (err instanceof FetchError) return err;
  if (err instanceof HostBusyError) return new FetchError(err.message, { permanent: false, cause: err });
  if (timeout.aborted) {
    // Headers that never come may be a bad moment; a body still arriving at the deadline is a
    // server that trickles, and will trickle again.
    if (phase === 'body') {
      return new FetchError(
        `the body of ${current.href} was still arriving after ${timeoutMs} ms (limit FETCH_TIMEOUT_MS)`,
        { permanent: true, cause: err },
      );
    }
    return new FetchError(`timed out after ${timeoutMs} ms fetching ${current.href}`, { permanent: false, cause: err });
  }
  if (callerSignal?.aborted)
    return new FetchError(`fetch of ${current.href} aborted`, { permanent: false, cause: err });
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof FetchError) return cause;
  // fetch() reports DNS failures, refused connections and resets as a TypeError with a cause.
  const reason = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
  return new FetchError(`could not fetch ${current.href}: ${reason}`, { permanent: false, cause: err });
}

async function robotsVerdict(guard: Guard, url: URL) {
  const { options } = guard;
  if (!options.politeness) return { allowed: true, crawlDelayMs: 0, sitemaps: [] as string[] };
  return options.politeness.robots(url, async (robotsUrl) => {
    try {
      const file = await fetchResource(guard, robotsUrl, {
        allowedTypes: ['*'],
        skipPoliteness: true,
        maxBytes: 512 * 1024,
        timeoutMs: Math.min(options.timeoutMs ?? 15_000, 10_000),
      });
      return { status: file.status, body: new TextDecoder().decode(file.bytes) };
    } catch (err) {
      // No robots.txt (4xx) means no rules; a server error or no answer means "not now".
      if (err instanceof FetchError && err.status !== undefined && err.status >= 400 && err.status < 500)
        return { status: err.status, body: '' };
      if (err instanceof FetchError && err.message.startsWith('refused')) throw err;
      throw new FetchError(`robots.txt of ${url.host} is unavailable: ${(err as Error).message}`, {
        permanent: false,
        cause: err,
      });
    }
  });
}

// ---------------------------------------------------------------- send: one request to a destination

async function sendOnce(guard: Guard, url: string, request: SendRequest): Promise<Response> {
  const timeoutMs = request.timeoutMs ?? guard.options.timeoutMs ?? 15_000;
  const maxBytes = request.maxResponseBytes ?? guard.options.maxBytes ?? 5 * 1024 * 1024;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  const target = parseHttpUrl(url);
  const label = target.origin;
  const headers: Record<string, string> = {
    'user-agent': guard.userAgent,
    ...lowerKeys(correlationHeaders()),
    ...lowerKeys(request.headers ?? {}),
  };
  const pins = new Map<string, string>();
  const agent = pinnedAgent(guard, pins, timeoutMs);
  const state: { phase: 'check' | 'connect' | 'body' } = { phase: 'check' };
  try {
    // A destination whose name does not resolve now may resolve later: not permanent here.
    pins.set(normaliseHost(target.hostname), await checkTarget(guard, target, { label, dnsPermanent: false }));
    state.phase = 'connect';
    const response = await undici().fetch(target, {
      method: request.method,
      headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      redirect: 'manual',
      signal,
      dispatcher: agent,
    });
    state.phase = 'body';
    return await bufferedAnswer(response, label, maxBytes);
  } catch (err) {
    throw sendFailure(err, label, state.phase, timeout, timeoutMs, request.signal);
  } finally {
    agent.destroy().catch(() => undefined);
  }
}

/** The answer as a standard Response, its body read whole (up to `maxBytes`). */
async function bufferedAnswer(response: UndiciResponse, label: string, maxBytes: number): Promise<Response> {
  const status = response.status;
  const bytes = await readCapped(
    response.body,
    maxBytes,
    () =>
      new FetchError(`the answer of ${label} (HTTP ${status}) exceeds ${maxBytes} bytes`, {
        permanent: true,
        status,
      }),
  );
  if (status < 200 || status > 599)
    throw new FetchError(`${label} answered with status ${status}`, { permanent: false, status });
  // The body was decoded and read whole: how it was encoded, framed and its length no longer apply.
  const answerHeaders = new Headers();
  response.headers.forEach((value, name) => {
    if (name !== 'content-encoding' && name !== 'content-length' && name !== 'transfer-encoding')
      answerHeaders.append(name, value);
  });
  const nullBody = status === 204 || status === 205 || status === 304;
  return new Response(nullBody ? null : bytes, { status, statusText: response.statusText, headers: answerHeaders });
}

/** What went wrong with a send, as a FetchError (never permanent: the destination may answer later). */
function sendFailure(
  err: unknown,
  label: string,
  phase: 'check' | 'connect' | 'body',
  timeout: AbortSignal,
  timeoutMs: number,
  callerSignal: AbortSignal | undefined,
): FetchError {
  if (err instanceof FetchError) return err;
  if (timeout.aborted) {
    const what =
      phase === 'body'
        ? `the answer of ${label} was still arriving after ${timeoutMs} ms`
        : `no answer within ${timeoutMs} ms`;
    return new FetchError(what, { permanent: false, cause: err });
  }
  if (callerSignal?.aborted) return new FetchError(`request to ${label} aborted`, { permanent: false, cause: err });
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof FetchError) return cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const reason =
    typeof code === 'string'
      ? code
      : cause instanceof Error
        ? cause.message
        : err instanceof Error
          ? err.message
          : String(err);
  return new FetchError(reason, { permanent: false, cause: err });
}

/**
 * What the guard can tell from a URL alone, before any DNS lookup: why it would refuse it (credentials,
 * a special-purpose IP literal in any spelling, a `localhost` name), or null. Used when a URL is given
 * (a destination, a feed, a submission), so it is refused at once; the full check with the host's
 * addresses still runs every time the URL is fetched, since DNS answers can change.
 */
export function urlRefusal(raw: string, allowPrivateHosts?: string | readonly string[]): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null; // not a URL at all: the field's own validation says so
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password) return 'must not carry credentials (user:password@)';
  const host = normaliseHost(url.hostname);
  if (parseHostAllowlist(allowPrivateHosts).has(host)) return null;
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is a loopback name`;
  const reason = isIpLiteral(host) ? refusedAddressReason(host) : null;
  return reason ? `not a public address: ${reason}` : null;
}

export function parseHttpUrl(raw: string, base?: URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(raw, base);
  } catch (err) {
    throw new FetchError(`invalid URL: ${raw}`, { permanent: true, cause: err });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    fetchRefusedTotal.inc({ reason: 'scheme' });
    throw new FetchError(
      `refused ${raw.slice(0, 100)}: only http and https URLs can be fetched, not ${parsed.protocol}`,
      { permanent: true, kind: 'refused' },
    );
  }
  if (parsed.username || parsed.password) {
    throw new FetchError(`refused ${parsed.host}: URLs with credentials are not fetched`, {
      permanent: true,
      kind: 'refused',
    });
  }
  return parsed;
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function tooLarge(url: URL, maxBytes: number, status: number): FetchError {
  return new FetchError(`the body of ${url.href} exceeds ${maxBytes} bytes (limit FETCH_MAX_BYTES)`, {
    permanent: true,
    status,
  });
}

async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  overLimit: () => FetchError,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw overLimit();
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
