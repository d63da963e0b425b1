import { createHash, randomBytes } from 'node:crypto';
import { redisKeys } from '../redis-keys.ts';
import type { RedisClient } from '../redis.ts';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { Db } from '../db/pool.ts';
import { decryptSecret, encryptSecret, secretHint, type Keyring } from '../security/envelope.ts';
import { inboundSecretName } from '../security/secrets.ts';

// Inbound deliveries signed per Standard Webhooks (HMAC-SHA256 over `id.timestamp.body`, timestamps
// within 5 minutes), accepted instead of an API key. Each tenant has signing secrets sealed at rest;
// rotating adds a new one and lets the old one expire after an overlap window, so senders can switch
// over without a refused delivery. A `webhook-id` seen before (within the tolerance) is a replay.

/** Longer than the ±5 minute timestamp tolerance, so an id cannot come back while its timestamp is still accepted. */
const REPLAY_WINDOW_MS = 11 * 60 * 1000;
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 3600;

export type InboundSecretView = { id: string; hint: string; createdAt: string; expiresAt: string | null };

type Row = { id: string; hint: string; created_at: Date; expires_at: Date | null };
const view = (r: Row): InboundSecretView => ({
  id: r.id,
  hint: r.hint,
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at?.toISOString() ?? null,
});

/**
 * Adds a new signing secret (returned once, `whsec_…`); secrets still current now expire after
 * `overlapSeconds`, so both old and new verify until then.
 */
export async function rotateInboundSecret(
  db: Db,
  keyring: Keyring | undefined,
  input: { tenantId: string; overlapSeconds?: number },
): Promise<InboundSecretView & { secret: string }> {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const overlap = input.overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS;
  return db.tx(async (client) => {
    const id = (await client.query<{ id: string }>('SELECT gen_random_uuid() AS id')).rows[0]!.id;
    const sealed = encryptSecret(keyring, { tenantId: input.tenantId, name: inboundSecretName(id), plaintext: secret });
    await client.query(
      `UPDATE inbound_webhook_secrets SET expires_at = now() + make_interval(secs => $2)
        WHERE tenant_id = $1 AND (expires_at IS NULL OR expires_at > now() + make_interval(secs => $2))`,
      [input.tenantId, overlap],
    );
    const { rows } = await client.query<Row>(
      `INSERT INTO inbound_webhook_secrets (id, tenant_id, key_id, envelope, hint) VALUES ($1, $2, $3, $4, $5)
       RETURNING id, hint, created_at, expires_at`,
      [id, input.tenantId, sealed.keyId, sealed.data, secretHint(secret)],
    );
    return { ...view(rows[0]!), secret };
  });
}

export async function listInboundSecrets(db: Db, tenantId: string): Promise<InboundSecretView[]> {
  const { rows } = await db.query<Row>(
    `SELECT id, hint, created_at, expires_at FROM inbound_webhook_secrets
      WHERE tenant_id = $1 AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at DESC`,
    [tenantId],
  );
  return rows.map(view);
}

export type DeliveryCheck =
  | { ok: true; messageId: string; forget: () => Promise<void> }
  | { ok: false; reason: 'missing-headers' | 'no-secret' | 'bad-signature' | 'stale' | 'replay'; field: string };

const messageIdPattern = /^[\x21-\x7e]{1,200}$/;

/** Verifies a delivery against the tenant's current secrets and records its id against replays. */
export async function verifyDelivery(
  deps: { db: Db; redis: RedisClient; keyring: Keyring | undefined; prefix: string },
  input: { tenantId: string; body: Buffer; headers: Record<string, string | string[] | undefined> },
): Promise<DeliveryCheck> {
  const header = (name: string) => {
    const v = input.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const headers = {
    'webhook-id': header('webhook-id'),
    'webhook-timestamp': header('webhook-timestamp'),
    'webhook-signature': header('webhook-signature'),
  };
  for (const [name, value] of Object.entries(headers))
    if (!value) return { ok: false, reason: 'missing-headers', field: name };
  if (!messageIdPattern.test(headers['webhook-id']!))
    return { ok: false, reason: 'missing-headers', field: 'webhook-id' };

  const { rows } = await deps.db.query<{ id: string; key_id: string; envelope: Buffer }>(
    `SELECT id, key_id, envelope FROM inbound_webhook_secrets WHERE tenant_id ` +
      `= $1 AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at ` +
      `DESC`,
    [input.tenantId],
  );
  if (rows.length === 0) return { ok: false, reason: 'no-secret', field: 'webhook-signature' };

  let stale = false;
  let verified = false;
  for (const row of rows) {
    const secret = decryptSecret(deps.keyring, {
      tenantId: input.tenantId,
      name: inboundSecretName(row.id),
      envelope: { keyId: row.key_id, data: row.envelope },
    });
    try {
      new Webhook(secret).verify(input.body, headers as Record<string, string>, { jsonParse: false });
      verified = true;
      break;
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      if (/timestamp|Invalid Signature Headers/i.test(err.message)) stale = true;
    }
  }
  if (!verified)
    return stale
      ? { ok: false, reason: 'stale', field: 'webhook-timestamp' }
      : { ok: false, reason: 'bad-signature', field: 'webhook-signature' };

  // Only a verified id is recorded, so nobody can burn a sender's ids without its secret.
  const messageId = headers['webhook-id']!;
  const key = redisKeys(deps.prefix).webhookSeen(input.tenantId, createHash('sha256').update(messageId).digest('hex'));
  const fresh = await deps.redis.set(key, '1', 'PX', REPLAY_WINDOW_MS, 'NX');
  if (fresh === null) return { ok: false, reason: 'replay', field: 'webhook-id' };
  return { ok: true, messageId, forget: async () => void (await deps.redis.del(key).catch(() => 0)) };
}
