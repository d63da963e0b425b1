import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDelivery } from '../../src/auth/webhook-signatures.ts';
import { createLogger } from '../../src/logger.ts';
import { SecretDecryptError } from '../../src/security/envelope.ts';
import { keyringOf, readTenantSecret, rotateSecrets } from '../../src/security/secrets.ts';
import { createTestEnv, postgresUrl, redisUrl, startPipeline, type TestEnv } from '../support/harness.ts';
import { createTenantWithKeys } from '../support/tenants.ts';

const run = promisify(execFile);

describe('secrets at rest', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let tenant: Awaited<ReturnType<typeof createTenantWithKeys>>;
  const logs: string[] = [];
  const password = `wp-app-password-${randomBytes(12).toString('hex')}`;
  let webhookSecret: string;

  beforeAll(async () => {
    t = await createTestEnv();
    // Everything at the most verbose level, into memory, to search afterwards.
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        logs.push(String(chunk));
        done();
      },
    });
    app = await startPipeline(t, { logger: createLogger('trace', 'blog-poster', sink) });
    tenant = await createTenantWithKeys({ url: app.api.url, devKey: t.config.DEV_API_KEY }, 'secrets-a');
    const key = tenant.keys.all!.key;

    const stored = await tenant.call(key, 'PUT', '/api/v1/admin/secrets/wordpress-main', { value: password });
    expect(stored.status).toBe(200);
    // Only a hint goes back: never the value.
    expect(stored.body).toMatchObject({ name: 'wordpress-main', hint: `…${password.slice(-4)}`, keyId: 'test' });
    expect(JSON.stringify(stored.body)).not.toContain(password);
    const listed = await tenant.call(key, 'GET', '/api/v1/admin/secrets');
    expect(JSON.stringify(listed.body)).not.toContain(password);

    // An inbound signing secret, used once for a delivery that runs the pipeline.
    webhookSecret = (await tenant.call(key, 'POST', '/api/v1/admin/webhook-secrets', {})).body.secret;
    const payload = JSON.stringify({
      source: {
        type: 'text',
        title: 'Secret-free',
        text: 'A post whose delivery was signed. It goes all the way through.',
      },
    });
    const id = `msg_${randomUUID()}`;
    const now = new Date();
    const delivered = await fetch(`${app.api.url}/api/v1/hooks/secrets-a/submissions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(webhookSecret).sign(id, now, payload),
      },
      body: payload,
    });
    expect(delivered.status).toBe(202);
    const { postId } = (await delivered.json()) as { postId: string };
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const status = (await app.rt.db.query('SELECT status FROM posts WHERE id = $1', [postId])).rows[0]?.status;
      if (status === 'published' || status === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(
      await readTenantSecret(app.rt.db, keyringOf(t.config), { tenantId: tenant.id, name: 'wordpress-main' }),
    ).toBe(password);
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  /** The forms a leaked secret could take in a dump: as is, hex (bytea) and base64. */
  const forms = (s: string) => [s, Buffer.from(s).toString('hex'), Buffer.from(s).toString('base64').slice(0, 24)];
  const secretsToFind = () => [
    ...forms(password),
    ...forms(webhookSecret.slice('whsec_'.length)),
    ...forms(Buffer.from(webhookSecret.slice(6), 'base64').toString('hex')),
  ];

  it('cannot be found in a database dump', async () => {
    const database = new URL(t.config.DATABASE_URL).pathname.slice(1);
    const { hostname, port, username } = new URL(postgresUrl);
    const { stdout } = await run(
      'pg_dump',
      [
        '-h',
        hostname.replace(/^\[|\]$/g, ''),
        '-p',
        port || '5432',
        '-U',
        username || 'postgres',
        '--no-owner',
        database,
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    expect(stdout).toContain('tenant_secrets');
    expect(stdout.length).toBeGreaterThan(10_000);
    for (const form of secretsToFind()) expect(stdout).not.toContain(form);
  });

  it('cannot be found in Redis', async () => {
    const redis = new Redis(redisUrl);
    try {
      let cursor = '0';
      let values = 0;
      do {
        const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          const type = await redis.type(key);
          const dump: unknown =
            type === 'string'
              ? await redis.getBuffer(key)
              : type === 'hash'
                ? await redis.hgetall(key)
                : type === 'list'
                  ? await redis.lrange(key, 0, -1)
                  : type === 'set'
                    ? await redis.smembers(key)
                    : type === 'zset'
                      ? await redis.zrange(key, '0', '-1')
                      : type === 'stream'
                        ? await redis.xrange(key, '-', '+')
                        : null;
          const text = `${key} ${Buffer.isBuffer(dump) ? dump.toString('latin1') : JSON.stringify(dump)}`;
          values += 1;
          for (const form of secretsToFind()) expect(text, `Redis key ${key}`).not.toContain(form);
        }
      } while (cursor !== '0');
      expect(values).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('cannot be found in the logs (at trace level)', () => {
    const all = logs.join('');
    expect(all).toContain('tenant secret stored');
    expect(all).toContain('signed submission accepted');
    for (const form of secretsToFind()) expect(all).not.toContain(form);
    for (const key of Object.values(tenant.keys)) expect(all).not.toContain(key.key);
  });

  it('still decrypts after a master-key rotation, and no longer needs the old key', async () => {
    const { db, redis } = app.rt;
    const newKey = `k2:${randomBytes(32).toString('base64')}`;
    const both = keyringOf({ SECRETS_MASTER_KEYS: `${newKey},${t.config.SECRETS_MASTER_KEYS}` });
    const rotated = await rotateSecrets(db, both);
    expect(rotated).toMatchObject({ keyId: 'k2', tenantSecrets: 1 });
    expect(rotated.inboundWebhookSecrets).toBeGreaterThanOrEqual(1);
    const keyIds = await db.query(
      `SELECT key_id FROM tenant_secrets UNION ALL SELECT key_id FROM inbound_webhook_secrets`,
    );
    expect(new Set(keyIds.rows.map((r) => r.key_id))).toEqual(new Set(['k2']));

    const onlyNew = keyringOf({ SECRETS_MASTER_KEYS: newKey });
    expect(await readTenantSecret(db, onlyNew, { tenantId: tenant.id, name: 'wordpress-main' })).toBe(password);
    const id = `msg_${randomUUID()}`;
    const now = new Date();
    const body = Buffer.from('{"source": {"type": "text", "text": "after rotation"}}');
    const check = await verifyDelivery(
      { db, redis, keyring: onlyNew, prefix: t.config.QUEUE_PREFIX },
      {
        tenantId: tenant.id,
        body,
        headers: {
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': new Webhook(webhookSecret).sign(id, now, body),
        },
      },
    );
    expect(check.ok).toBe(true);
    // The old key alone opens nothing any more.
    await expect(
      readTenantSecret(db, keyringOf(t.config), { tenantId: tenant.id, name: 'wordpress-main' }),
    ).rejects.toThrow(SecretDecryptError);
  });
});
