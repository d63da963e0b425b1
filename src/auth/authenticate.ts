import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../config.ts';
import { matchesSecret, secretDigest } from '../security/secret-digest.ts';
import type { Db } from '../db/pool.ts';
import { sendProblem } from '../http/problem.ts';
import { tenantSettingsSchema } from '../tenant-settings.ts';
import { scopes as allScopes, verifyApiKey, type Scope } from './api-keys.ts';
import { operatorCredentials } from './operator.ts';
import { requiredScope } from './scopes.ts';

/** Who is calling: set by authentication (an API key, the development key, or a signed webhook). */
export type AuthContext = {
  tenantId: string;
  tenantSlug: string;
  /** Operator tenants may manage other tenants through the admin API. */
  operator: boolean;
  via: 'api-key' | 'dev-key' | 'webhook' | 'operator';
  /** What rate limits count against: the key's id, `dev`, `webhook:<tenant>` or `operator:<user>`. */
  principal: string;
  scopes: readonly Scope[];
  /** The tenant's own per-key limit from its settings, if it set one. */
  rateLimit: number | undefined;
};

declare module 'express-serve-static-core' {
  interface Request {
    auth?: AuthContext;
  }
}

type TenantInfo = { id: string; slug: string; operator: boolean; rateLimit: number | undefined };

/**
 * Tenant facts authentication needs on every request, cached briefly: a settings change (a new rate
 * limit) takes effect within seconds without a query per request.
 */
export function tenantLookup(db: Db, ttlMs = 5_000) {
  const cache = new Map<string, { info: TenantInfo | null; at: number }>();
  return async (where: { id: string } | { slug: string }): Promise<TenantInfo | null> => {
    const cacheKey = 'id' in where ? `id:${where.id}` : `slug:${where.slug}`;
    const hit = cache.get(cacheKey);
    if (hit && Date.now() - hit.at < ttlMs) return hit.info;
    const { rows } = await db.query<{ id: string; slug: string; operator: boolean; settings: unknown }>(
      `SELECT id, slug, operator, settings FROM tenants WHERE ${'id' in where ? 'id = $1' : 'slug = $1'}`,
      ['id' in where ? where.id : where.slug],
    );
    const row = rows[0];
    const info = row
      ? { id: row.id, slug: row.slug, operator: row.operator, rateLimit: rateLimitOf(row.settings) }
      : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(cacheKey, { info, at: Date.now() });
    return info;
  };
}

function rateLimitOf(settings: unknown): number | undefined {
  const parsed = tenantSettingsSchema.shape.rateLimit.safeParse(
    (settings as { rateLimit?: unknown } | null)?.rateLimit ?? {},
  );
  return parsed.success ? parsed.data.perKey : undefined;
}

function contextFor(
  tenant: TenantInfo,
  via: AuthContext['via'],
  principal: string,
  scopes: readonly Scope[],
): AuthContext {
  return {
    tenantId: tenant.id,
    tenantSlug: tenant.slug,
    operator: tenant.operator,
    via,
    principal,
    scopes,
    rateLimit: tenant.rateLimit,
  };
}

const reasons = {
  missing: 'missing bearer token',
  malformed: 'malformed API key',
  unknown: 'unknown API key',
  revoked: 'revoked API key',
  operator: 'wrong operator credentials',
  'no-operator':
    'operator sign-in is not configured on this server (OPERATOR_USER/OPERATOR_PASSWORD or OPERATOR_TOKEN)',
  tenant: 'no such tenant',
} as const;

export function unauthorized(res: Response, reason: keyof typeof reasons): void {
  sendProblem(res, 401, 'Unauthorized', {
    detail: 'send Authorization: Bearer <api key>',
    errors: [{ field: reason === 'tenant' ? 'X-Tenant' : 'Authorization', message: reasons[reason] }],
    headers: {
      'WWW-Authenticate':
        reason === 'missing' ? 'Bearer realm="blog-poster"' : 'Bearer realm="blog-poster", error="invalid_token"',
    },
  });
}

/**
 * Authenticates an /api/v1 request and checks its scope (./scopes.ts): 401 for a missing, malformed,
 * unknown or revoked key, 403 for a key without the scope. DEV_API_KEY stays valid as a development
 * key of the `default` tenant with every scope. The operator credentials (./operator.ts) act with
 * every scope in the tenant named by the `X-Tenant` header (its slug; `default` when absent), which
 * is ignored for any other credential.
 */
export function authenticate(config: Config, db: Db) {
  const devKey = secretDigest(config.DEV_API_KEY);
  const operator = operatorCredentials(config);
  const tenants = tenantLookup(db);
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (!header) return unauthorized(res, 'missing');
    const token = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header)?.[1];
    const basic = /^Basic \S+$/i.test(header);
    if (!token && !basic) return unauthorized(res, 'malformed');

    let auth: AuthContext;
    if (basic || (token && operator.isToken(token))) {
      if (!operator.configured) return unauthorized(res, 'no-operator');
      const who = operator.check(header);
      if (who === null) {
        req.log.warn({ ip: req.ip }, 'refused operator credentials');
        return unauthorized(res, 'operator');
      }
      const slug = req.get('x-tenant') ?? 'default';
      const tenant = /^[a-z0-9-]{1,100}$/.test(slug) ? await tenants({ slug }) : null;
      if (!tenant) return unauthorized(res, 'tenant');
      auth = contextFor(tenant, 'operator', `operator:${who}`, allScopes);
    } else if (token && matchesSecret(token, devKey)) {
      const tenant = await tenants({ slug: 'default' });
      if (!tenant) throw new Error('the default tenant is missing; run `blog-poster migrate`');
      auth = contextFor(tenant, 'dev-key', 'dev', allScopes);
    } else {
      const check = await verifyApiKey(db, token!);
      if (!check.ok) return unauthorized(res, check.reason);
      const tenant = await tenants({ id: check.tenantId });
      if (!tenant) return unauthorized(res, 'unknown');
      auth = contextFor(tenant, 'api-key', check.keyId, check.scopes);
    }

    const scope = requiredScope(req.method, req.path);
    if (!auth.scopes.includes(scope)) {
      return sendProblem(res, 403, 'Forbidden', {
        detail: `${req.method} ${req.baseUrl}${req.path} needs the "${scope}" scope`,
        errors: [{ field: 'Authorization', message: `the key lacks the "${scope}" scope` }],
      });
    }
    req.auth = auth;
    req.tenantId = auth.tenantId;
    req.log = req.log.child({ tenantId: auth.tenantId });
    next();
  };
}
