import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app.ts';
import { createApiKey, keyNameSchema, listApiKeys, revokeApiKey, scopesSchema } from '../../auth/api-keys.ts';
import {
  DEFAULT_ROTATION_OVERLAP_SECONDS,
  listInboundSecrets,
  rotateInboundSecret,
} from '../../auth/webhook-signatures.ts';
import { SecretsUnavailableError } from '../../security/envelope.ts';
import {
  deleteTenantSecret,
  keyringOf,
  listTenantSecrets,
  putTenantSecret,
  secretNameSchema,
} from '../../security/secrets.ts';
import {
  createTenant,
  listTenants,
  TenantConflictError,
  tenantNameSchema,
  tenantSlugSchema,
  tenantView,
  updateTenant,
} from '../../auth/tenants.ts';
import { tenantSettingsSchema } from '../../tenant-settings.ts';
import { envSecretFieldErrors, type SecretNamer } from '../../publish/credentials.ts';
import { sendProblem, zodFieldErrors } from '../problem.ts';

// The admin API (scope `admin`, see ../../auth/scopes.ts): the caller's own tenant, its API keys,
// its secrets and its inbound webhook signing secrets; operator tenants also list and create
// tenants. Secrets go in and never come out: answers show a hint of the last four characters.

const settingsInput = tenantSettingsSchema.strict();
export const createKeySchema = z.object({ name: keyNameSchema, scopes: scopesSchema }).strict();
export const createTenantSchema = z
  .object({
    slug: tenantSlugSchema,
    name: tenantNameSchema,
    settings: settingsInput.optional(),
    operator: z.boolean().default(false),
    /** A first key for the new tenant, shown once in the answer. */
    key: createKeySchema.optional(),
  })
  .strict();
export const patchTenantSchema = z
  .object({ name: tenantNameSchema.optional(), settings: settingsInput.optional() })
  .strict()
  .refine((p) => p.name !== undefined || p.settings !== undefined, 'give name or settings');
export const putSecretSchema = z.object({ value: z.string().min(1).max(10_000) }).strict();
export const rotateSchema = z
  .object({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .default(DEFAULT_ROTATION_OVERLAP_SECONDS),
  })
  .strict();

function invalid(res: Response, error: z.ZodError, title = 'Invalid request'): void {
  sendProblem(res, 422, title, { errors: zodFieldErrors(error) });
}

/** 403 naming the field when the notification settings name an environment secret the tenant may not use. */
function settingsMayNameSecrets(res: Response, tenant: SecretNamer, settings: unknown): boolean {
  const notifications = (settings as { notifications?: unknown } | undefined)?.notifications;
  const errors = envSecretFieldErrors(tenant, notifications, 'settings.notifications');
  if (errors.length === 0) return true;
  sendProblem(res, 403, 'Forbidden', { detail: errors[0]!.message, errors });
  return false;
}

function bodyOf(req: Request): unknown {
  return req.body ?? {};
}

export function adminRoutes({ config, db }: AppDeps): Router {
  const router = Router();
  const keyring = () => keyringOf(config);

  const operatorOnly = (req: Request, res: Response): boolean => {
    if (req.auth?.operator) return true;
    sendProblem(res, 403, 'Forbidden', {
      detail: 'managing tenants needs an admin key of an operator tenant',
      errors: [{ field: 'Authorization', message: 'not an operator tenant' }],
    });
    return false;
  };

  router.get('/admin/tenant', async (req, res) => {
    const [tenant] = await listTenants(db, { id: req.tenantId });
    res.json(tenant);
  });

  router.patch('/admin/tenant', async (req, res) => {
    const parsed = patchTenantSchema.safeParse(bodyOf(req));
    if (!parsed.success) return invalid(res, parsed.error, 'Invalid tenant');
    const tenant = { slug: req.auth!.tenantSlug, operator: req.auth!.operator };
    if (!settingsMayNameSecrets(res, tenant, parsed.data.settings)) return;
    res.json(await updateTenant(db, req.tenantId, parsed.data));
  });

  router.get('/admin/tenants', async (req, res) => {
    if (!operatorOnly(req, res)) return;
    res.json({ tenants: await listTenants(db) });
  });

  router.post('/admin/tenants', async (req, res) => {
    if (!operatorOnly(req, res)) return;
    const parsed = createTenantSchema.safeParse(bodyOf(req));
    if (!parsed.success) return invalid(res, parsed.error, 'Invalid tenant');
    if (!settingsMayNameSecrets(res, parsed.data, parsed.data.settings)) return;
    try {
      const { key, ...tenant } = parsed.data;
      const created = await createTenant(db, tenant);
      const firstKey = key
        ? await createApiKey(db, { tenantId: created.id, name: key.name, scopes: key.scopes })
        : undefined;
      req.log.info({ tenant: created.slug }, 'tenant created');
      res
        .status(201)
        .location(`/api/v1/admin/tenants/${created.slug}`)
        .json({ ...tenantView(created), ...(firstKey ? { key: firstKey } : {}) });
    } catch (err) {
      if (err instanceof TenantConflictError)
        return sendProblem(res, 409, 'Conflict', {
          detail: err.message,
          errors: [{ field: 'slug', message: err.message }],
        });
      throw err;
    }
  });

  router.get('/admin/keys', async (req, res) => {
    res.json({ keys: await listApiKeys(db, req.tenantId) });
  });

  router.post('/admin/keys', async (req, res) => {
    const parsed = createKeySchema.safeParse(bodyOf(req));
    if (!parsed.success) return invalid(res, parsed.error, 'Invalid key');
    const created = await createApiKey(db, { tenantId: req.tenantId, ...parsed.data });
    req.log.info({ keyId: created.prefix, scopes: created.scopes }, 'API key created');
    res.status(201).json(created);
  });

  router.delete('/admin/keys/:id', async (req, res) => {
    const id = String(req.params.id);
    const revoked = await revokeApiKey(db, req.tenantId, id);
    if (!revoked) return sendProblem(res, 404, 'Not Found', { detail: `no key ${id}` });
    req.log.info({ keyId: revoked.prefix }, 'API key revoked');
    res.json(revoked);
  });

  router.get('/admin/secrets', async (req, res) => {
    res.json({ secrets: await listTenantSecrets(db, req.tenantId) });
  });

  router.put('/admin/secrets/:name', async (req, res) => {
    const name = secretNameSchema.safeParse(String(req.params.name));
    if (!name.success)
      return sendProblem(res, 422, 'Invalid secret', {
        errors: [{ field: 'name', message: name.error.issues[0]?.message ?? 'invalid' }],
      });
    const parsed = putSecretSchema.safeParse(bodyOf(req));
    if (!parsed.success) return invalid(res, parsed.error, 'Invalid secret');
    try {
      const stored = await putTenantSecret(db, keyring(), {
        tenantId: req.tenantId,
        name: name.data,
        plaintext: parsed.data.value,
      });
      req.log.info({ secret: stored.name, masterKey: stored.keyId }, 'tenant secret stored');
      res.json(stored);
    } catch (err) {
      if (err instanceof SecretsUnavailableError)
        return sendProblem(res, 503, 'Secrets unavailable', { detail: err.message });
      throw err;
    }
  });

  router.delete('/admin/secrets/:name', async (req, res) => {
    const name = String(req.params.name);
    const valid = secretNameSchema.safeParse(name).success;
    if (!valid || !(await deleteTenantSecret(db, req.tenantId, name)))
      return sendProblem(res, 404, 'Not Found', { detail: `no secret ${name}` });
    res.status(204).end();
  });

  router.get('/admin/webhook-secrets', async (req, res) => {
    res.json({ secrets: await listInboundSecrets(db, req.tenantId) });
  });

  router.post('/admin/webhook-secrets', async (req, res) => {
    const parsed = rotateSchema.safeParse(bodyOf(req));
    if (!parsed.success) return invalid(res, parsed.error, 'Invalid rotation');
    try {
      const created = await rotateInboundSecret(db, keyring(), {
        tenantId: req.tenantId,
        overlapSeconds: parsed.data.overlapSeconds,
      });
      req.log.info({ secretId: created.id }, 'inbound webhook secret rotated');
      res.status(201).json({ ...created, links: { deliver: `/api/v1/hooks/${req.auth!.tenantSlug}/submissions` } });
    } catch (err) {
      if (err instanceof SecretsUnavailableError)
        return sendProblem(res, 503, 'Secrets unavailable', { detail: err.message });
      throw err;
    }
  });

  return router;
}
