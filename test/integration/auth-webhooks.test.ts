import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stages } from '../../queues/stages.ts';
import { createTestEnv, startPipeline, type TestEnv } from '../support/harness.ts';
import { createTenantWithKeys } from '../support/tenants.ts';

// Inbound deliveries signed with the standardwebhooks library, as a sender would sign them.
describe('signed webhook deliveries (Standard Webhooks)', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;
  let tenant: Awaited<ReturnType<typeof createTenantWithKeys>>;
  let other: Awaited<ReturnType<typeof createTenantWithKeys>>;
  let secret: string;

  beforeAll(async () => {
    t = await createTestEnv();
    app = await startPipeline(t, { workers: false });
    const api = { url: app.api.url, devKey: t.config.DEV_API_KEY };
    tenant = await createTenantWithKeys(api, 'hooks-a');
    other = await createTenantWithKeys(api, 'hooks-b');
    const rotated = await tenant.call(tenant.keys.all!.key, 'POST', '/api/v1/admin/webhook-secrets', {});
    expect(rotated.status).toBe(201);
    secret = rotated.body.secret;
    expect(secret).toMatch(/^whsec_/);
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  const url = (slug = 'hooks-a') => `${app.api.url}/api/v1/hooks/${slug}/submissions`;
  const body = (title = 'Signed') =>
    JSON.stringify({ source: { type: 'text', title, text: 'A delivery signed by the sender.' } });

  function signed(payload: string, opts: { id?: string; at?: Date; key?: string } = {}) {
    const id = opts.id ?? `msg_${randomUUID()}`;
    const at = opts.at ?? new Date();
    const signature = new Webhook(opts.key ?? secret).sign(id, at, payload);
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
      'content-type': 'application/json',
    };
  }

  async function deliver(payload: string, headers: Record<string, string>, slug?: string) {
    const res = await fetch(url(slug), { method: 'POST', headers, body: payload });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  async function counts() {
    let jobs = 0;
    for (const stage of stages) jobs += await app.rt.queues.queues[stage].count();
    const submissions = (await app.rt.db.query('SELECT count(*)::int AS n FROM submissions')).rows[0]!.n as number;
    return { jobs, submissions };
  }

  it('accepts a valid delivery instead of an API key: one submission, one ingest job', async () => {
    const before = await counts();
    const payload = body('Valid delivery');
    const res = await deliver(payload, signed(payload));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'accepted', postId: expect.any(String) });
    expect(await counts()).toEqual({ jobs: before.jobs + 1, submissions: before.submissions + 1 });
    const post = await app.rt.db.query('SELECT tenant_id FROM posts WHERE id = $1', [res.body.postId]);
    expect(post.rows[0]!.tenant_id).toBe(tenant.id);
  });

  it('refuses a tampered body, a stale timestamp, a replay and a missing signature, and records nothing', async () => {
    const before = await counts();
    const payload = body('Original');
    const tampered = await deliver(payload.replace('Original', 'Tampered'), signed(payload));
    expect(tampered.status).toBe(401);
    expect(tampered.body.errors[0].field).toBe('webhook-signature');

    const stale = await deliver(payload, signed(payload, { at: new Date(Date.now() - 10 * 60 * 1000) }));
    expect(stale.status).toBe(401);
    expect(stale.body.errors[0].field).toBe('webhook-timestamp');

    const headers = signed(payload);
    expect((await deliver(payload, headers)).status).toBe(202);
    const replay = await deliver(payload, headers);
    expect(replay.status).toBe(409);
    expect(replay.body.errors[0].field).toBe('webhook-id');

    const { 'webhook-signature': _dropped, ...unsigned } = signed(payload);
    expect((await deliver(payload, unsigned)).status).toBe(401);
    // Another tenant's URL with this tenant's signature, and an API key instead of a signature.
    expect((await deliver(payload, signed(payload), 'hooks-b')).status).toBe(401);
    expect(
      (await deliver(payload, { authorization: `Bearer ${tenant.keys.all!.key}`, 'content-type': 'application/json' }))
        .status,
    ).toBe(401);
    expect((await deliver(payload, signed(payload), 'no-such-tenant')).status).toBe(401);

    expect(await counts()).toEqual({ jobs: before.jobs + 1, submissions: before.submissions + 1 });
  });

  it('validates a signed body like any submission (422 naming the field), after the signature', async () => {
    const payload = '{"source": {"type": "text", "text": "x"}, "__proto__": {"admin": true}, "extra": true}';
    const res = await deliver(payload, signed(payload));
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(
      expect.arrayContaining(['extra', '__proto__']),
    );
  });

  it('rotates secrets: old and new both verify during the window, only the new one after it', async () => {
    const key = tenant.keys.all!.key;
    const old = secret;
    const rotated = await tenant.call(key, 'POST', '/api/v1/admin/webhook-secrets', { overlapSeconds: 3600 });
    expect(rotated.status).toBe(201);
    const next = rotated.body.secret as string;
    for (const k of [old, next]) {
      const payload = body(`During the window ${k.slice(-6)}`);
      expect((await deliver(payload, signed(payload, { key: k }))).status).toBe(202);
    }
    const listed = await tenant.call(key, 'GET', '/api/v1/admin/webhook-secrets');
    expect(listed.body.secrets).toHaveLength(2);
    expect(JSON.stringify(listed.body)).not.toContain(old.slice(6, 30));

    // A rotation with no overlap retires every older secret at once.
    const last = (await tenant.call(key, 'POST', '/api/v1/admin/webhook-secrets', { overlapSeconds: 0 })).body
      .secret as string;
    for (const k of [old, next]) {
      const payload = body(`After the window ${k.slice(-6)}`);
      expect((await deliver(payload, signed(payload, { key: k }))).status).toBe(401);
    }
    const payload = body('With the newest');
    expect((await deliver(payload, signed(payload, { key: last }))).status).toBe(202);
    // The other tenant has no secret at all: nothing verifies for it.
    expect((await deliver(payload, signed(payload, { key: last }), 'hooks-b')).status).toBe(401);
    expect(other.id).not.toBe(tenant.id);
  });
});
