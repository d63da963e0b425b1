import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Config } from '../config.ts';
import { sendProblem } from './problem.ts';

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
  if (!hasBody || (utf8 && req.is(['application/json', 'application/*+json']))) return next();
  sendProblem(res, 415, 'Unsupported Media Type', {
    detail: 'request bodies must be application/json in UTF-8',
    errors: [{ field: 'Content-Type', message: 'must be application/json (UTF-8)' }],
  });
}
