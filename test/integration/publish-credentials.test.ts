import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

// Destination credentials stored encrypted as tenant secrets (issue 8) and named by the destination (issue 6).
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
});
