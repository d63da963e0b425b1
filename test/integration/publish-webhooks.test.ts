import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetBreakers } from '../../src/resilience/breakers.ts';
import { createTestEnv, startPipeline, waitFor, type TestEnv } from '../support/harness.ts';
import { startReceiver } from '../support/webhook-receiver.ts';

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const text = (n: string) =>
  `Webhook post ${n}. Receivers verify each delivery with the Standard Webhooks ` +
  `signature. The id stays the same on every retry.`;

describe('signed webhooks: the webhook destination and tenant notifications', () => {
  let t: TestEnv;
  let app: Awaited<ReturnType<typeof startPipeline>>;

  beforeAll(async () => {
    process.env.BP_SECRET_HOOK = secret;
    // Small breaker window and fast retries so the outage test runs in seconds.
    t = await createTestEnv({
      STAGE_ATTEMPTS: '3',
      PUBLISH_BREAKER_VOLUME: '2',
      PUBLISH_BREAKER_RESET_MS: '300',
      NOTIFICATION_POLL_MS: '100',
      NOTIFICATION_BACKOFF_MS: '50',
    });
    app = await startPipeline(t);
  });
  afterAll(async () => {
    await app?.stop();
    await t?.cleanup();
  });

  async function webhookDestination(name: string, url: string) {
    const res = await app.post('/api/v1/destinations', {
      name,
      kind: 'webhook',
      config: { url, secretEnv: 'BP_SECRET_HOOK', timeoutMs: 2000 },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  async function published(postId: string, timeoutMs = 30_000) {
    return waitFor(
      'published',
      async () => {
        const { body } = await app.get(`/api/v1/posts/${postId}`);
        if (body.status === 'failed') throw new Error(`failed: ${body.failure.reason}`);
        return body.status === 'published' ? body : null;
      },
      timeoutMs,
    );
  }

  it('a receiver answering 500 three times then 200 sees one distinct webhook-id, every delivery verified', async () => {
    resetBreakers();
    const receiver = await startReceiver(secret, (n) => (n < 3 ? 500 : 200));
    try {
      const id = await webhookDestination('flaky receiver', receiver.url);
      const res = await app.post('/api/v1/submissions', {
        source: { type: 'text', text: text('flaky') },
        publish: { destinations: [id] },
      });
      const post = await published(res.body.postId);
      expect(receiver.deliveries.map((d) => d.status)).toEqual([500, 500, 500, 200]);
      expect(receiver.deliveries.every((d) => d.verified)).toBe(true);
      expect(new Set(receiver.deliveries.map((d) => d.id)).size).toBe(1);
      const last = receiver.deliveries[3]!.body;
      expect(last).toMatchObject({
        type: 'post.published',
        data: { id: post.id, title: post.title, slug: post.slug },
      });
      expect(post.publications).toEqual([
        expect.objectContaining({ kind: 'webhook', status: 'published', externalId: receiver.deliveries[0]!.id }),
      ]);
    } finally {
      await receiver.close();
    }
  });

  it('a retry after one destination failed does not republish to the one that succeeded', async () => {
    resetBreakers();
    const steady = await startReceiver(secret);
    const flaky = await startReceiver(secret, (n) => (n < 1 ? 502 : 200));
    try {
      const ids = [await webhookDestination('steady', steady.url), await webhookDestination('flaky once', flaky.url)];
      const res = await app.post('/api/v1/submissions', {
        source: { type: 'text', text: text('two destinations') },
        publish: { destinations: ids },
      });
      await published(res.body.postId);
      // The stage run is closed just after the post turns published.
      const post = await waitFor('the publish run closed', async () => {
        const { body } = await app.get(`/api/v1/posts/${res.body.postId}`);
        return body.stages.some(
          (s: { stage: string; outcome: string }) => s.stage === 'publish' && s.outcome === 'completed',
        )
          ? body
          : null;
      });
      expect(
        post.stages
          .filter((s: { stage: string; outcome: string }) => s.stage === 'publish')
          .map((s: { outcome: string }) => s.outcome),
      ).toEqual(['retrying', 'completed']);
      expect(steady.deliveries).toHaveLength(1);
      expect(flaky.deliveries.map((d) => d.status)).toEqual([502, 200]);
      expect(post.publications.map((p: { status: string }) => p.status)).toEqual(['published', 'published']);
    } finally {
      await steady.close();
      await flaky.close();
    }
  });

  it('while a site is down, publishing waits for it instead of spending its retries', async () => {
    resetBreakers();
    let down = true;
    const receiver = await startReceiver(secret, () => (down ? 503 : 200));
    try {
      const id = await webhookDestination('down for a while', receiver.url);
      const res = await app.post('/api/v1/submissions', {
        source: { type: 'text', text: text('outage') },
        publish: { destinations: [id] },
      });
      // Many more failed calls than STAGE_ATTEMPTS (3): the open breaker turns them into waits.
      await waitFor('six refused deliveries', async () => receiver.deliveries.length >= 6, 30_000);
      const during = (await app.get(`/api/v1/posts/${res.body.postId}`)).body;
      expect(during.status).not.toBe('failed');
      down = false;
      const post = await published(res.body.postId);
      const retrying = post.stages.filter((s: { outcome: string }) => s.outcome === 'retrying').length;
      expect(retrying).toBeLessThan(t.config.STAGE_ATTEMPTS);
      expect(new Set(receiver.deliveries.map((d) => d.id)).size).toBe(1);
      const metrics = await (await fetch(`${app.api.url}/metrics`)).text();
      expect(metrics).toMatch(
        /blog_poster_publish_requests_total\{destination_kind="webhook",outcome="deferred"\} [1-9]/,
      );
    } finally {
      await receiver.close();
    }
  });

  it(
    'the tenant callback receives signed post.awaiting_approval and post.published ' +
      'events, retried with the same id',
    async () => {
      const receiver = await startReceiver(secret, (n) => (n === 0 ? 500 : 200));
      try {
        await app.rt.db.query(`UPDATE tenants SET settings = settings || $1::jsonb WHERE slug = 'default'`, [
          JSON.stringify({ notifications: { url: receiver.url, secretEnv: 'BP_SECRET_HOOK' } }),
        ]);
        const res = await app.post('/api/v1/submissions', {
          source: { type: 'text', text: text('approval') },
          publish: { requireApproval: true },
        });
        const postId = res.body.postId as string;
        await waitFor(
          'the approval event',
          async () => receiver.deliveries.some((d) => d.status === 200 && d.body?.type === 'post.awaiting_approval'),
          30_000,
        );
        expect((await app.post(`/api/v1/posts/${postId}/approve`, {})).status).toBe(202);
        await published(postId);
        await waitFor(
          'the published event',
          async () => receiver.deliveries.some((d) => d.body?.type === 'post.published'),
          30_000,
        );

        expect(receiver.deliveries.every((d) => d.verified)).toBe(true);
        const byType = (type: string) => receiver.deliveries.filter((d) => d.body?.type === type);
        const approval = byType('post.awaiting_approval');
        // The first delivery got a 500; its retry carried the same webhook-id and body.
        expect(approval.map((d) => d.status)).toEqual([500, 200]);
        expect(new Set(approval.map((d) => d.id)).size).toBe(1);
        expect(approval[0]!.body.data).toEqual(approval[1]!.body.data);
        expect(approval[1]!.body.data).toMatchObject({
          post: { id: postId, status: 'awaiting_approval' },
          hold: { reason: expect.any(String) },
        });
        expect(byType('post.published')[0]!.body.data).toMatchObject({
          post: { id: postId, status: 'published' },
          publications: [expect.objectContaining({ kind: 'files' })],
        });
      } finally {
        await app.rt.db.query(`UPDATE tenants SET settings = settings - 'notifications' WHERE slug = 'default'`);
        await receiver.close();
      }
    },
  );

  it('a failed post notifies post.failed', async () => {
    const receiver = await startReceiver(secret);
    try {
      await app.rt.db.query(`UPDATE tenants SET settings = settings || $1::jsonb WHERE slug = 'default'`, [
        JSON.stringify({ notifications: { url: receiver.url, secretEnv: 'BP_SECRET_HOOK' } }),
      ]);
      // A webhook destination whose secret variable is not set fails permanently.
      const id = (
        await app.post('/api/v1/destinations', {
          name: 'no secret',
          kind: 'webhook',
          config: { url: receiver.url, secretEnv: 'BP_SECRET_NOT_SET' },
        })
      ).body.id;
      const res = await app.post('/api/v1/submissions', {
        source: { type: 'text', text: text('failing') },
        publish: { destinations: [id] },
      });
      await waitFor(
        'the failed event',
        async () => receiver.deliveries.some((d) => d.body?.type === 'post.failed'),
        30_000,
      );
      const event = receiver.deliveries.find((d) => d.body?.type === 'post.failed')!;
      expect(event.verified).toBe(true);
      expect(event.body.data).toMatchObject({
        post: { id: res.body.postId },
        failure: { stage: 'publish', reason: expect.stringMatching(/BP_SECRET_NOT_SET/) },
      });
    } finally {
      await app.rt.db.query(`UPDATE tenants SET settings = settings - 'notifications' WHERE slug = 'default'`);
      await receiver.close();
    }
  });
});
