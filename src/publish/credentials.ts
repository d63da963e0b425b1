import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { PermanentError } from '../errors.ts';
import { SecretDecryptError, SecretsUnavailableError } from '../security/envelope.ts';
import { keyringOf, readTenantSecret, SecretNotFoundError, secretNameSchema } from '../security/secrets.ts';
import { secretEnvName } from './options.ts';
import { secretFromEnv } from './webhook.ts';

// A destination's password or signing secret is named, never stored in its config: either a tenant
// secret sealed at rest (src/security/secrets.ts, set with PUT /api/v1/admin/secrets/:name) or, for
// single-tenant deployments, an environment variable BP_SECRET_<NAME>.

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
  if (ref.env) return secretFromEnv(ref.env);
  throw new PermanentError(`${what}: no credential configured`);
}
