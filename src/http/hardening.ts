import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Config } from '../config.ts';
import { urlRefusal } from '../fetch/safe-fetch.ts';
import { type FieldError, sendProblem } from './problem.ts';

// CORS and the body policy of the API. Security headers come from helmet (see app.ts).

const exposed = [
  'Location',
  'Retry-After',
  'RateLimit',
  'RateLimit-Policy',
  'X-Request-Id',
  'Idempotent-Replayed',
].join(', ');

/**
 * CORS is closed unless CORS_ORIGINS names origins: without a listed Origin no CORS header is sent
 * (browsers then refuse to hand the answer to the page) and a preflight is refused with 403.
 */
export function cors(config: Config): RequestHandler {
  const allowed = new Set(
    config.CORS_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  );
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.get('origin');
    res.vary('Origin');
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    if (!origin || !allowed.has(origin)) {
      if (preflight)
        return sendProblem(res, 403, 'Forbidden', {
          detail: 'cross-origin requests are not allowed from this origin',
          errors: [{ field: 'Origin', message: 'not allowed' }],
        });
      return next();
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', exposed);
    if (!preflight) return next();
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Idempotency-Key, X-Request-Id');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}

/**
 * A request that carries a body must say it is JSON, in UTF-8 (RFC 8259); anything else is a 415
 * before parsing. (Other charsets would be decoded first: an odd byte of "UTF-16" decodes to nothing.)
 */
export function requireJsonBody(req: Request, res: Response, next: NextFunction): void {
  const hasBody = req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
  const utf8 = charset === undefined || charset === 'utf-8' || charset === 'utf8';
  if (!hasBody || (utf8 && req.is(['application/json', 'application/*+json']))) {
    next();
    return;
  }
  sendProblem(res, 415, 'Unsupported Media Type', {
    detail: 'request bodies must be application/json in UTF-8',
    errors: [{ field: 'Content-Type', message: 'must be application/json (UTF-8)' }],
  });
}

// NUL cannot be stored by PostgreSQL (text and jsonb refuse it: "invalid byte sequence", "unsupported
// Unicode escape sequence"), and a lone UTF-16 surrogate is not Unicode at all (jsonb refuses its escape,
// UTF-8 cannot encode it). Both are refused at the edge, once for every route, with the field named.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what PostgreSQL cannot store
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function unstorableReason(text: string): string | null {
  const found = UNSTORABLE.exec(text)?.[0];
  if (found === undefined) return null;
  return found === '\u0000' ? 'must not contain NUL (\\u0000)' : 'must not contain a lone surrogate (not Unicode text)';
}

/**
 * Every string in a parsed JSON value (keys too) that cannot be stored, named by its dotted path
 * (`source.title`, `brief.secondaryKeywords.2`), as zod names fields.
 */
export function unstorableStringFields(value: unknown): FieldError[] {
  const errors: FieldError[] = [];
  // Iterative: a body may nest thousands of levels deep (the parser allows it), which recursion would not survive.
  const pending: { node: unknown; path: string }[] = [{ node: value, path: '' }];
  while (pending.length > 0 && errors.length < 20) {
    const { node, path } = pending.pop()!;
    if (typeof node === 'string') {
      const reason = unstorableReason(node);
      if (reason) errors.push({ field: path || '(body)', message: reason });
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node);
    for (const [key, item] of entries.reverse()) {
      const field = path ? `${path}.${key}` : key;
      const keyReason = unstorableReason(key);
      if (keyReason) errors.push({ field, message: `its name ${keyReason}` });
      pending.push({ node: item, path: field });
    }
  }
  return errors;
}

/** Answers 422 naming each field of `values` that cannot be stored; false when it did. */
export function storableOr422(res: Response, ...values: unknown[]): boolean {
  const errors = values.flatMap((v) => unstorableStringFields(v));
  if (errors.length === 0) return true;
  sendProblem(res, 422, 'Invalid characters', {
    detail: 'text must not contain NUL characters or lone surrogates',
    errors,
  });
  return false;
}

/** The body and the query string of every API route carry only strings the database can store. */
export function refuseUnstorableStrings(req: Request, res: Response, next: NextFunction): void {
  if (storableOr422(res, req.body, req.query ?? {})) next();
}

/**
 * Every field named `url` in a body is an address Blog Poster will fetch or call (a source, a feed, a
 * featured image, a destination, a notification callback). One with credentials, a private, loopback
 * or metadata IP literal or a localhost name is refused here, naming the field, instead of failing
 * later at publish or poll (where the full check, DNS included, still runs).
 */
export function unsafeUrlFields(value: unknown, allowPrivateHosts: string, path: string[] = []): FieldError[] {
  if (value === null || typeof value !== 'object') return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  return entries.flatMap(([key, item]) => {
    if (key === 'url' && typeof item === 'string') {
      const refusal = urlRefusal(item, allowPrivateHosts);
      return refusal ? [{ field: [...path, key].join('.'), message: refusal }] : [];
    }
    return path.length < 8 ? unsafeUrlFields(item, allowPrivateHosts, [...path, key]) : [];
  });
}

/** Answers 422 naming each `url` field of the body the SSRF guard would refuse; false when it did. */
export function safeUrlsOr422(
  res: Response,
  config: Pick<Config, 'FETCH_ALLOW_PRIVATE_HOSTS'>,
  body: unknown,
): boolean {
  const errors = unsafeUrlFields(body, config.FETCH_ALLOW_PRIVATE_HOSTS);
  if (errors.length === 0) return true;
  sendProblem(res, 422, 'Refused URL', { detail: 'URLs must point at public http(s) addresses', errors });
  return false;
}
