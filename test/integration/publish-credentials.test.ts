import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { createTenantWithKeys } from '../support/tenants.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

// Destination credentials stored encrypted as tenant secrets and named by the destination.
describe('destination credentials from the tenant secret store', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  const secret = `whsec_${randomBytes(24).toString('base64')}`;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t);
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  const put = async (path: string, body: unknown) => {
    const res = await fetch(`${app.api.url}${path}`, {
      method: 'PUT',
      headers: app.headers,
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('signs webhook deliveries with a stored secret that the API never shows again', async () => {
    const stored = await put('/api/v1/admin/secrets/hook-signing', { value: secret });
    expect(stored.status).toBeLessThan(300);
    expect(JSON.stringify(stored.body)).not.toContain(secret);

    const receiver = await startReceiver(secret);
    try {
      const dest = await app.post('/api/v1/destinations', {
        name: 'stored-secret hook',
        kind: 'webhook',
        config: { url: receiver.url, secretName: 'hook-signing' },
      });
      expect(dest.status).toBe(201);
      expect(JSON.stringify(dest.body)).not.toContain(secret);
      const res = await app.post('/api/v1/submissions', {
        source: { type: 'text', text: 'Signed with a stored secret. The receiver verifies the signature.' },
        publish: { destinations: [dest.body.id] },
      });
      await waitFor(
        'published',
        async () => (await app.get(`/api/v1/posts/${res.body.postId}`)).body.status === 'published',
      );
      expect(receiver.deliveries).toHaveLength(1);
      expect(receiver.deliveries[0]!.verified).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it('fails the post at once, naming the secret, when the stored secret does not exist', async () => {
    const receiver = await startReceiver(secret);
    try {
      const dest = await app.post('/api/v1/destinations', {
        name: 'missing-secret hook',
        kind: 'webhook',
        config: { url: receiver.url, secretName: 'never-stored' },
      });
      const res = await app.post('/api/v1/submissions', {
        source: { type: 'text', text: 'No secret to sign with. The post fails and says why.' },
        publish: { destinations: [dest.body.id] },
      });
      const post = await waitFor('failed', async () => {
        const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
        return body.status === 'failed' ? body : null;
      });
      expect(post.failure.reason).toMatch(/never-stored/);
      expect(post.stages.filter((s: { stage: string }) => s.stage === 'publish')).toHaveLength(1);
      expect(receiver.deliveries).toHaveLength(0);
    } finally {
      await receiver.close();
    }
  });

  it('refuses a destination that names both or neither way of finding its credential', async () => {
    const both = await app.post('/api/v1/destinations', {
      name: 'both',
      kind: 'wordpress',
      config: { url: 'https://wp.example', username: 'u', passwordEnv: 'BP_SECRET_WP', passwordSecret: 'wp' },
    });
    expect(both.status).toBe(422);
    expect(both.body.errors.map((e: { field: string }) => e.field)).toContain('config.passwordSecret');
    const neither = await app.post('/api/v1/destinations', {
      name: 'neither',
      kind: 'webhook',
      config: { url: 'https://hooks.example/x' },
    });
    expect(neither.status).toBe(422);
    expect(neither.body.errors.map((e: { field: string }) => e.field)).toContain('config.secretName');
  });

  describe('environment secrets belong to the deployment', () => {
    // The deployment's own secret, and one bound to tenant "env-acme" by its name.
    const deploymentSecret = `whsec_${randomBytes(24).toString('base64')}`;
    const acmeSecret = `whsec_${randomBytes(24).toString('base64')}`;
    let acme: Awaited<ReturnType<typeof createTenantWithKeys>>;
    let key: string;
    beforeAll(async () => {
      process.env.BP_SECRET_DEPLOYMENT_HOOK = deploymentSecret;
      process.env.BP_SECRET_ENV_ACME__HOOK = acmeSecret;
      acme = await createTenantWithKeys({ url: app.api.url, devKey: t.config.DEV_API_KEY }, 'env-acme');
      key = acme.keys.all!.key;
    });
    afterAll(() => {
      delete process.env.BP_SECRET_DEPLOYMENT_HOOK;
      delete process.env.BP_SECRET_ENV_ACME__HOOK;
    });

    it('refuses a tenant naming a variable not bound to it, with 403 naming the field, everywhere it can', async () => {
      const wordpress = await acme.call(key, 'POST', '/api/v1/destinations', {
        name: 'steal',
        kind: 'wordpress',
        config: { url: 'https://attacker.example', username: 'u', passwordEnv: 'BP_SECRET_DEPLOYMENT_HOOK' },
      });
      expect(wordpress.status).toBe(403);
      expect(wordpress.body.errors).toEqual([
        { field: 'config.passwordEnv', message: expect.stringMatching(/BP_SECRET_ENV_ACME__<NAME>/) },
      ]);
      const webhook = await acme.call(key, 'POST', '/api/v1/destinations', {
        name: 'steal',
        kind: 'webhook',
        config: { url: 'https://attacker.example/in', secretEnv: 'BP_SECRET_DEPLOYMENT_HOOK' },
      });
      expect(webhook.status).toBe(403);
      expect(webhook.body.errors[0].field).toBe('config.secretEnv');
      // Another tenant's prefix is not this tenant's: "env-acme-2" may not name BP_SECRET_ENV_ACME__*.
      const other = await createTenantWithKeys({ url: app.api.url, devKey: t.config.DEV_API_KEY }, 'env-acme-2');
      const lookalike = await other.call(other.keys.all!.key, 'POST', '/api/v1/destinations', {
        name: 'lookalike',
        kind: 'webhook',
        config: { url: 'https://attacker.example/in', secretEnv: 'BP_SECRET_ENV_ACME__HOOK' },
      });
      expect(lookalike.status).toBe(403);
      // A PATCH and the notification callback are held to the same rule.
      const own = await acme.call(key, 'POST', '/api/v1/destinations', {
        name: 'own',
        kind: 'webhook',
        config: { url: 'https://hooks.example/in', secretEnv: 'BP_SECRET_ENV_ACME__HOOK' },
      });
      expect(own.status).toBe(201);
      const patched = await acme.call(key, 'PATCH', `/api/v1/destinations/${own.body.id}`, {
        config: { url: 'https://attacker.example/in', secretEnv: 'BP_SECRET_DEPLOYMENT_HOOK' },
      });
      expect(patched.status).toBe(403);
      expect(patched.body.errors[0].field).toBe('config.secretEnv');
      const settings = await acme.call(key, 'PATCH', '/api/v1/admin/tenant', {
        settings: { notifications: { url: 'https://attacker.example/cb', secretEnv: 'BP_SECRET_DEPLOYMENT_HOOK' } },
      });
      expect(settings.status).toBe(403);
      expect(settings.body.errors[0].field).toBe('settings.notifications.secretEnv');
      // An operator creating a tenant cannot hand it another's variable either.
      const created = await app.post('/api/v1/admin/tenants', {
        slug: 'env-new',
        name: 'New',
        settings: { notifications: { url: 'https://x.example/cb', secretEnv: 'BP_SECRET_DEPLOYMENT_HOOK' } },
      });
      expect(created.status).toBe(403);
      // The operator tenant itself may name any deployment variable.
      const operator = await app.post('/api/v1/destinations', {
        name: 'operator hook',
        kind: 'webhook',
        config: { url: 'https://hooks.example/in', secretEnv: 'BP_SECRET_DEPLOYMENT_HOOK' },
      });
      expect(operator.status).toBe(201);
    });

    it('publishes with a variable bound to the tenant', async () => {
      const receiver = await startReceiver(acmeSecret);
      try {
        const dest = await acme.call(key, 'POST', '/api/v1/destinations', {
          name: 'bound hook',
          kind: 'webhook',
          config: { url: receiver.url, secretEnv: 'BP_SECRET_ENV_ACME__HOOK' },
        });
        expect(dest.status).toBe(201);
        const res = await acme.call(key, 'POST', '/api/v1/submissions', {
          source: { type: 'text', text: 'Signed with the tenant’s own variable. The receiver verifies it.' },
          publish: { destinations: [dest.body.id] },
        });
        await waitFor(
          'published',
          async () => (await acme.call(key, 'GET', `/api/v1/posts/${res.body.postId}`)).body.status === 'published',
        );
        expect(receiver.deliveries.map((d) => d.verified)).toEqual([true]);
      } finally {
        await receiver.close();
      }
    });

    it('refuses again at publish, for a destination written before the rule: nothing is sent', async () => {
      const receiver = await startReceiver(deploymentSecret);
      try {
        // As a row written by an earlier version would be: the API no longer lets a tenant write it.
        const { rows } = await app.rt.db.query<{ id: string }>(
          `INSERT INTO destinations (tenant_id, name, kind, config) VALUES ($1, 'old ` +
            `hook', 'webhook', $2) RETURNING id`,
          [acme.id, JSON.stringify({ url: receiver.url, secretEnv: 'BP_SECRET_DEPLOYMENT_HOOK', timeoutMs: 5000 })],
        );
        const res = await acme.call(key, 'POST', '/api/v1/submissions', {
          source: { type: 'text', text: 'Would carry the deployment’s secret to a URL the tenant controls.' },
          publish: { destinations: [rows[0]!.id] },
        });
        const post = await waitFor('failed', async () => {
          const { body } = await acme.call(key, 'GET', `/api/v1/posts/${res.body.postId}`);
          return body.status === 'failed' ? body : null;
        });
        expect(post.failure.reason).toMatch(/BP_SECRET_DEPLOYMENT_HOOK is a secret of the deployment/);
        expect(receiver.deliveries).toHaveLength(0);
      } finally {
        await receiver.close();
      }
    });
  });
});
