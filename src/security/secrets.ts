import { z } from 'zod';
import type { Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { decryptSecret, encryptSecret, parseKeyring, requireKeyring, secretHint, type Keyring } from './envelope.ts';

// A tenant's secrets at rest (table tenant_secrets), sealed with ./envelope.ts. Plaintext exists only
// in memory, for the moment a caller needs it; the API shows a hint of the last four characters.

export const secretNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,99}$/,
    'lower-case letters, digits, ".", "_" and "-" (at most 100), e.g. wordpress-main',
  );

export class SecretNotFoundError extends Error {}

const keyrings = new Map<string, Keyring | undefined>();

/** The keyring of a configuration, parsed once per distinct SECRETS_MASTER_KEYS value. */
export function keyringOf(config: Pick<Config, 'SECRETS_MASTER_KEYS'>): Keyring | undefined {
  const value = config.SECRETS_MASTER_KEYS ?? '';
  if (!keyrings.has(value)) keyrings.set(value, parseKeyring(value || undefined));
  return keyrings.get(value);
}

export type SecretInfo = { name: string; hint: string; keyId: string; createdAt: string; updatedAt: string };

type Row = { name: string; hint: string; key_id: string; created_at: Date; updated_at: Date };
const view = (r: Row): SecretInfo => ({
  name: r.name,
  hint: r.hint,
  keyId: r.key_id,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/** Stores (or replaces) a tenant's secret. */
export async function putTenantSecret(
  db: Db,
  keyring: Keyring | undefined,
  input: { tenantId: string; name: string; plaintext: string },
): Promise<SecretInfo> {
  const envelope = encryptSecret(keyring, input);
  const { rows } = await db.query<Row>(
    `INSERT INTO tenant_secrets (tenant_id, name, key_id, envelope, hint) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, name) DO UPDATE SET key_id = EXCLUDED.key_id, envelope = EXCLUDED.envelope, hint =
       EXCLUDED.hint, updated_at = now()
     RETURNING name, hint, key_id, created_at, updated_at`,
    [input.tenantId, input.name, envelope.keyId, envelope.data, secretHint(input.plaintext)],
  );
  return view(rows[0]!);
}

/**
 * The plaintext of a tenant's secret, for the code that uses it (a publisher, an LLM client).
 * Throws SecretNotFoundError when the tenant has no secret of that name.
 */
export async function readTenantSecret(
  db: Db,
  keyring: Keyring | undefined,
  ref: { tenantId: string; name: string },
): Promise<string> {
  const { rows } = await db.query<{ key_id: string; envelope: Buffer }>(
    'SELECT key_id, envelope FROM tenant_secrets WHERE tenant_id = $1 AND name = $2',
    [ref.tenantId, ref.name],
  );
  if (!rows[0]) throw new SecretNotFoundError(`the tenant has no secret named "${ref.name}"`);
  return decryptSecret(keyring, { ...ref, envelope: { keyId: rows[0].key_id, data: rows[0].envelope } });
}

export async function listTenantSecrets(db: Db, tenantId: string): Promise<SecretInfo[]> {
  const { rows } = await db.query<Row>(
    'SELECT name, hint, key_id, created_at, updated_at FROM tenant_secrets WHERE tenant_id = $1 ORDER BY name',
    [tenantId],
  );
  return rows.map(view);
}

export async function deleteTenantSecret(db: Db, tenantId: string, name: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM tenant_secrets WHERE tenant_id = $1 AND name = $2', [
    tenantId,
    name,
  ]);
  return rowCount === 1;
}

/** The name an inbound webhook secret is bound to in its envelope. */
export const inboundSecretName = (id: string) => `inbound-webhook:${id}`;

/**
 * Re-encrypts every stored secret under the active master key (the first of SECRETS_MASTER_KEYS),
 * each with a fresh data key, in one transaction. Run it after putting a new key first; once it
 * finished, the old key can be removed from the list.
 */
export async function rotateSecrets(
  db: Db,
  keyring: Keyring | undefined,
): Promise<{ tenantSecrets: number; inboundWebhookSecrets: number; keyId: string }> {
  const ring = requireKeyring(keyring);
  return db.tx(async (client) => {
    let tenantSecrets = 0;
    let inboundWebhookSecrets = 0;
    const secrets = await client.query<{ tenant_id: string; name: string; key_id: string; envelope: Buffer }>(
      'SELECT tenant_id, name, key_id, envelope FROM tenant_secrets ORDER BY tenant_id, name FOR UPDATE',
    );
    for (const row of secrets.rows) {
      const ref = { tenantId: row.tenant_id, name: row.name };
      const plaintext = decryptSecret(ring, { ...ref, envelope: { keyId: row.key_id, data: row.envelope } });
      const sealed = encryptSecret(ring, { ...ref, plaintext });
      await client.query('UPDATE tenant_secrets SET key_id = $3, envelope = $4 WHERE tenant_id = $1 AND name = $2', [
        row.tenant_id,
        row.name,
        sealed.keyId,
        sealed.data,
      ]);
      tenantSecrets += 1;
    }
    const inbound = await client.query<{ id: string; tenant_id: string; key_id: string; envelope: Buffer }>(
      'SELECT id, tenant_id, key_id, envelope FROM inbound_webhook_secrets ORDER BY id FOR UPDATE',
    );
    for (const row of inbound.rows) {
      const ref = { tenantId: row.tenant_id, name: inboundSecretName(row.id) };
      const plaintext = decryptSecret(ring, { ...ref, envelope: { keyId: row.key_id, data: row.envelope } });
      const sealed = encryptSecret(ring, { ...ref, plaintext });
      await client.query('UPDATE inbound_webhook_secrets SET key_id = $2, envelope = $3 WHERE id = $1', [
        row.id,
        sealed.keyId,
        sealed.data,
      ]);
      inboundWebhookSecrets += 1;
    }
    return { tenantSecrets, inboundWebhookSecrets, keyId: ring.active.id };
  });
}
