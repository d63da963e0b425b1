import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiKey, KEY_CACHE_MS, revokeApiKey, verifyApiKey } from '../../src/auth/api-keys.ts';
import { createTestEnv, startPipeline, type TestEnv } from '../support/harness.ts';
import { createTenantWithKeys } from '../support/tenants.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');

describe('API keys, the admin CLI and the hardened edge', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;

  beforeAll(async () => {
    t = await createTestEnv({ CORS_ORIGINS: 'https://app.example.com' });
    app = await startPipeline(t, { workers: false });
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  const cli = (args: string[], input?: string) => {
    const child = run(process.execPath, ['bin/main.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...t.env, LOG_LEVEL: 'warn' },
    });
    if (input !== undefined) {
      child.child.stdin!.end(input);
    }
    return child;
  };

  it('shows a key once, stores only its hash, records its last use and refuses it once revoked', async () => {
    const tenant = await createTenantWithKeys({ url: app.api.url, devKey: t.config.DEV_API_KEY }, 'keys-a', {
      reader: ['read'],
    });
    const { key, id } = tenant.keys.reader!;
    expect(key).toMatch(/^bpk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const row = (await app.rt.db.query('SELECT key_hash, hint, last_used_at FROM api_keys WHERE id = $1', [id]))
      .rows[0]!;
    expect(Buffer.from(row.key_hash).equals(createHash('sha256').update(key).digest())).toBe(true);
    expect(row.last_used_at).toBeNull();
    const dump = JSON.stringify((await app.rt.db.query('SELECT * FROM api_keys')).rows);
    expect(dump).not.toContain(key.slice(21));

    expect((await tenant.call(key, 'GET', '/api/v1/feeds')).status).toBe(200);
    const used = (await app.rt.db.query('SELECT last_used_at FROM api_keys WHERE id = $1', [id])).rows[0]!
      .last_used_at as Date;
    expect(Date.now() - used.getTime()).toBeLessThan(10_000);
    // The listing shows prefix and hint, never the key.
    const listed = await tenant.call(tenant.keys.all!.key, 'GET', '/api/v1/admin/keys');
    expect(JSON.stringify(listed.body)).not.toContain(key.slice(21));
    expect(listed.body.keys.find((k: { id: string }) => k.id === id)).toMatchObject({
      prefix: key.slice(0, 20),
      hint: key.slice(-4),
      lastUsedAt: expect.any(String),
    });

    expect((await tenant.call(tenant.keys.all!.key, 'DELETE', `/api/v1/admin/keys/${id}`)).status).toBe(200);
    const refused = await tenant.call(key, 'GET', '/api/v1/feeds');
    expect(refused.status).toBe(401);
    expect(refused.body.errors).toEqual([{ field: 'Authorization', message: 'revoked API key' }]);
    // Scopes: a read key cannot submit (403), and a key cannot be made with an unknown scope (422).
    const made = await tenant.call(tenant.keys.all!.key, 'POST', '/api/v1/admin/keys', {
      name: 'bad',
      scopes: ['root'],
    });
    expect(made.status).toBe(422);
    expect(made.body.errors[0].field).toBe('scopes.0');
  });

  it('reads a key once per KEY_CACHE_MS, checks its secret every time, and forgets it when this process revokes it', async () => {
    const db = app.rt.db;
    const tenantId = (await db.query<{ id: string }>(`SELECT id FROM tenants WHERE slug = 'default'`)).rows[0]!.id;
    const made = await createApiKey(db, { tenantId, name: 'cached', scopes: ['read'] });
    expect(await verifyApiKey(db, made.key)).toMatchObject({ ok: true, tenantId, scopes: ['read'] });
    // Revoked behind this process's back, as another process would: answered from what was read...
    await db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [made.id]);
    expect(await verifyApiKey(db, made.key)).toMatchObject({ ok: true });
    // ...but never for another secret under the same key id.
    const forged = `${made.key.slice(0, 21)}${'A'.repeat(43)}`;
    expect(forged).not.toBe(made.key);
    expect(await verifyApiKey(db, forged)).toEqual({ ok: false, reason: 'unknown' });
    // Once the read is KEY_CACHE_MS old, the key is read again and refused.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + KEY_CACHE_MS });
    try {
      expect(await verifyApiKey(db, made.key)).toEqual({ ok: false, reason: 'revoked' });
    } finally {
      vi.useRealTimers();
    }

    // Revoked through this process: refused at once.
    const other = await createApiKey(db, { tenantId, name: 'revoked here', scopes: ['read'] });
    expect(await verifyApiKey(db, other.key)).toMatchObject({ ok: true });
    expect(await revokeApiKey(db, tenantId, other.id)).toMatchObject({ revokedAt: expect.any(String) });
    expect(await verifyApiKey(db, other.key)).toEqual({ ok: false, reason: 'revoked' });
  });

  // Eight CLI processes one after another: on a loaded machine each start takes seconds, so this test
  // gets a budget for that instead of the default 30 s.
  it('runs tenant create|list, key create|revoke, destination add, secret set and secrets rotate', {
    timeout: 180_000,
  }, async () => {
    const created = JSON.parse((await cli(['tenant', 'create', 'cli-tenant', '--name', 'CLI tenant'])).stdout);
    expect(created).toMatchObject({ slug: 'cli-tenant', operator: false });
    expect((await cli(['tenant', 'list'])).stdout).toMatch(/^cli-tenant\t/m);

    const key = JSON.parse(
      (await cli(['key', 'create', '--tenant', 'cli-tenant', '--scopes', 'read,submit', '--name', 'ci'])).stdout,
    );
    expect(key.key).toMatch(/^bpk_/);
    const asTenant = await fetch(`${app.api.url}/api/v1/feeds`, { headers: { authorization: `Bearer ${key.key}` } });
    expect(asTenant.status).toBe(200);

    const destination = JSON.parse(
      (
        await cli([
          'destination',
          'add',
          '--tenant',
          'cli-tenant',
          '--kind',
          'webhook',
          '--name',
          'hook',
          '--config',
          JSON.stringify({ url: 'https://hooks.example.com/in', secretEnv: 'BP_SECRET_CLI_TENANT__HOOK' }),
          '--default',
        ])
      ).stdout,
    );
    expect(destination).toMatchObject({ kind: 'webhook', name: 'hook', isDefault: true });
    const row = (
      await app.rt.db.query(
        'SELECT d.kind, t.slug FROM destinations d JOIN tenants t ON t.id = d.tenant_id WHERE d.id = $1',
        [destination.id],
      )
    ).rows[0];
    expect(row).toEqual({ kind: 'webhook', slug: 'cli-tenant' });
    const bad = await cli([
      'destination',
      'add',
      '--tenant',
      'cli-tenant',
      '--kind',
      'wordpress',
      '--name',
      'wp',
    ]).catch((err) => err);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/config/);

    const secret = JSON.parse(
      (await cli(['secret', 'set', '--tenant', 'cli-tenant', 'openai'], 'sk-cli-secret-value-9876\n')).stdout,
    );
    expect(secret).toMatchObject({ name: 'openai', hint: '…9876', keyId: 'test' });
    const rotated = JSON.parse((await cli(['secrets', 'rotate'])).stdout);
    expect(rotated.tenantSecrets).toBeGreaterThanOrEqual(1);

    const revoked = JSON.parse((await cli(['key', 'revoke', key.prefix])).stdout);
    expect(revoked.revokedAt).toEqual(expect.any(String));
    // Revoked by another process (the CLI), the key is refused once the API's read of it is older than
    // KEY_CACHE_MS; the API's own revocation (above) takes effect at once.
    await expect
      .poll(
        async () =>
          (await fetch(`${app.api.url}/api/v1/feeds`, { headers: { authorization: `Bearer ${key.key}` } })).status,
        { timeout: KEY_CACHE_MS + 5_000, interval: 250 },
      )
      .toBe(401);
  });

  it('sends security headers, keeps CORS closed except for listed origins, and refuses non-JSON bodies', async () => {
    const res = await fetch(`${app.api.url}/api/v1/feeds`, {
      headers: { authorization: `Bearer ${t.config.DEV_API_KEY}`, origin: 'https://evil.example.com' },
    });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(res.headers.get('content-security-policy')).toBeTruthy();
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${app.api.url}/api/v1/submissions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    const allowed = await fetch(`${app.api.url}/api/v1/submissions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Authorization/);

    const form = await fetch(`${app.api.url}/api/v1/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.config.DEV_API_KEY}`, 'content-type': 'text/plain' },
      body: 'name=x',
    });
    expect(form.status).toBe(415);
    const proto = await fetch(`${app.api.url}/api/v1/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.config.DEV_API_KEY}`, 'content-type': 'application/json' },
      body:
        '{"name": "x", "scopes": ["read"], "__proto__": {"admin": true}, "constructor": ' +
        '{"prototype": {"admin": true}}}',
    });
    expect(proto.status).toBe(422);
    expect(((await proto.json()) as { errors: { field: string }[] }).errors.map((e) => e.field).sort()).toEqual([
      '__proto__',
      'constructor',
    ]);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});
