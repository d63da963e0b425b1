import type { z } from 'zod';
import { listTenants } from '../auth/tenants.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { PermanentError } from '../errors.ts';
import { SecretDecryptError, SecretsUnavailableError } from '../security/envelope.ts';
import { keyringOf, readTenantSecret, SecretNotFoundError, secretNameSchema } from '../security/secrets.ts';
import { secretEnvName } from './options.ts';
import { secretFromEnv } from './webhook.ts';

// A destination's password or signing secret is named, never stored in its config: either a tenant
// secret sealed at rest (src/security/secrets.ts, set with PUT /api/v1/admin/secrets/:name) or an
// environment variable of the deployment. Environment variables belong to whoever runs the deployment,
// so a tenant may name one only when it is bound to it: an operator tenant may name any BP_SECRET_*,
// any other tenant only BP_SECRET_<ITS SLUG>__<NAME> (slug upper-cased, dashes as underscores). The
// rule is checked when a config names a variable and again each time the secret is read, for configs
// written before it.

/** Who is naming a variable: the tenant's slug and whether it is an operator tenant. */
export type SecretNamer = { slug: string; operator: boolean };

/** The prefix of the environment variables bound to a tenant, e.g. BP_SECRET_ACME_CORP__. */
export function tenantEnvPrefix(slug: string): string {
  return `BP_SECRET_${slug.toUpperCase().replaceAll('-', '_')}__`;
}

/**
 * Why `tenant` may not name `variable`, or null when it may. Slugs have no `_` and no double dash, so
 * a tenant's prefix is never the start of another tenant's variable.
 */
export function envSecretRefusal(tenant: SecretNamer, variable: string): string | null {
  if (tenant.operator || variable.startsWith(tenantEnvPrefix(tenant.slug))) return null;
  const own = `${tenantEnvPrefix(tenant.slug)}<NAME>`;
  return (
    `${variable} is a secret of the deployment: tenant "${tenant.slug}" may name only its own variables, ` +
    `${own}, or a stored tenant secret`
  );
}

/** The credential fields of a config (or notification settings) that name a variable the tenant may not use. */
export function envSecretFieldErrors(
  tenant: SecretNamer,
  config: unknown,
  path: string,
): { field: string; message: string }[] {
  if (config === null || typeof config !== 'object') return [];
  return envFields.flatMap((key) => {
    const variable = (config as Record<string, unknown>)[key];
    const refusal = typeof variable === 'string' ? envSecretRefusal(tenant, variable) : null;
    return refusal ? [{ field: `${path}.${key}`, message: refusal }] : [];
  });
}

const envFields = ['passwordEnv', 'secretEnv'] as const;

export const credentialFields = <E extends string, S extends string>(envKey: E, secretKey: S) =>
  ({ [envKey]: secretEnvName.optional(), [secretKey]: secretNameSchema.optional() }) as {
    [K in E]: z.ZodOptional<typeof secretEnvName>;
  } & {
    [K in S]: z.ZodOptional<typeof secretNameSchema>;
  };

/** Exactly one of the two ways must be given; the error names the stored-secret field. */
export function exactlyOneCredential(
  envKey: string,
  secretKey: string,
): [(c: Record<string, unknown>) => boolean, { message: string; path: string[] }] {
  return [
    (c) => Boolean(c[envKey]) !== Boolean(c[secretKey]),
    {
      message: `set exactly one of ${secretKey} (a stored tenant secret) or ${envKey} (an environment variable)`,
      path: [secretKey],
    },
  ];
}

/** The secret a destination or callback names, checked against the rule above before it is read. */
export async function readCredential(
  deps: { db: Db; config: Config },
  tenantId: string,
  ref: { env?: string | undefined; secret?: string | undefined },
  what: string,
): Promise<string> {
  if (ref.secret) {
    try {
      return await readTenantSecret(deps.db, keyringOf(deps.config), { tenantId, name: ref.secret });
    } catch (err) {
      if (
        err instanceof SecretNotFoundError ||
        err instanceof SecretDecryptError ||
        err instanceof SecretsUnavailableError
      ) {
        throw new PermanentError(`${what}: ${err.message}`);
      }
      throw err;
    }
  }
  if (ref.env) {
    const [tenant] = await listTenants(deps.db, { id: tenantId });
    if (!tenant) throw new PermanentError(`${what}: the tenant is gone`);
    const refusal = envSecretRefusal(tenant, ref.env);
    if (refusal) throw new PermanentError(`${what}: ${refusal}`);
    return secretFromEnv(ref.env);
  }
  throw new PermanentError(`${what}: no credential configured`);
}
